package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	d.MergeRemoteState([]byte(`{"i":"peer","n":2,"r":["other"]}`), false)
	select {
	case r := <-fenced:
		t.Fatalf("fenced on another member's removal: %s", r)
	case <-time.After(50 * time.Millisecond):
	}
	if _, ok := p.removed["other"]; !ok {
		t.Fatal("a peer's tombstone was not learnt")
	}
	if string(d.LocalState(false)) != `{"i":"me","n":0,"r":["other"]}` {
		t.Fatalf("tombstones passed on: %s", d.LocalState(false))
	}
	d.MergeRemoteState([]byte(`{"i":"peer","n":2,"r":["other","me"]}`), false)
	d.MergeRemoteState([]byte(`{"i":"peer","n":2,"r":["me"]}`), false)
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

// A healed partition: each side removed the other. Removals reported by a member this one removed
// are not learnt, and only the smaller side (on a tie the smaller id) fences.
func TestWatchdogMutualRemoval(t *testing.T) {
	for _, tc := range []struct {
		name       string
		live       int // this member's view size
		peerLive   int
		peerID     string
		wantFenced bool
	}{
		{"minority fences", 1, 2, "b", true},
		{"majority stays", 2, 1, "b", false},
		{"tie, smaller id fences", 1, 1, "z", true},
		{"tie, larger id stays", 1, 1, "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fenced := make(chan string, 2)
			p, err := NewProvider(Config{Listen: "127.0.0.1:0", Name: "n", OnFenced: func(r string) { fenced <- r }}, nil)
			if err != nil {
				t.Fatal(err)
			}
			self := Member{ID: "m", Name: "n"}
			var ms []Member
			for i := 0; i < tc.live; i++ {
				ms = append(ms, Member{ID: fmt.Sprint("m", i), Name: fmt.Sprint("n", i)})
			}
			ms[0] = self
			p.self = self
			p.publish(self, ms)
			p.removed[tc.peerID] = time.Now()
			d := &delegate{p}
			d.MergeRemoteState(fmt.Appendf(nil, `{"i":%q,"n":%d,"r":["m","x"]}`, tc.peerID, tc.peerLive), false)
			if _, ok := p.removed["x"]; ok {
				t.Fatal("learnt a removal from a member this one removed")
			}
			select {
			case <-fenced:
				if !tc.wantFenced {
					t.Fatal("fenced, but the other side should restart")
				}
			case <-time.After(100 * time.Millisecond):
				if tc.wantFenced {
					t.Fatal("not fenced, but this side should restart")
				}
			}
		})
	}
}

func TestReconnectPlan(t *testing.T) {
	sched := map[string]*backoff{}
	now := time.Unix(1000, 0)
	rem := []string{"a:1", "b:1", "self:1"}
	live := map[string]bool{"b:1": true}
	due := reconnectPlan(rem, live, "self:1", sched, now, time.Second, 4*time.Second)
	if fmt.Sprint(due) != "[a:1]" {
		t.Fatalf("due %v, want [a:1] (b is live, self is self)", due)
	}
	if due := reconnectPlan(rem, live, "self:1", sched, now.Add(2*time.Second), time.Second, 4*time.Second); len(due) != 0 {
		t.Fatalf("an address with a join in flight is due again: %v", due)
	}
	var at []time.Duration
	for s := 1; s <= 20; s++ {
		sched["a:1"].inFlight = false
		if len(reconnectPlan(rem, live, "self:1", sched, now.Add(time.Duration(s)*time.Second), time.Second, 4*time.Second)) > 0 {
			at = append(at, time.Duration(s)*time.Second)
		}
	}
	if fmt.Sprint(at) != "[1s 3s 7s 11s 15s 19s]" {
		t.Fatalf("attempts at %v: want backoff 1, 2, 4, then capped at 4 s", at)
	}
	live["a:1"] = true
	reconnectPlan(rem, live, "self:1", sched, now, time.Second, 4*time.Second)
	if _, ok := sched["a:1"]; ok {
		t.Fatal("a live address kept its backoff")
	}
}

func TestTimingValidate(t *testing.T) {
	if err := (Timing{}).Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d := DefaultTiming(); d.ProbeInterval != time.Second || d.ProbeTimeout != 500*time.Millisecond || d.SuspicionMult != 4 || d.GossipInterval != 200*time.Millisecond {
		t.Fatalf("defaults are not memberlist's LAN ones: %+v", d)
	}
	for _, bad := range []Timing{{ProbeTimeout: time.Second}, {ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 200 * time.Millisecond},
		{SuspicionMult: -1}, {GossipInterval: -time.Second}, {ProbeInterval: time.Millisecond}} {
		if err := bad.Validate(); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	if _, err := NewProvider(Config{Listen: "127.0.0.1:0", Timing: Timing{ProbeTimeout: 2 * time.Second}}, nil); err == nil ||
		!strings.Contains(err.Error(), "--probe-timeout") {
		t.Fatalf("NewProvider with probe timeout ≥ interval: %v", err)
	}
}

func TestPeerBookFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "peers.json")
	b, err := loadPeerBook(f, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b.saw([]string{"a:1", "b:1"}, now)
	b2, err := loadPeerBook(f, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b2.list(time.Hour, now)); got != "[a:1 b:1]" {
		t.Fatalf("reloaded %s", got)
	}
	if got := b2.list(time.Hour, now.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("addresses past the reconnect timeout are still listed: %v", got)
	}
	if err := os.WriteFile(f, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b3, err := loadPeerBook(f, time.Hour); err != nil || len(b3.list(time.Hour, now)) != 0 {
		t.Fatalf("a damaged file: %v", err)
	}
}
