package persistence

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// committer is the CommitSerial group-commit path: one goroutine takes every pending batch, merges
// them into one and commits that with a single fsync, then wakes all their callers.
type committer struct {
	db         *pebble.DB
	wo         *pebble.WriteOptions
	maxEntries int
	maxBytes   int

	reqs chan commitReq
	wg   sync.WaitGroup
}

type commitReq struct {
	b    *pebble.Batch
	done chan error
}

func newCommitter(db *pebble.DB, wo *pebble.WriteOptions, maxEntries, maxBytes int) *committer {
	c := &committer{db: db, wo: wo, maxEntries: maxEntries, maxBytes: maxBytes, reqs: make(chan commitReq, maxEntries)}
	c.wg.Add(1)
	go c.run()
	return c
}

// commit hands b to the committer and waits until it is durable. b is closed.
func (c *committer) commit(b *pebble.Batch) error {
	done := make(chan error, 1)
	c.reqs <- commitReq{b: b, done: done}
	return <-done
}

// stop is called by Store.Close after every operation has finished (closeMu held), so no new
// request can arrive.
func (c *committer) stop() {
	close(c.reqs)
	c.wg.Wait()
}

func (c *committer) run() {
	defer c.wg.Done()
	group := make([]commitReq, 0, c.maxEntries)
	for first := range c.reqs {
		group = append(group[:0], first)
		size := len(first.b.Repr())
	gather: // take whatever else is already waiting, without waiting for more
		for len(group) < c.maxEntries && size < c.maxBytes {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
				size += len(r.b.Repr())
			default:
				break gather
			}
		}
		err := c.commitGroup(group)
		for _, r := range group {
			r.b.Close()
			r.done <- err
		}
	}
}

func (c *committer) commitGroup(group []commitReq) error {
	if len(group) == 1 {
		return group[0].b.Commit(c.wo)
	}
	merged := c.db.NewBatch()
	defer merged.Close()
	for _, r := range group {
		if err := merged.Apply(r.b, nil); err != nil {
			return err
		}
	}
	return merged.Commit(c.wo)
}
