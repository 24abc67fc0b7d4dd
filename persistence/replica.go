package persistence

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Replication writes (cluster/replication). A backup appends the entries its owner made durable;
// those entries carry the epochs they were scheduled with, which may be older than the epoch of the
// owner sending them (entries copied during catch-up were written by earlier owners), so the fence
// here is the sender's ownership epoch, not each entry's.

// AppendReplicated appends entries that the owner of pid, at ownership epoch epoch, made durable.
// In one step under the process's lock, and in one Pebble batch with the entries:
//   - epoch < the process's epoch: ErrStaleEpoch (a newer owner fenced this store; nothing written);
//   - epoch > the process's epoch: the epoch is raised to it in the same batch as the entries;
//   - every entry must have Epoch <= epoch and pass every check Append makes (nonce continuity,
//     hash chain, duplicates, sizes): ErrNonceGap, ErrHashChain, ... as for Append.
//
// An empty entries slice only raises the epoch (if higher).
func (s *Store) AppendReplicated(ctx context.Context, pid ID, epoch uint64, entries []Entry) error {
	for i := range entries {
		e := &entries[i]
		if e.Process != pid {
			return newErr(ErrInvalid, fmt.Sprintf("replicated batch for process %s holds an entry of process %s", b64(pid), b64(e.Process)))
		}
		if err := s.checkEntry(e); err != nil {
			return err
		}
		if e.Epoch > epoch {
			return newErr(ErrEpochAhead, fmt.Sprintf("replicated entry %d of process %s has epoch %d above its owner's epoch %d", e.Nonce, b64(pid), e.Epoch, epoch))
		}
	}
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		if !hd.exists {
			return true, newErr(ErrUnknownProcess, "replicated append to process "+b64(pid))
		}
		if epoch < hd.epoch {
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("replicated append to process %s from an owner at epoch %d: current epoch is %d", b64(pid), epoch, hd.epoch))
		}
		sim := head{loaded: true, exists: true, count: hd.count, lastHC: hd.lastHC, lastAsgID: hd.lastAsgID}
		b := s.db.NewBatch()
		seenMsg := make(map[ID]bool, len(entries))
		seenAsg := make(map[ID]bool, len(entries))
		for i := range entries {
			e := &entries[i]
			if seenAsg[e.AssignmentID] || (e.MessageID != (ID{}) && seenMsg[e.MessageID]) {
				b.Close()
				return true, newErr(ErrMessageExists, fmt.Sprintf("entry %d of process %s repeats an id of the same batch", e.Nonce, b64(pid)))
			}
			seenAsg[e.AssignmentID], seenMsg[e.MessageID] = true, true
			sim.epoch = e.Epoch // the entry's own epoch was checked against the fence above
			if err := s.validate(&sim, e); err != nil {
				b.Close()
				return true, err
			}
			s.batchEntry(b, pid, e)
			sim.count, sim.lastHC, sim.lastAsgID = e.Nonce+1, e.HashChain, e.AssignmentID
		}
		if epoch > hd.epoch {
			_ = b.Set(epochKey(pid), binary.BigEndian.AppendUint64(nil, epoch), nil)
		}
		if b.Empty() {
			b.Close()
			return true, nil
		}
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: replicated append of %d entries to process %s: %w", len(entries), b64(pid), err)
		}
		hd.epoch = max(hd.epoch, epoch)
		hd.count, hd.lastHC, hd.lastAsgID = sim.count, sim.lastHC, sim.lastAsgID
		return true, nil
	})
}

// batchEntry adds e's log, timestamp and index keys to b (and its dedup keys to the filter).
func (s *Store) batchEntry(b *pebble.Batch, pid ID, e *Entry) {
	_ = b.Set(logKey(pid, e.Nonce), encodeEntry(e), nil)
	_ = b.Set(tsKey(pid, e.Timestamp, e.Nonce), nil, nil)
	ak := assignmentKey(e.AssignmentID)
	_ = b.Set(ak, binary.BigEndian.AppendUint64(append([]byte(nil), pid[:]...), e.Nonce), nil)
	s.filterAdd(ak) // the dedup filter must hold every stored key (filter.go)
	if e.MessageID != (ID{}) {
		mk := msgKey(e.MessageID, pid)
		_ = b.Set(mk, binary.BigEndian.AppendUint64(nil, e.Nonce), nil)
		s.filterAdd(mk)
	}
}

// HeadState is what a replica holds of a process: its epoch, its log length and the hash chain of
// its last entry. Known is false when the process is not registered here.
type HeadState struct {
	Known   bool
	Epoch   uint64
	Count   uint64
	LastHC  ID
	LastAsg ID // assignment id of the last entry: with LastHC it pins the whole log (its next link)
}

// RaiseEpoch fences pid for a new owner: it raises the epoch to max(current+1, min) durably, under
// the same lock as appends (no append with an older epoch lands after it returns), and returns
// what this store holds.
//
// A process this store does not hold is fenced too: the epoch is recorded as its floor, the result
// has Known false, and a later PutProcess below the floor is refused with ErrStaleEpoch. Without it
// two nodes that each believe they own a brand-new process (views that differ during a membership
// change) could both register it at the same epoch and sign two different logs for it. Every
// fence returns an epoch no other fence of this store returned, whether the process is known or
// not.
func (s *Store) RaiseEpoch(ctx context.Context, pid ID, min uint64) (HeadState, error) {
	var st HeadState
	err := s.withHead(ctx, pid, func(hd *head) (bool, error) {
		epoch := max(hd.epoch+1, min)
		key := epochKey(pid)
		if !hd.exists {
			key = floorKey(pid)
		}
		b := s.db.NewBatch()
		_ = b.Set(key, binary.BigEndian.AppendUint64(nil, epoch), nil)
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: raise epoch of %s: %w", b64(pid), err)
		}
		hd.epoch = epoch
		st = HeadState{Known: hd.exists, Epoch: epoch, Count: hd.count, LastHC: hd.lastHC, LastAsg: hd.lastAsgID}
		return true, nil
	})
	return st, err
}

// State returns what this store holds of pid (Known false if it is not registered; Epoch is then
// the floor a fence left, or 0).
func (s *Store) State(ctx context.Context, pid ID) (HeadState, error) {
	var st HeadState
	err := s.withHead(ctx, pid, func(hd *head) (bool, error) {
		st = HeadState{Known: hd.exists, Epoch: hd.epoch, Count: hd.count, LastHC: hd.lastHC, LastAsg: hd.lastAsgID}
		return true, nil
	})
	return st, err
}

// TruncateFrom drops pid's log entries from nonce from on, for an owner at ownership epoch epoch
// (raised here if higher, in the same batch). It is how a replica sheds a tail that diverged from the
// owner's log: entries a stale owner or a crash left on it that nobody acknowledged (an
// acknowledged entry is on the owner and backup of its epoch, and every later owner's log holds it).
// The dropped entries move to a new archive in the same batch (fork.go): should the judgement
// "nobody acknowledged it" ever be wrong, the tail can still be read and recovered.
// Refused: ErrStaleEpoch if epoch is below the process's; ErrEvaluated if any dropped entry was
// already evaluated here (evaluated entries were acknowledged: they are never a diverged tail, and
// only an operator may take them out, with DiscardFrom).
func (s *Store) TruncateFrom(ctx context.Context, pid ID, from, epoch uint64) error {
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		switch {
		case !hd.exists:
			return true, newErr(ErrUnknownProcess, "truncate process "+b64(pid))
		case epoch < hd.epoch:
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("truncate process %s from an owner at epoch %d: current epoch is %d", b64(pid), epoch, hd.epoch))
		case from >= hd.count:
			return true, nil
		}
		cur, err := s.cursor(pid)
		if err != nil {
			return true, err
		}
		if cur > from {
			return true, newErr(ErrEvaluated, fmt.Sprintf("truncate process %s from nonce %d: entries up to %d are evaluated here", b64(pid), from, cur-1))
		}
		b := s.db.NewBatch()
		_, prev, _, err := s.archiveTail(b, pid, from, hd)
		if err != nil {
			b.Close()
			return true, err
		}
		if epoch > hd.epoch {
			_ = b.Set(epochKey(pid), binary.BigEndian.AppendUint64(nil, epoch), nil)
		}
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: truncate %s from %d: %w", b64(pid), from, err)
		}
		hd.epoch = max(hd.epoch, epoch)
		hd.count = from
		hd.lastHC, hd.lastAsgID = prev.HashChain, prev.AssignmentID
		return true, nil
	})
}

// ClaimEpoch is a new owner taking ownership epoch to for pid, if nobody else touched the
// process's epoch since the owner read it as from (State): it sets the epoch (the floor, for a
// process this store does not hold) to to and returns nil; otherwise ErrStaleEpoch. A fence by
// another owner, or a replicated batch or truncation from one, changes the epoch meanwhile: then
// that other owner may be using the very epoch this one got from its own backup, and only the
// compare-and-set here keeps two owners from writing one epoch (docs/design.md invariant 2).
func (s *Store) ClaimEpoch(ctx context.Context, pid ID, from, to uint64) error {
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		if hd.epoch != from || to < from {
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("claim epoch %d of process %s: its epoch moved from %d to %d meanwhile (another owner)", to, b64(pid), from, hd.epoch))
		}
		if to == from {
			return true, nil
		}
		key := epochKey(pid)
		if !hd.exists {
			key = floorKey(pid)
		}
		b := s.db.NewBatch()
		_ = b.Set(key, binary.BigEndian.AppendUint64(nil, to), nil)
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: claim epoch of %s: %w", b64(pid), err)
		}
		hd.epoch = to
		return true, nil
	})
}
