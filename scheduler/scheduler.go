package scheduler

import (
	"crypto/sha256"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
)

// State is what the scheduler remembers of a process's log: the last assignment's nonce, hash chain,
// id, timestamp and epoch. The zero State of a process (Fresh) has no assignment yet.
type State struct {
	Process      ans104.ID
	Started      bool // at least one assignment exists
	Nonce        uint64
	Epoch        uint64
	Timestamp    int64
	HashChain    ans104.ID
	AssignmentID ans104.ID
}

// Fresh is the state of a process with an empty log.
func Fresh(pid ans104.ID) State { return State{Process: pid} }

// FromAssignment rebuilds the state from the last assignment in a log (after a restart).
func FromAssignment(a *ans104.Assignment, assignmentID ans104.ID) State {
	return State{Process: a.Process, Started: true, Nonce: a.Nonce, Epoch: a.Epoch,
		Timestamp: a.Timestamp, HashChain: a.HashChain, AssignmentID: assignmentID}
}

// Input is everything outside the log that the next assignment depends on.
type Input struct {
	// Message is the id of the item being assigned; zero for the process's own assignment
	// (process-assignment mode), which may only be the first entry of a log.
	Message ans104.ID
	// Clock is the scheduler's wall clock in milliseconds. The assignment's timestamp is
	// max(Clock, previous+1), so timestamps are strictly increasing per process even when the clock
	// steps back or two items arrive in the same millisecond.
	Clock       int64
	BlockHeight uint64
	// Epoch is the caller's ownership epoch of the process. It may not be lower than the
	// previous assignment's: a stale owner is refused here, and again by the store.
	Epoch   uint64
	Exclude []string
}

// StaleEpochError: the caller's epoch is older than the log's.
type StaleEpochError struct {
	Process   ans104.ID
	Have, Log uint64
}

func (e *StaleEpochError) Error() string {
	return fmt.Sprintf("scheduler: process %s: epoch %d is older than the log's epoch %d (another node owns it now)", e.Process, e.Have, e.Log)
}

// Next computes the assignment that follows prev for in. It does not change prev.
func Next(prev State, in Input) (ans104.Assignment, error) {
	a := ans104.Assignment{Process: prev.Process, Message: in.Message, BlockHeight: in.BlockHeight,
		Epoch: in.Epoch, Exclude: in.Exclude}
	if prev.Started && in.Epoch < prev.Epoch {
		return a, &StaleEpochError{Process: prev.Process, Have: in.Epoch, Log: prev.Epoch}
	}
	if in.Message.IsZero() && prev.Started {
		return a, fmt.Errorf("scheduler: process %s: only the first entry of a log can be the process's own assignment", prev.Process)
	}
	a.Timestamp = in.Clock
	if !prev.Started {
		a.Nonce = 0
		a.HashChain = Seed(prev.Process)
		return a, nil
	}
	a.Nonce = prev.Nonce + 1
	if a.Timestamp <= prev.Timestamp {
		a.Timestamp = prev.Timestamp + 1
	}
	a.HashChain = Link(prev.AssignmentID, prev.HashChain)
	return a, nil
}

// Advance is the state after a (signed as assignmentID) is durable.
func (s State) Advance(a ans104.Assignment, assignmentID ans104.ID) State {
	return State{Process: s.Process, Started: true, Nonce: a.Nonce, Epoch: a.Epoch,
		Timestamp: a.Timestamp, HashChain: a.HashChain, AssignmentID: assignmentID}
}

// Seed is the first hash-chain link of a process: SHA-256 of its raw id.
func Seed(pid ans104.ID) ans104.ID { return sha256.Sum256(pid[:]) }

// Link is the next hash-chain link: SHA-256(raw previous assignment id ‖ raw previous link).
func Link(prevAssignment, prevLink ans104.ID) ans104.ID {
	var buf [64]byte
	copy(buf[:32], prevAssignment[:])
	copy(buf[32:], prevLink[:])
	return sha256.Sum256(buf[:])
}

// Sign turns an assignment into a signed data item: the assignment's tags, empty data, no target.
// The reference scheduler adds a random anchor; ours is empty, which keeps assignments a function
// of the log (each is unique anyway: it names its process and nonce).
func Sign(a ans104.Assignment, s ans104.Signer) (*ans104.DataItem, error) {
	item := ans104.NewItem(nil, nil, nil, a.Tags())
	if err := item.Sign(s); err != nil {
		return nil, err
	}
	return item, nil
}

// ChainEntry is one log entry as VerifyChain sees it.
type ChainEntry struct {
	Nonce        uint64
	HashChain    ans104.ID
	AssignmentID ans104.ID
}

// ChainError says where a log's hash chain or nonce sequence breaks.
type ChainError struct {
	Process ans104.ID
	Index   int
	Reason  string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("scheduler: process %s: log entry %d: %s", e.Process, e.Index, e.Reason)
}

// VerifyChain checks a whole log from its first entry: nonces start at first and increase by one,
// and every hash-chain link follows from the previous assignment.
func VerifyChain(pid ans104.ID, first uint64, entries []ChainEntry) error {
	want := Seed(pid)
	for i, e := range entries {
		if e.Nonce != first+uint64(i) {
			return &ChainError{Process: pid, Index: i, Reason: fmt.Sprintf("nonce %d, want %d", e.Nonce, first+uint64(i))}
		}
		if e.HashChain != want {
			return &ChainError{Process: pid, Index: i, Reason: fmt.Sprintf("hash chain %s, want %s", e.HashChain, want)}
		}
		want = Link(e.AssignmentID, e.HashChain)
	}
	return nil
}
