package cluster

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// The quorum lease: how a member learns, within a second, that it can no longer hear a majority.
//
// memberlist's failure detector takes seconds (a probe interval, a probe timeout, then suspicion
// rounds) to declare a member dead, and until it does, a member cut off from the rest still sees
// them in its view. Counting the view alone, such a member would keep answering reads from a log
// the other side may be extending, and refuse writes only when its backup times out. So every
// member sends every other one a small heartbeat over memberlist's packet transport (encrypted and
// authenticated with the cluster key, like its gossip) every LeaseInterval, and counts a known
// member as present only while it has heard from it within the lease. Losing the majority is then
// noticed one lease after the cut, whatever the failure detector's timings.
//
// Why this is enough for reads: the other side takes a process over only after memberlist has
// declared the cut-off member dead and the death grace has passed (Timing: seconds), so a member
// whose lease still holds cannot yet have been replaced as owner. Writes do not rely on the lease:
// they need the backup's fsync, which a fenced backup refuses.

// DefaultLease is how long a member counts a peer it heard from as present. Measured with the
// partition test (node/partition_test.go): the cut-off side's first "no quorum" answer came
// 0.8–1.0 s after the cut; the test suite's load (child nodes with -race on two cores) never let a
// heartbeat gap reach it on the healthy side.
const DefaultLease = 800 * time.Millisecond

// heartbeatTag marks a heartbeat among memberlist user messages (the only kind this package sends).
const heartbeatTag byte = 'h'

// heartbeats remembers when each member (by placement name) was last heard.
type heartbeats struct {
	mu    sync.Mutex
	heard map[string]time.Time
}

func (h *heartbeats) note(name string, at time.Time) {
	h.mu.Lock()
	if h.heard == nil {
		h.heard = map[string]time.Time{}
	}
	h.heard[name] = at
	h.mu.Unlock()
}

func (h *heartbeats) last(name string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heard[name]
}

// Lease is how long a heard member counts as present (Config.Lease with its default).
func (p *Provider) Lease() time.Duration {
	if p.cfg.Lease > 0 {
		return p.cfg.Lease
	}
	return DefaultLease
}

// HeardWithin reports whether member name (its placement Name) was heard from within d; this node
// always hears itself.
func (p *Provider) HeardWithin(name string, d time.Duration) bool {
	if name == p.cfg.Name {
		return true
	}
	at := p.beats.last(name)
	return !at.IsZero() && time.Since(at) <= d
}

// Fresh reports whether member name counts as present under the lease.
func (p *Provider) Fresh(name string) bool { return p.HeardWithin(name, p.Lease()) }

// beat sends a heartbeat to every other memberlist member each lease/5 until Shutdown.
func (p *Provider) beat() {
	defer close(p.beatDone)
	t := time.NewTicker(p.Lease() / 5)
	defer t.Stop()
	msg := append([]byte{heartbeatTag}, p.cfg.Name...)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		ml, self := p.ml, p.self.ID
		p.mu.Unlock()
		if ml == nil {
			continue
		}
		// Addresses come from our own copy of the nodes table: memberlist's Members() hands out
		// pointers into its state, which its gossip rewrites under its own lock (a data race
		// when SendBestEffort reads them here).
		for _, n := range p.nodeList() {
			if n.Name == self {
				continue
			}
			// Best effort (UDP): a lost heartbeat is covered by the next four within the lease.
			_ = ml.SendToAddress(memberlist.Address{Addr: n.Addr, Name: n.Name}, msg)
		}
	}
}

// noteHeartbeat records a heartbeat received through memberlist (NotifyMsg).
func (p *Provider) noteHeartbeat(b []byte) {
	if len(b) < 2 || b[0] != heartbeatTag || len(b) > 1+128 {
		return
	}
	p.beats.note(string(b[1:]), time.Now())
}

// Name is this member's placement name (the node key's wallet address).
func (p *Provider) Name() string { return p.cfg.Name }
