package compute

import (
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/scheduler"
)

// EntryOf picks the message every evaluator of a log must see: the Process item at nonce 0, the
// caller's parsed item, the entry's own bytes, or what find returns for an assignment-only entry.
func TestEntryOf(t *testing.T) {
	key, _ := ans104.GenerateEd25519Signer()
	signed := func(data string) *ans104.DataItem {
		it := ans104.NewItem([]byte(data), nil, nil, []ans104.Tag{{Name: "Type", Value: "Message"}})
		if err := it.Sign(key); err != nil {
			t.Fatal(err)
		}
		return it
	}
	proc, inline, held, elsewhere := signed("process"), signed("inline"), signed("held"), signed("elsewhere")
	pid := proc.ID()
	asg := func(nonce uint64, msg ans104.ID) []byte {
		a, err := scheduler.Sign(ans104.Assignment{Process: pid, Nonce: nonce, Message: msg, Epoch: 1}, key)
		if err != nil {
			t.Fatal(err)
		}
		return a.Bytes()
	}
	find := func(id ans104.ID) *ans104.DataItem {
		if id == elsewhere.ID() {
			return elsewhere
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		le   LogEntry
		msg  *ans104.DataItem
		want *ans104.DataItem
	}{
		{"process item at nonce 0", LogEntry{Nonce: 0, Assignment: asg(0, ans104.ID{})}, nil, proc},
		{"the entry's own bytes", LogEntry{Nonce: 1, Assignment: asg(1, inline.ID()), Message: inline.Bytes(), MessageID: inline.ID()}, nil, inline},
		{"the caller's parsed item first", LogEntry{Nonce: 2, Assignment: asg(2, held.ID()), Message: inline.Bytes(), MessageID: held.ID()}, held, held},
		{"assignment-only, found", LogEntry{Nonce: 3, Assignment: asg(3, elsewhere.ID()), MessageID: elsewhere.ID()}, nil, elsewhere},
		{"assignment-only, nowhere", LogEntry{Nonce: 4, Assignment: asg(4, ans104.ID{7}), MessageID: ans104.ID{7}}, nil, nil},
	} {
		e, err := EntryOf(tc.le, proc, tc.msg, find)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if e.Assignment.Nonce != tc.le.Nonce || (e.Message == nil) != (tc.want == nil) || (e.Message != nil && e.Message.ID() != tc.want.ID()) {
			t.Errorf("%s: nonce %d, message %v", tc.name, e.Assignment.Nonce, e.Message)
		}
	}
	if _, err := EntryOf(LogEntry{Nonce: 9, Assignment: []byte("not an item"), MessageID: ans104.ID{1}}, proc, nil, nil); err == nil {
		t.Fatal("a broken assignment was accepted")
	}
}
