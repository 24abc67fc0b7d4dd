package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

func isNotFound(err error) bool { return errors.Is(err, pebble.ErrNotFound) }

// nonceOfLogKey extracts the nonce from a 'l' pid nonce key.
func nonceOfLogKey(k []byte) (uint64, bool) {
	if len(k) != 1+idLen+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1+idLen:]), true
}

// lastEntry reads the highest-nonce entry of pid's log.
func (s *Store) lastEntry(pid ID) (Entry, bool, error) {
	p := logPrefix(pid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return Entry{}, false, err
	}
	defer it.Close()
	if !it.Last() {
		return Entry{}, false, it.Error()
	}
	nonce, ok := nonceOfLogKey(it.Key())
	if !ok {
		return Entry{}, false, newErr(ErrCorrupt, fmt.Sprintf("log key %x of process %s", it.Key(), b64(pid)))
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return Entry{}, false, err
	}
	e, err := decodeEntry(pid, nonce, v)
	return e, err == nil, err
}

// Head returns the last entry of pid's log; ok is false when the log is empty. The scheduler rebuilds
// its next nonce, hash chain and epoch from it after a restart.
func (s *Store) Head(pid ID) (e Entry, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return Entry{}, false, err
	}
	defer done()
	return s.lastEntry(pid)
}

// Entry returns the entry at nonce in pid's log, or ErrNotFound.
func (s *Store) Entry(pid ID, nonce uint64) (Entry, error) {
	done, err := s.enter()
	if err != nil {
		return Entry{}, err
	}
	defer done()
	v, ok, err := s.get(logKey(pid, nonce))
	if err != nil {
		return Entry{}, err
	}
	if !ok {
		return Entry{}, newErr(ErrNotFound, fmt.Sprintf("entry %d of process %s", nonce, b64(pid)))
	}
	return decodeEntry(pid, nonce, v)
}

// ByMessageID returns every place msgID is scheduled, ordered by process id (one message may be
// assigned to several processes). No match is ErrNotFound.
func (s *Store) ByMessageID(msgID ID) ([]Location, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	p := msgPrefix(msgID)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var locs []Location
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 1+2*idLen || len(v) != 8 {
			return nil, newErr(ErrCorrupt, fmt.Sprintf("message index entry %x", k))
		}
		var l Location
		copy(l.Process[:], k[1+idLen:])
		l.Nonce = binary.BigEndian.Uint64(v)
		locs = append(locs, l)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if len(locs) == 0 {
		return nil, newErr(ErrNotFound, "message "+b64(msgID))
	}
	return locs, nil
}

// ByAssignmentID returns where an assignment sits, or ErrNotFound.
func (s *Store) ByAssignmentID(id ID) (Location, error) {
	done, err := s.enter()
	if err != nil {
		return Location{}, err
	}
	defer done()
	v, ok, err := s.get(assignmentKey(id))
	if err != nil {
		return Location{}, err
	}
	if !ok {
		return Location{}, newErr(ErrNotFound, "assignment "+b64(id))
	}
	if len(v) != idLen+8 {
		return Location{}, newErr(ErrCorrupt, "assignment index entry "+b64(id))
	}
	var l Location
	copy(l.Process[:], v)
	l.Nonce = binary.BigEndian.Uint64(v[idLen:])
	return l, nil
}

// HasMessage reports whether msgID is already in pid's log. Almost every answer for a new message
// comes from the in-memory filter, without touching Pebble.
func (s *Store) HasMessage(pid, msgID ID) (bool, error) {
	done, err := s.enter()
	if err != nil {
		return false, err
	}
	defer done()
	return s.mayHave(msgKey(msgID, pid))
}

// CountProcesses counts the registered processes (a scan of the registry's keys).
func (s *Store) CountProcesses() (int, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	p := []byte{prefixProcess}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p), KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Error()
}
