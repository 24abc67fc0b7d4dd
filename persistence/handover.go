package persistence

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// What a hand-over of a process between cluster members (cluster/replication) stores besides the
// log: the sender's latest checkpoint and the results before it, so that the new owner evaluates
// only the tail. The receiver checks the checkpoint's SHA-256 before storing it; persistence only
// stores what it is given.

// FirstPendingPush returns the nonce of the evaluation that produced pid's oldest undelivered push;
// ok is false when every push of pid was delivered.
func (s *Store) FirstPendingPush(pid ID) (nonce uint64, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, false, err
	}
	defer done()
	p := append([]byte{prefixOutbox}, pid[:]...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.First() {
		return 0, false, it.Error()
	}
	k := it.Key()
	if len(k) != 1+idLen+8+4 {
		return 0, false, newErr(ErrCorrupt, "outbox key")
	}
	return binary.BigEndian.Uint64(k[1+idLen:]), true, nil
}

// LatestCheckpointNonce is the nonce of pid's newest checkpoint at or before atMost, without reading
// the memory; ok is false when there is none.
func (s *Store) LatestCheckpointNonce(pid ID, atMost uint64) (nonce uint64, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, false, err
	}
	defer done()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: checkpointPrefix(pid), UpperBound: upperAfter(checkpointKey(pid, atMost))})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, false, it.Error()
	}
	k := it.Key()
	return binary.BigEndian.Uint64(k[len(k)-8:]), true, nil
}

// PutHandedCheckpoint stores a checkpoint received in a hand-over. Unlike PutCheckpoint it is not
// queued for the Arweave flush: the node that took it queued it already.
func (s *Store) PutHandedCheckpoint(cp Checkpoint) (compressed int, err error) {
	return s.putCheckpoint(cp, false)
}

// InstallResults stores results received in a hand-over for entries from, from+1, ... of pid's log
// and advances the evaluation cursor past them, in one batch. Like CommitEvaluation it refuses
// results that do not continue the cursor (ErrNonceGap), and entries the local log lacks. The batch
// is not fsync'd: results can always be recomputed from the log.
func (s *Store) InstallResults(ctx context.Context, pid ID, from uint64, results [][]byte) error {
	if len(results) == 0 {
		return nil
	}
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	next, err := s.cursor(pid)
	if err != nil {
		return err
	}
	if next != from {
		return newErr(ErrNonceGap, fmt.Sprintf("results from entry %d of process %s: next to evaluate is %d", from, b64(pid), next))
	}
	last := from + uint64(len(results)) - 1
	if _, ok, err := s.get(logKey(pid, last)); err != nil {
		return err
	} else if !ok {
		return newErr(ErrNotFound, fmt.Sprintf("results up to entry %d of process %s: the log does not hold it", last, b64(pid)))
	}
	b := s.db.NewBatch()
	defer b.Close()
	for i, r := range results {
		_ = b.Set(resultKey(pid, from+uint64(i)), r, nil)
	}
	_ = b.Set(cursorKey(pid), binary.BigEndian.AppendUint64(nil, last+1), nil)
	return b.Commit(pebble.NoSync)
}
