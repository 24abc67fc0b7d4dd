package persistence

import (
	"encoding/binary"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Control items (monitor, unmonitor: requests that change a process's state other than by a
// message) are used once. Their ids are kept here, durable, so that a replay is refused after a
// restart too.
//
//	'K' id -> time the item was used or claims (ms, 8 bytes)
const prefixControl = 'K'

// controlMu makes the check-and-record of UseControlItem atomic.
var controlMu sync.Mutex

// UseControlItem records id as used at ms and reports whether it was fresh (never recorded).
// Entries older than forgetBefore are dropped first (their items are refused as stale anyway),
// then the oldest beyond keep, so that the set stays bounded.
func (s *Store) UseControlItem(id ID, ms, forgetBefore int64, keep int) (fresh bool, err error) {
	done, err := s.enter()
	if err != nil {
		return false, err
	}
	defer done()
	controlMu.Lock()
	defer controlMu.Unlock()
	key := append([]byte{prefixControl}, id[:]...)
	if ok, err := s.has(key); err != nil || ok {
		return false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	type ent struct {
		key []byte
		ms  int64
	}
	var live []ent
	lo := []byte{prefixControl}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return false, err
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := append([]byte(nil), it.Key()...), it.Value()
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < forgetBefore {
			_ = b.Delete(k, nil)
			continue
		}
		live = append(live, ent{k, int64(binary.BigEndian.Uint64(v))})
	}
	if err := it.Close(); err != nil {
		return false, err
	}
	for over := len(live) + 1 - keep; over > 0; over-- {
		oldest := 0
		for i := range live {
			if live[i].ms < live[oldest].ms {
				oldest = i
			}
		}
		_ = b.Delete(live[oldest].key, nil)
		live = append(live[:oldest], live[oldest+1:]...)
	}
	_ = b.Set(key, binary.BigEndian.AppendUint64(nil, uint64(ms)), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return false, err
	}
	return true, nil
}
