package recovery

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/scheduler"
)

// BatchRef is a Log-Batch item as the gateway lists it: its id and the nonce range its tags claim.
type BatchRef struct {
	ID       string
	From, To uint64 // inclusive
	Owner    string // signer address as the gateway reports it
}

// Entry is one log entry read back from a batch: its assignment and, unless it is an
// assignment-only entry, the message it orders (for nonce 0, the Process item itself).
type Entry struct {
	Assignment     *ans104.Assignment
	AssignmentItem *ans104.DataItem
	Message        *ans104.DataItem
}

// Nonce is the entry's nonce.
func (e *Entry) Nonce() uint64 { return e.Assignment.Nonce }

// BatchError is a batch the recovery refuses, with what is wrong with it.
type BatchError struct {
	Process ans104.ID
	Batch   string
	Reason  string
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("recovery: process %s: log batch %s: %s", e.Process, e.Batch, e.Reason)
}

// ParseBatchTags reads a Log-Batch item's tags into a BatchRef, refusing one that is not a batch of
// pid or whose range does not parse.
func ParseBatchTags(pid ans104.ID, id, owner string, tag func(string) string) (BatchRef, error) {
	bad := func(r string) (BatchRef, error) { return BatchRef{}, &BatchError{Process: pid, Batch: id, Reason: r} }
	if t := tag(arweave.TagType); t != arweave.TypeLogBatch {
		return bad(fmt.Sprintf("%s is %q, not %q", arweave.TagType, t, arweave.TypeLogBatch))
	}
	if p := tag("Process"); p != pid.String() {
		return bad(fmt.Sprintf("Process tag is %q", p))
	}
	from, err1 := strconv.ParseUint(tag("From-Nonce"), 10, 64)
	to, err2 := strconv.ParseUint(tag("To-Nonce"), 10, 64)
	if err1 != nil || err2 != nil || to < from {
		return bad(fmt.Sprintf("bad nonce range From-Nonce %q To-Nonce %q", tag("From-Nonce"), tag("To-Nonce")))
	}
	return BatchRef{ID: id, From: from, To: to, Owner: owner}, nil
}

// ParseBatch decodes a batch's data with arweave.ParseLogBatch (every signature verified, items
// paired into entries, nonces exactly ref.From..ref.To of pid) and reads each assignment's tags.
// The hash chain across entries is Chain's job.
func ParseBatch(pid ans104.ID, ref BatchRef, data []byte) ([]Entry, error) {
	bes, err := arweave.ParseLogBatch(pid, ref.From, ref.To, data)
	if err != nil {
		return nil, &BatchError{Process: pid, Batch: ref.ID, Reason: err.Error()}
	}
	out := make([]Entry, len(bes))
	for i, be := range bes {
		a, err := ans104.AsAssignment(be.Assignment)
		if err != nil {
			return nil, &BatchError{Process: pid, Batch: ref.ID, Reason: err.Error()}
		}
		out[i] = Entry{Assignment: a, AssignmentItem: be.Assignment, Message: be.Message}
	}
	return out, nil
}

// Chain checks a process's log entry by entry, in nonce order from 0, without keeping it: the
// hash chain (scheduler.Seed / scheduler.Link, the formula scheduler.VerifyChain applies), that
// every assignment is signed by the process's Scheduler, epochs never go back, and the first entry
// is the process's own assignment with the Process item as its message.
type Chain struct {
	pid       ans104.ID
	scheduler string // wallet address in the Process item's Scheduler tag
	// Delegates, when set, lists the addresses the Scheduler delegated to by signed
	// Scheduler-Delegation items (docs/scheduler-identity.md); it is asked once, at the first
	// assignment signed by another key.
	Delegates func(scheduler string) ([]string, error)
	allowed   map[string]bool // nil until Delegates was asked
	next      uint64
	want      ans104.ID
	epoch     uint64
	process   *ans104.Process
}

// NewChain starts checking pid's log.
func NewChain(pid ans104.ID) *Chain { return &Chain{pid: pid, want: scheduler.Seed(pid)} }

// Next is the nonce the next Add must carry.
func (c *Chain) Next() uint64 { return c.next }

// Epoch is the epoch of the last entry added.
func (c *Chain) Epoch() uint64 { return c.epoch }

// Process is the process item's view, known once entry 0 is added.
func (c *Chain) Process() *ans104.Process { return c.process }

// LastLink is the hash-chain link the next entry must carry.
func (c *Chain) LastLink() ans104.ID { return c.want }

// Add checks e against everything before it.
func (c *Chain) Add(e Entry) error {
	a := e.Assignment
	fail := func(format string, args ...any) error {
		return &scheduler.ChainError{Process: c.pid, Index: int(c.next), Reason: fmt.Sprintf(format, args...)}
	}
	if a.Process != c.pid {
		return fail("assignment %s is for process %s", e.AssignmentItem.ID(), a.Process)
	}
	if a.Nonce != c.next {
		return fail("nonce %d, want %d", a.Nonce, c.next)
	}
	if a.HashChain != c.want {
		return fail("hash chain %s, want %s (assignment %s)", a.HashChain, c.want, e.AssignmentItem.ID())
	}
	if c.next > 0 && a.Epoch < c.epoch {
		return fail("epoch %d after epoch %d", a.Epoch, c.epoch)
	}
	if c.next == 0 {
		if !a.Message.IsZero() {
			return fail("the first entry assigns message %s, not the process itself", a.Message)
		}
		if e.Message == nil || e.Message.ID() != c.pid {
			return fail("the first entry does not carry the Process item")
		}
		p, err := ans104.AsProcess(e.Message)
		if err != nil {
			return fail("process item: %v", err)
		}
		c.process, c.scheduler = p, p.Scheduler
	} else {
		if a.Message.IsZero() {
			return fail("assignment %s names no message", e.AssignmentItem.ID())
		}
		if e.Message != nil && e.Message.ID() != a.Message {
			return fail("message %s is not the assigned %s", e.Message.ID(), a.Message)
		}
	}
	if got := e.AssignmentItem.OwnerAddress(); got != c.scheduler && !c.delegated(got) {
		return fail("assignment %s is signed by %s, not by the process's Scheduler %s nor by a key it delegated to", e.AssignmentItem.ID(), got, c.scheduler)
	}
	c.want = scheduler.Link(e.AssignmentItem.ID(), a.HashChain)
	c.epoch = a.Epoch
	c.next++
	return nil
}

// delegated reports whether the Scheduler delegated to addr.
func (c *Chain) delegated(addr string) bool {
	if c.allowed == nil && c.Delegates != nil {
		c.allowed = map[string]bool{}
		ds, err := c.Delegates(c.scheduler)
		if err != nil {
			c.allowed = nil // asked again at the next foreign signer: the gateway may answer then
			return false
		}
		for _, d := range ds {
			c.allowed[d] = true
		}
	}
	return c.allowed[addr]
}

// CheckpointMemory checks a checkpoint's decompressed memory against its SHA-256 tag.
func CheckpointMemory(cp *ans104.Checkpoint, mem []byte, sum [32]byte) error {
	if hex.EncodeToString(sum[:]) != cp.SHA256 {
		return fmt.Errorf("recovery: checkpoint of process %s at nonce %d: memory SHA-256 %x, its SHA-256 tag says %s",
			cp.Process, cp.Nonce, sum, cp.SHA256)
	}
	return nil
}
