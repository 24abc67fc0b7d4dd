package recovery

import (
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/scheduler"
)

// resignFrom re-signs l's entries from nonce k on with other (the hash chain follows the new ids),
// as a log whose later assignments another key signed.
func resignFrom(t *testing.T, l *testLog, k int, other ans104.Signer) {
	t.Helper()
	st := scheduler.Fresh(l.pid)
	for i := range l.entries {
		e := &l.entries[i]
		signer := l.sched
		if i >= k {
			signer = other
		}
		in := scheduler.Input{Clock: e.Assignment.Timestamp, BlockHeight: e.Assignment.BlockHeight, Message: e.Assignment.Message}
		a, err := scheduler.Next(st, in)
		if err != nil {
			t.Fatal(err)
		}
		ai, err := scheduler.Sign(a, signer)
		if err != nil {
			t.Fatal(err)
		}
		st = st.Advance(a, ai.ID())
		e.Assignment, _ = ans104.AsAssignment(ai)
		e.AssignmentItem = ai
	}
}

func chainAll(l *testLog, delegates func(string) ([]string, error)) error {
	c := NewChain(l.pid)
	c.Delegates = delegates
	for _, e := range l.entries {
		if err := c.Add(e); err != nil {
			return err
		}
	}
	return nil
}

// Assignments signed by another key than the Scheduler are accepted only when the Scheduler
// delegated to that key; a delegation to someone else, or none, leaves them refused.
func TestChainAcceptsOnlyDelegatedSigners(t *testing.T) {
	l := newTestLog(t, 5)
	other, _ := ans104.GenerateEd25519Signer()
	otherAddr := ans104.Address(other.SignatureType(), other.Owner())
	resignFrom(t, l, 3, other)
	sched := ans104.Address(l.sched.SignatureType(), l.sched.Owner())

	if err := chainAll(l, nil); err == nil || !strings.Contains(err.Error(), "not by the process's Scheduler") {
		t.Fatalf("no delegation: %v", err)
	}
	if err := chainAll(l, func(string) ([]string, error) { return []string{"someone-else"}, nil }); err == nil {
		t.Fatal("a delegation to another key accepted the signer")
	}
	asked := ""
	if err := chainAll(l, func(s string) ([]string, error) { asked = s; return []string{otherAddr}, nil }); err != nil {
		t.Fatalf("delegated signer: %v", err)
	}
	if asked != sched {
		t.Fatalf("delegations asked of %q, want the Scheduler %s", asked, sched)
	}
}
