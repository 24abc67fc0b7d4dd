package persistence

import (
	"context"
	"fmt"
)

func (s *Store) checkEntry(e *Entry) error {
	// The text is built only for a refusal: this runs for every entry, on the owner and on every
	// replica, and formatting it up front cost about 1% of a 3-node cluster's CPU.
	where := func() string { return fmt.Sprintf("entry %d of process %s", e.Nonce, b64(e.Process)) }
	switch {
	case e.Process == ID{}:
		return newErr(ErrInvalid, "entry has a zero process id")
	case e.AssignmentID == ID{}:
		return newErr(ErrInvalid, where()+" has a zero assignment id")
	case len(e.Assignment) == 0:
		return newErr(ErrInvalid, where()+" has no assignment bytes")
	case len(e.Message) > 0 && e.MessageID == ID{}:
		return newErr(ErrInvalid, where()+" has message bytes but a zero message id")
	case len(e.Assignment) > s.opts.MaxAssignmentBytes:
		return newErr(ErrLimit, fmt.Sprintf("%s: assignment is %d bytes, MaxAssignmentBytes is %d", where(), len(e.Assignment), s.opts.MaxAssignmentBytes))
	case len(e.Message) > s.opts.MaxMessageBytes:
		return newErr(ErrLimit, fmt.Sprintf("%s: message is %d bytes, MaxMessageBytes is %d", where(), len(e.Message), s.opts.MaxMessageBytes))
	}
	return nil
}

// Append adds e at the end of its process's log and returns once it is durable (fsync'd, with
// group commit sharing the fsync among concurrent appends). It refuses, without writing anything:
//   - ErrUnknownProcess: e.Process was never registered with PutProcess;
//   - ErrStaleEpoch / ErrEpochAhead: e.Epoch differs from the process's current epoch;
//   - ErrNonceGap: e.Nonce is not exactly the last nonce + 1 (0 for the first entry);
//   - ErrHashChain: e.HashChain is not the link that follows the previous entry (§2.4);
//   - ErrMessageExists: e.MessageID is already in this process's log;
//   - ErrAssignmentExists: e.AssignmentID is already stored;
//   - ErrInvalid / ErrLimit: malformed or oversized input.
//
// All checks and the write happen under the process's lock, so of two concurrent appends to one
// process at most one can pass; the epoch check is in that same step (docs/design.md invariant 2).
// Appends to one process are therefore serial: one in flight per process, each waiting its fsync.
func (s *Store) Append(ctx context.Context, e Entry) error {
	return s.AppendBatch(ctx, e.Process, []Entry{e})
}

// validate checks e against the process head and the id indexes. Called with the head lock held.
func (s *Store) validate(hd *head, e *Entry) error {
	pid := e.Process // encoded (b64) only in a refusal's text, as in checkEntry
	if !hd.exists {
		return newErr(ErrUnknownProcess, "append to process "+b64(pid))
	}
	if e.Epoch < hd.epoch {
		return newErr(ErrStaleEpoch, fmt.Sprintf("append to process %s with epoch %d: current epoch is %d", b64(pid), e.Epoch, hd.epoch))
	}
	if e.Epoch > hd.epoch {
		return newErr(ErrEpochAhead, fmt.Sprintf("append to process %s with epoch %d: current epoch is %d (SetEpoch first)", b64(pid), e.Epoch, hd.epoch))
	}
	if e.Nonce != hd.count {
		return newErr(ErrNonceGap, fmt.Sprintf("append nonce %d to process %s: next nonce is %d", e.Nonce, b64(pid), hd.count))
	}
	var want ID
	if hd.count > 0 {
		want = NextHashChain(hd.lastAsgID, hd.lastHC)
	} else {
		want = FirstHashChain(e.Process)
	}
	if e.HashChain != want {
		return newErr(ErrHashChain, fmt.Sprintf("append nonce %d to process %s: hash chain %s, expected %s", e.Nonce, b64(pid), b64(e.HashChain), b64(want)))
	}
	if e.MessageID != (ID{}) {
		dup, err := s.mayHave(msgKey(e.MessageID, e.Process))
		if err != nil {
			return err
		}
		if dup {
			return newErr(ErrMessageExists, fmt.Sprintf("message %s already in process %s", b64(e.MessageID), b64(pid)))
		}
	}
	// Assignment ids are signatures over tags that include the process id, so a duplicate across
	// processes is not a race this lock needs to cover; within the process it is exact.
	dup, err := s.mayHave(assignmentKey(e.AssignmentID))
	if err != nil {
		return err
	}
	if dup {
		return newErr(ErrAssignmentExists, fmt.Sprintf("assignment %s (nonce %d of process %s)", b64(e.AssignmentID), e.Nonce, b64(pid)))
	}
	return nil
}

// withHead runs fn with pid's head locked (until fn returns, so a write fn makes durable is atomic
// with its checks) and loaded from Pebble. fn reports whether the head it leaves is the truth;
// false (a commit failed half-way) makes the next caller reload it.
func (s *Store) withHead(ctx context.Context, pid ID, fn func(hd *head) (fresh bool, err error)) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	hd, err := s.heads.acquire(ctx, pid)
	if err != nil {
		return err
	}
	fresh := false
	defer func() { s.heads.release(pid, hd, fresh) }()
	if err := s.loadHead(pid, hd); err != nil {
		return err
	}
	fresh, err = fn(hd)
	return err
}

// filterAdd records a dedup key in the filter before its batch commits, so the filter never misses
// a stored key (a failed commit only leaves a harmless false positive).
func (s *Store) filterAdd(key []byte) {
	if s.filter != nil {
		s.filter.add(key)
	}
}
