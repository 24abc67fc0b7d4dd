package persistence

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The cron index: one record per process that declares crons, so that a node can rebuild its
// ticker at start without reading every process.
//
//	'k' pid -> CronState
//
// It is a hint, written without fsync: the log is the truth. Through says how much of the log the
// record reflects; a reader scans the log after it for ticks the record missed (a crash between a
// tick's durable append and the record's write loses at most that).
const prefixCron = 'k'

func cronKey(pid ID) []byte { return append([]byte{prefixCron}, pid[:]...) }

// CronState is what the ticker remembers of one process.
type CronState struct {
	Process ID
	// Through is the number of log entries Last reflects (the next nonce to scan from).
	Through uint64
	// Last[i] is the sequence of the last tick of the process's i-th cron that is in the log, or
	// that the catch-up policy skipped.
	Last []uint64
	// Paused: ticking stopped by DELETE /monitor until POST /monitor.
	Paused bool
}

func encodeCronState(c *CronState) []byte {
	b := []byte{1}
	flags := byte(0)
	if c.Paused {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, c.Through)
	b = binary.AppendUvarint(b, uint64(len(c.Last)))
	for _, v := range c.Last {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func decodeCronState(pid ID, v []byte) (CronState, error) {
	c := CronState{Process: pid}
	r := reader{b: v}
	if r.byte("cron version") != 1 {
		return c, newErr(ErrCorrupt, "cron record version of process "+b64(pid))
	}
	c.Paused = r.byte("cron flags")&1 != 0
	c.Through = r.uvarint("cron through")
	n := r.uvarint("cron count")
	if n > 1<<16 {
		return c, newErr(ErrCorrupt, "cron record of process "+b64(pid))
	}
	c.Last = make([]uint64, n)
	for i := range c.Last {
		c.Last[i] = r.uvarint("cron last")
	}
	if r.err != nil {
		return c, newErr(ErrCorrupt, fmt.Sprintf("cron record of process %s: %v", b64(pid), r.err))
	}
	return c, nil
}

// PutCronState records c. With sync false it does not wait for an fsync (the tick cursor is a
// hint, see above); registration and monitor changes pass true.
func (s *Store) PutCronState(c CronState, sync bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	wo := pebble.NoSync
	if sync {
		wo = s.wo
	}
	return s.db.Set(cronKey(c.Process), encodeCronState(&c), wo)
}

// GetCronState returns pid's record; ok is false when it has none.
func (s *Store) GetCronState(pid ID) (c CronState, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return c, false, err
	}
	defer done()
	v, ok, err := s.get(cronKey(pid))
	if err != nil || !ok {
		return c, ok, err
	}
	c, err = decodeCronState(pid, v)
	return c, err == nil, err
}

// CronStates calls fn for every record, in process id order, until fn returns false.
func (s *Store) CronStates(fn func(CronState) bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	p := []byte{prefixCron}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p), KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var pid ID
		copy(pid[:], it.Key()[1:])
		c, err := decodeCronState(pid, it.Value())
		if err != nil {
			return err
		}
		if !fn(c) {
			break
		}
	}
	return it.Error()
}

// TagCronInterval is the process tag that declares a cron (package cron parses it; the store only
// looks for its name).
const TagCronInterval = "Cron-Interval"

// batchCronMarker adds an empty cron index record for p to b when p declares crons, and says so.
//
// Every store that registers a process writes it: the owner at spawn, and a backup (or a new
// owner) receiving the record by replication or hand-over, or recovery. So the index of any
// member lists the cron processes it holds, not only the ones it spawned, and a member that
// becomes a process's owner finds its crons there without reading every process record. An
// empty record (Through 0, no Last) makes the reader take the tick cursor from the log alone.
func batchCronMarker(b *pebble.Batch, p *Process) bool {
	for _, t := range p.Tags {
		if t.Name == TagCronInterval {
			_ = b.Set(cronKey(p.ID), encodeCronState(&CronState{Process: p.ID}), nil)
			return true
		}
	}
	return false
}

// OnCronProcess makes the store call fn with the id of every process registered from now on that
// declares crons, once its record is durable. fn runs under the process's lock: it must not block
// or call back into the store for that process (hand the id to a goroutine).
func (s *Store) OnCronProcess(fn func(ID)) { s.cronHook.Store(&fn) }

func (s *Store) cronRegistered(pid ID) {
	if fn := s.cronHook.Load(); fn != nil {
		(*fn)(pid)
	}
}
