package recovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/scheduler"
)

// testLog is a process log signed as a node signs it: the Process item at nonce 0, then messages.
type testLog struct {
	pid     ans104.ID
	sched   ans104.Signer
	entries []Entry
}

func signed(t *testing.T, s ans104.Signer, data string, target, anchor []byte, tags []ans104.Tag) *ans104.DataItem {
	t.Helper()
	d := ans104.NewItem([]byte(data), target, anchor, tags)
	if err := d.Sign(s); err != nil {
		t.Fatal(err)
	}
	return d
}

func newTestLog(t *testing.T, messages int) *testLog {
	t.Helper()
	sched, _ := ans104.GenerateEd25519Signer()
	user, _ := ans104.GenerateEd25519Signer()
	var mod ans104.ID
	mod[0] = 7
	proc := signed(t, user, "proc", nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: mod.String()}, {Name: "Scheduler", Value: ans104.Address(sched.SignatureType(), sched.Owner())}})
	l := &testLog{pid: proc.ID(), sched: sched}
	st := scheduler.Fresh(l.pid)
	for n := 0; n <= messages; n++ {
		var msg *ans104.DataItem
		in := scheduler.Input{Clock: int64(1000 + n), BlockHeight: 5}
		if n == 0 {
			msg = proc
		} else {
			msg = signed(t, user, "m", l.pid[:], make([]byte, 32), []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "N", Value: string(rune('a' + n))}})
			in.Message = msg.ID()
		}
		a, err := scheduler.Next(st, in)
		if err != nil {
			t.Fatal(err)
		}
		ai, err := scheduler.Sign(a, sched)
		if err != nil {
			t.Fatal(err)
		}
		st = st.Advance(a, ai.ID())
		av, _ := ans104.AsAssignment(ai)
		l.entries = append(l.entries, Entry{Assignment: av, AssignmentItem: ai, Message: msg})
	}
	return l
}

func bundle(es []Entry) []byte {
	var items []*ans104.DataItem
	for _, e := range es {
		items = append(items, e.AssignmentItem)
		if e.Message != nil {
			items = append(items, e.Message)
		}
	}
	return ans104.EncodeBundle(items)
}

func TestParseBatchAndChainAcceptAnHonestLog(t *testing.T) {
	l := newTestLog(t, 5)
	c := NewChain(l.pid)
	for _, r := range []BatchRef{{ID: "a", From: 0, To: 2}, {ID: "b", From: 3, To: 5}} {
		es, err := ParseBatch(l.pid, r, bundle(l.entries[r.From:r.To+1]))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if err := c.Add(e); err != nil {
				t.Fatalf("nonce %d: %v", e.Nonce(), err)
			}
		}
	}
	if c.Next() != 6 || c.Process() == nil || c.Process().Item.ID() != l.pid {
		t.Fatalf("next %d, process %v", c.Next(), c.Process())
	}
	// The streaming check and scheduler.VerifyChain agree on the same log.
	var ces []scheduler.ChainEntry
	for _, e := range l.entries {
		ces = append(ces, scheduler.ChainEntry{Nonce: e.Nonce(), HashChain: e.Assignment.HashChain, AssignmentID: e.AssignmentItem.ID()})
	}
	if err := scheduler.VerifyChain(l.pid, 0, ces); err != nil {
		t.Fatal(err)
	}
}

func TestParseBatchRefusesWhatDoesNotMatchItsTags(t *testing.T) {
	l := newTestLog(t, 3)
	for name, tc := range map[string]struct {
		ref  BatchRef
		data []byte
		want string
	}{
		"range too long":  {BatchRef{ID: "x", From: 0, To: 4}, bundle(l.entries), "holds 4 entries"},
		"wrong start":     {BatchRef{ID: "x", From: 1, To: 4}, bundle(l.entries), "want nonce 1"},
		"message first":   {BatchRef{ID: "x", From: 1, To: 1}, ans104.EncodeBundle([]*ans104.DataItem{l.entries[1].Message}), "Type"},
		"not a bundle":    {BatchRef{ID: "x", From: 0, To: 0}, []byte("hello"), "bundle"},
		"other process":   {BatchRef{ID: "x", From: 0, To: 3}, bundle(newTestLog(t, 3).entries), "want nonce"},
		"bad signature":   {BatchRef{ID: "x", From: 0, To: 3}, tamper(bundle(l.entries)), "signature"},
		"missing message": {BatchRef{ID: "x", From: 2, To: 3}, bundle([]Entry{{AssignmentItem: l.entries[2].AssignmentItem}, l.entries[3]}), ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseBatch(l.pid, tc.ref, tc.data)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("an assignment-only entry is allowed: %v", err)
				}
				return
			}
			var be *BatchError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a BatchError containing %q", err, tc.want)
			}
		})
	}
}

// tamper flips a byte in the data of the last item (its signature no longer verifies).
func tamper(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 1
	return out
}

func TestChainRefusesABrokenLog(t *testing.T) {
	other, _ := ans104.GenerateEd25519Signer()
	for name, tc := range map[string]struct {
		edit func(t *testing.T, l *testLog)
		want string
	}{
		"gap": {func(t *testing.T, l *testLog) { l.entries = append(l.entries[:2], l.entries[3:]...) }, "nonce 3, want 2"},
		"hash chain": {func(t *testing.T, l *testLog) {
			a := *l.entries[2].Assignment
			a.HashChain[0] ^= 1
			ai, _ := scheduler.Sign(a, l.sched)
			l.entries[2].Assignment, l.entries[2].AssignmentItem = &a, ai
		}, "hash chain"},
		"foreign signer": {func(t *testing.T, l *testLog) {
			a := *l.entries[2].Assignment
			ai, _ := scheduler.Sign(a, other)
			l.entries[2].AssignmentItem = ai
		}, "not by the process's Scheduler"},
		"epoch back": {func(t *testing.T, l *testLog) {
			// Re-sign the tail with epoch 1 then 0: the chain stays linked, the epoch goes back.
			st := scheduler.Fresh(l.pid)
			for i := range l.entries {
				a := *l.entries[i].Assignment
				if i > 0 {
					st2, _ := scheduler.Next(st, scheduler.Input{Message: a.Message, Clock: a.Timestamp, Epoch: map[bool]uint64{true: 1}[i == 1]})
					a = st2
				} else {
					a, _ = scheduler.Next(st, scheduler.Input{Clock: a.Timestamp})
				}
				ai, _ := scheduler.Sign(a, l.sched)
				st = st.Advance(a, ai.ID())
				st.Epoch = 0 // let Next accept the lower epoch: the log, not the scheduler, is under test
				l.entries[i].Assignment, l.entries[i].AssignmentItem = &a, ai
			}
		}, "epoch 0 after epoch 1"},
		"swapped message":          {func(t *testing.T, l *testLog) { l.entries[1].Message = l.entries[2].Message }, "is not the assigned"},
		"first is not the process": {func(t *testing.T, l *testLog) { l.entries = l.entries[1:] }, "nonce 1, want 0"},
	} {
		t.Run(name, func(t *testing.T) {
			l := newTestLog(t, 4)
			tc.edit(t, l)
			c := NewChain(l.pid)
			var err error
			for _, e := range l.entries {
				if err = c.Add(e); err != nil {
					break
				}
			}
			var ce *scheduler.ChainError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a ChainError containing %q", err, tc.want)
			}
		})
	}
}

func TestRebuildItemFromGatewayFields(t *testing.T) {
	s, _ := ans104.GenerateEd25519Signer()
	tags := []ans104.Tag{{Name: "Type", Value: "Module"}, {Name: "Module-Format", Value: "wasm64"}}
	for _, anchor := range [][]byte{nil, make([]byte, 32)} {
		d := signed(t, s, "wasm bytes", nil, anchor, tags)
		f := TxFields{ID: d.ID().String(), Signature: ans104.EncodeB64(d.Signature), OwnerKey: ans104.EncodeB64(d.Owner), Tags: tags}
		// Like arlocal, the fields carry no anchor.
		rb, err := RebuildItem(d.ID(), f, d.Data)
		if err != nil {
			t.Fatal(err)
		}
		if rb.Verified != (anchor == nil) {
			t.Fatalf("anchor %v: verified %v (%s)", anchor != nil, rb.Verified, rb.Note)
		}
		if string(rb.Item.Data) != "wasm bytes" || rb.Item.ID() != d.ID() {
			t.Fatal("rebuilt item differs")
		}
		if _, err := RebuildItem(ans104.ID{1}, f, d.Data); err == nil {
			t.Fatal("an item whose signature hashes to another id was accepted")
		}
	}
}
