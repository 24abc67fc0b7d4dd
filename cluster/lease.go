package cluster

import (
	"bytes"
	"strings"
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
// Why this is enough for reads: the other side takes a process over only after it has not heard
// the cut-off member for the failure timeout (failure.go; at least 1.5 leases, 2 by default), or,
// with that signal off, after memberlist has declared it dead and the death grace has passed
// (Timing: seconds), so a member whose lease still holds cannot yet have been replaced as owner.
// Writes do not rely on the lease: they need the backup's fsync, which a fenced backup refuses.

// DefaultLease is how long a member counts a peer it heard from as present. Measured with the
// partition test (node/partition_test.go): the cut-off side's first "no quorum" answer came
// 0.8–1.0 s after the cut; the test suite's load (child nodes with -race on two cores) never let a
// heartbeat gap reach it on the healthy side.
const DefaultLease = 800 * time.Millisecond

// Heartbeats are memberlist user messages (the only kind this package sends). heartbeatTag is
// followed by the sender's placement name; identifiedTag by its member id (this incarnation), a
// zero byte and its name, and, when the sender has taken members out of its view for silence, a
// zero byte and their ids separated by commas (so that a member taken for dead while it lives
// learns it at once: failure.go). A member sends both: the name-only form for members of an older build,
// the identified one for the failure signal (failure.go), which must tell an incarnation from the
// next one under the same name.
const (
	heartbeatTag  byte = 'h'
	identifiedTag byte = 'i'
)

// heartbeats remembers when each member was last heard: by placement name (the quorum lease) and
// by member id (the failure signal).
type heartbeats struct {
	mu    sync.Mutex
	heard map[string]time.Time
	byID  map[string]time.Time
	first map[string]time.Time // by member id: when first heard
}

func (h *heartbeats) note(name, id string, at time.Time) {
	h.mu.Lock()
	if h.heard == nil {
		h.heard, h.byID, h.first = map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	}
	h.heard[name] = at
	if id != "" {
		h.byID[id] = at
		if _, ok := h.first[id]; !ok {
			h.first[id] = at
		}
	}
	h.mu.Unlock()
}

func (h *heartbeats) last(name string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heard[name]
}

// lastID is when member id (one incarnation) was last heard; zero if never.
func (h *heartbeats) lastID(id string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID[id]
}

// firstID is when member id was first heard; zero if never.
func (h *heartbeats) firstID(id string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first[id]
}

// forgetIDs drops the ids keep rejects (members memberlist no longer lists).
func (h *heartbeats) forgetIDs(keep func(id string, heard time.Time) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, at := range h.byID {
		if !keep(id, at) {
			delete(h.byID, id)
			delete(h.first, id)
		}
	}
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

// beat sends a heartbeat to every other memberlist member each lease/5 until Shutdown, and
// after each round looks for members gone silent (the failure signal, failure.go).
func (p *Provider) beat() {
	defer close(p.beatDone)
	interval := p.Lease() / 5
	t := time.NewTicker(interval)
	defer t.Stop()
	msg := append([]byte{heartbeatTag}, p.cfg.Name...)
	p.mu.Lock()
	idBase := append(append(append([]byte{identifiedTag}, p.self.ID...), 0), p.cfg.Name...)
	p.mu.Unlock()
	last := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		p.checkSilence(now, now.Sub(last), interval)
		last = now
		p.mu.Lock()
		ml, self := p.ml, p.self.ID
		idMsg := idBase
		if len(p.silent) > 0 {
			ids := make([]string, 0, len(p.silent))
			for id := range p.silent {
				ids = append(ids, id)
			}
			idMsg = append(append(append([]byte(nil), idBase...), 0), strings.Join(ids, ",")...)
		}
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
			to := memberlist.Address{Addr: n.Addr, Name: n.Name}
			_ = ml.SendToAddress(to, msg)
			_ = ml.SendToAddress(to, idMsg)
		}
	}
}

// noteHeartbeat records a heartbeat received through memberlist (NotifyMsg).
func (p *Provider) noteHeartbeat(b []byte) {
	if len(b) < 2 || len(b) > 64<<10 {
		return
	}
	switch b[0] {
	case heartbeatTag:
		if len(b) <= 1+128 {
			p.beats.note(string(b[1:]), "", time.Now())
		}
	case identifiedTag:
		id, rest, ok := bytes.Cut(b[1:], []byte{0})
		name, silent, _ := bytes.Cut(rest, []byte{0})
		if ok && len(id) > 0 && len(id) <= 128 && len(name) > 0 && len(name) <= 128 {
			p.beats.note(string(name), string(id), time.Now())
			p.notePeerSuspects(string(id), string(silent))
		}
	}
}

// Name is this member's placement name (the node key's wallet address).
func (p *Provider) Name() string { return p.cfg.Name }
