package persistence

import (
	"context"
	"fmt"
)

// AppendBatch appends consecutive entries of one process in one durable batch: one fsync for the
// whole batch, which is how a busy process gets more than one append per fsync (Append is one
// entry per fsync per process). Every entry is checked as Append checks it, against the log and
// against the entries before it in the batch; if any is refused, nothing is written and the error
// names it.
func (s *Store) AppendBatch(ctx context.Context, pid ID, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	seenMsg := make(map[ID]bool, len(entries))
	seenAsg := make(map[ID]bool, len(entries))
	for i := range entries {
		e := &entries[i]
		if e.Process != pid {
			return newErr(ErrInvalid, fmt.Sprintf("batch for process %s holds an entry of process %s", b64(pid), b64(e.Process)))
		}
		if err := s.checkEntry(e); err != nil {
			return err
		}
		if seenAsg[e.AssignmentID] {
			return newErr(ErrAssignmentExists, fmt.Sprintf("assignment %s twice in one batch for process %s", b64(e.AssignmentID), b64(pid)))
		}
		seenAsg[e.AssignmentID] = true
		if e.MessageID != (ID{}) {
			if seenMsg[e.MessageID] {
				return newErr(ErrMessageExists, fmt.Sprintf("message %s twice in one batch for process %s", b64(e.MessageID), b64(pid)))
			}
			seenMsg[e.MessageID] = true
		}
	}
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		// Validate against a copy of the head advanced entry by entry, so each entry is checked as the
		// log will be when it lands.
		// Copy only the validation fields: refs belongs to the shard mutex, not to the lock held here.
		sim := head{loaded: true, exists: hd.exists, epoch: hd.epoch, count: hd.count, lastHC: hd.lastHC, lastAsgID: hd.lastAsgID}
		b := s.db.NewBatch()
		for i := range entries {
			e := &entries[i]
			if err := s.validate(&sim, e); err != nil {
				b.Close()
				return true, err
			}
			s.batchEntry(b, pid, e)
			sim.count, sim.lastHC, sim.lastAsgID = e.Nonce+1, e.HashChain, e.AssignmentID
		}
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: append %d entries to process %s: %w", len(entries), b64(pid), err)
		}
		hd.count, hd.lastHC, hd.lastAsgID = sim.count, sim.lastHC, sim.lastAsgID
		s.flushDirty.add(pid) // the Arweave flush looks here first (flush.go)
		return true, nil
	})
}
