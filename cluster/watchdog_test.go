package cluster

import (
	"testing"
	"time"
)

// The watchdog: a peer's push-pull state naming this incarnation among the removed fences it,
// once; other removed ids are remembered (and kept out of the view).
func TestWatchdogFencesOnOwnTombstone(t *testing.T) {
	fenced := make(chan string, 2)
	p, err := NewProvider(Config{Listen: "127.0.0.1:0", Name: "n", OnFenced: func(r string) { fenced <- r }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.self = Member{ID: "me"}
	d := &delegate{p}
	d.MergeRemoteState([]byte(`["other"]`), false)
	select {
	case r := <-fenced:
		t.Fatalf("fenced on another member's removal: %s", r)
	case <-time.After(50 * time.Millisecond):
	}
	if _, ok := p.removed["other"]; !ok {
		t.Fatal("a peer's tombstone was not learnt")
	}
	if string(d.LocalState(false)) != `["other"]` {
		t.Fatalf("tombstones passed on: %s", d.LocalState(false))
	}
	d.MergeRemoteState([]byte(`["other","me"]`), false)
	d.MergeRemoteState([]byte(`["me"]`), false)
	select {
	case <-fenced:
	case <-time.After(time.Second):
		t.Fatal("not fenced although a peer saw this member removed")
	}
	select {
	case <-fenced:
		t.Fatal("fenced twice")
	case <-time.After(50 * time.Millisecond):
	}
	if !p.Fenced() {
		t.Fatal("Fenced() is false")
	}
}
