package persistence

import (
	"context"
	"encoding/binary"
	"sync"
)

// head is the in-memory summary of one process that validation needs: whether it is registered, its
// epoch, and its last entry's nonce, hash chain and assignment id. Holding head.lock is what makes
// "validate, then write" atomic for one process: every mutation of a process (PutProcess, Append,
// SetEpoch) takes it and keeps it until its batch is durable.
type head struct {
	lock chan struct{} // a mutex that a waiting caller can abandon when its ctx ends
	refs int           // guarded by the shard mutex; a head with refs > 0 is never evicted

	// Guarded by lock.
	loaded    bool
	exists    bool
	epoch     uint64
	count     uint64 // number of entries = next nonce
	lastHC    ID     // hash chain of entry count-1
	lastAsgID ID     // assignment id of entry count-1
}

const headShards = 64

type headShard struct {
	mu sync.Mutex
	m  map[ID]*head
}

// heads is a sharded map of process heads, bounded by limit (evicting idle heads).
type heads struct {
	shards [headShards]headShard
	limit  int // per shard
}

func newHeads(total int) *heads {
	h := &heads{limit: max(1, total/headShards)}
	for i := range h.shards {
		h.shards[i].m = make(map[ID]*head)
	}
	return h
}

func (h *heads) shard(pid ID) *headShard {
	return &h.shards[binary.LittleEndian.Uint64(pid[:8])%headShards]
}

// acquire returns pid's head with its lock held, or ctx's error if ctx ends while waiting.
func (h *heads) acquire(ctx context.Context, pid ID) (*head, error) {
	sh := h.shard(pid)
	sh.mu.Lock()
	hd := sh.m[pid]
	if hd == nil {
		hd = &head{lock: make(chan struct{}, 1)}
		sh.m[pid] = hd
	}
	hd.refs++
	sh.mu.Unlock()
	select {
	case hd.lock <- struct{}{}:
		return hd, nil
	case <-ctx.Done():
		h.unref(pid, hd)
		return nil, ctx.Err()
	}
}

// release unlocks hd. If fresh is false the head's cached state is no longer trusted (a write failed
// half-way, for example) and is reloaded from Pebble by the next caller.
func (h *heads) release(pid ID, hd *head, fresh bool) {
	if !fresh {
		hd.loaded = false
	}
	<-hd.lock
	h.unref(pid, hd)
}

func (h *heads) unref(pid ID, hd *head) {
	sh := h.shard(pid)
	sh.mu.Lock()
	hd.refs--
	if len(sh.m) > h.limit {
		// Evict idle heads; map iteration order makes this a cheap random eviction.
		for k, v := range sh.m {
			if len(sh.m) <= h.limit {
				break
			}
			if v.refs == 0 {
				delete(sh.m, k)
			}
		}
	}
	sh.mu.Unlock()
}
