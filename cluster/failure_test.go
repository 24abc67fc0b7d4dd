package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowTiming makes memberlist take at least 20 s to declare a silent member dead (its suspicion
// timeout alone is suspicion-mult × probe-interval), so that whatever takes a member out of a view
// sooner is the failure signal.
var slowTiming = Timing{GossipInterval: 100 * time.Millisecond, ProbeInterval: time.Second, ProbeTimeout: 500 * time.Millisecond, SuspicionMult: 20}

// TestFailureSignal: three members with memberlist's detection slowed to 20 s or more; one is cut
// off (its packets dropped both ways, as a crash looks from outside). With the failure signal the
// others take it out of their views while memberlist still lists it, and once the link is back it
// returns under the same id (not fenced, nothing removed) and the others count one false suspicion
// each. Without the signal (FailureTimeout < 0) the views keep the silent member.
func TestFailureSignal(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("signal=%t", on), func(t *testing.T) {
			ft := time.Duration(0) // the default: two leases
			if !on {
				ft = -1
			}
			dir := t.TempDir()
			ms := make([]*testMember, 3)
			for i := range ms {
				ms[i] = &testMember{t: t, name: fmt.Sprintf("n%d", i), listen: "127.0.0.1:0", peers: filepath.Join(dir, fmt.Sprintf("peers-%d.json", i))}
				var join []string
				if i > 0 {
					join = []string{ms[0].p.GossipAddr()}
				}
				startTimedMember(t, ms[i], slowTiming, ft, join...)
			}
			waitFor(t, 10*time.Second, "three members in every view", func() bool { return converged(ms...) })
			victim, others := ms[2], ms[:2]
			id := victim.p.View().Self.ID
			// The signal judges members it has heard under their id (a member of an older build
			// sends no id): wait for the victim's first heartbeats.
			waitFor(t, 5*time.Second, "the others hear the victim", func() bool {
				return !others[0].p.beats.lastID(id).IsZero() && !others[1].p.beats.lastID(id).IsZero()
			})
			var stale atomic.Int32 // the victim's OnStale calls
			victim.p.OnStale(func() { stale.Add(1) })
			victim.cut.Store(true)
			cutAt := time.Now()
			listed := func(m *testMember) bool {
				m.p.mu.Lock()
				defer m.p.mu.Unlock()
				_, ok := m.p.nodes[id]
				return ok
			}
			if !on {
				time.Sleep(4 * DefaultFailureTimeout)
				for _, m := range others {
					if !strings.Contains(m.ids(), id) || !listed(m) {
						t.Fatalf("without the signal %s dropped the silent member after %v: %s", m.name, time.Since(cutAt), m.ids())
					}
				}
				return
			}
			waitFor(t, 15*time.Second, "the survivors drop the silent member: "+viewsOf(ms...), func() bool { return converged(others...) })
			took := time.Since(cutAt)
			for _, m := range others {
				if !listed(m) {
					t.Fatalf("memberlist on %s had declared the member dead already (%v after the cut): the signal was not what removed it", m.name, took)
				}
				if st := m.p.FailureStats(); st.Suspected != 1 || st.Silent != 1 {
					t.Fatalf("%s: %+v, want one suspicion, one silent", m.name, st)
				}
			}
			t.Logf("the survivors dropped the silent member %v after the cut", took.Round(time.Millisecond))
			victim.cut.Store(false)
			waitFor(t, 10*time.Second, "the member back in every view under the same id: "+viewsOf(ms...), func() bool { return converged(ms...) })
			if got := victim.p.View().Self.ID; got != id || victim.fenced.Load() != 0 {
				t.Fatalf("the member came back as %s (was %s), fenced %d times", got, id, victim.fenced.Load())
			}
			// The cut-off member took the others out too and heard them again: what it held in
			// sync may have moved on meanwhile, and it was told so.
			if stale.Load() == 0 {
				t.Fatal("the cut-off member was not told that its peers may have taken it for dead")
			}
			for _, m := range others {
				if st := m.p.FailureStats(); st.FalseSuspicions != 1 || st.Silent != 0 {
					t.Fatalf("%s: %+v, want one false suspicion, none silent", m.name, st)
				}
			}
		})
	}
}

func TestValidateFailureTimeout(t *testing.T) {
	for _, c := range []struct {
		ft, lease time.Duration
		ok        bool
	}{{0, 0, true}, {-1, 0, true}, {DefaultFailureTimeout, 0, true}, {time.Second, 0, false}, {1200 * time.Millisecond, 0, true},
		{time.Second, 500 * time.Millisecond, true}, {700 * time.Millisecond, 500 * time.Millisecond, false}} {
		if err := ValidateFailureTimeout(c.ft, c.lease); (err == nil) != c.ok {
			t.Errorf("ValidateFailureTimeout(%v, %v) = %v, want ok %v", c.ft, c.lease, err, c.ok)
		}
	}
}

// A false suspicion doubles that member's failure timeout (up to four times) for a while, and so
// does being a newcomer.
func TestTimeoutBacksOffAfterFalseSuspicions(t *testing.T) {
	p := &Provider{wrongly: map[string][]time.Time{}}
	now := time.Now()
	const T = time.Second
	if got := p.timeoutFor("a", T, false, now); got != T {
		t.Fatalf("no false suspicion: %v", got)
	}
	p.wrongly["a"] = []time.Time{now.Add(-time.Minute)}
	if got := p.timeoutFor("a", T, false, now); got != 2*T {
		t.Fatalf("one false suspicion: %v", got)
	}
	if got := p.timeoutFor("b", T, false, now); got != T {
		t.Fatalf("another member: %v", got)
	}
	if got := p.timeoutFor("b", T, true, now); got != 2*T {
		t.Fatalf("a newcomer: %v", got)
	}
	if got := p.timeoutFor("a", T, true, now); got != 4*T {
		t.Fatalf("a newcomer with a false suspicion: %v", got)
	}
	p.wrongly["a"] = append(p.wrongly["a"], now, now, now)
	if got := p.timeoutFor("a", T, false, now); got != 4*T {
		t.Fatalf("four false suspicions: %v, want the cap of 4×", got)
	}
	if got := p.timeoutFor("a", T, false, now.Add(falseSuspicionMemory+time.Second)); got != T || len(p.wrongly) != 0 {
		t.Fatalf("after they are forgotten: %v (%v)", got, p.wrongly)
	}
}

// A member learns from a peer's heartbeat that the peer took it out, once per such episode.
func TestPeerSuspectsTellThisMember(t *testing.T) {
	p := &Provider{suspectedBy: map[string]bool{}, log: testLogger(t, "me")}
	p.self.ID = "me"
	var told int
	p.OnStale(func() { told++ })
	for _, c := range []struct {
		peer, silent string
		want         int
	}{{"b", "", 0}, {"b", "x", 0}, {"b", "x,me", 1}, {"b", "me", 1}, {"c", "me", 2}, {"b", "", 2}, {"b", "me", 3}} {
		p.notePeerSuspects(c.peer, c.silent)
		if told != c.want {
			t.Fatalf("after %s listing %q: told %d times, want %d", c.peer, c.silent, told, c.want)
		}
	}
}
