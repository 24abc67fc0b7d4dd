package persistence

import "github.com/cockroachdb/pebble/v2"

// ProcessIDs calls fn with the id of every registered process, in key order, until fn returns
// false. The cluster's status and hand-off walk it to count and find the processes a node holds.
func (s *Store) ProcessIDs(fn func(ID) bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	p := []byte{prefixProcess}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p), KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var id ID
		if k := it.Key(); len(k) == 1+len(id) {
			copy(id[:], k[1:])
			if !fn(id) {
				break
			}
		}
	}
	return it.Error()
}
