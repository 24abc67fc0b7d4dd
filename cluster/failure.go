package cluster

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The failure signal: how the survivors of a crashed member move its processes within seconds.
//
// memberlist declares a silent member dead only after a probe interval, a probe timeout and its
// suspicion rounds (5.5 s with its LAN defaults and three members), and the provider then waits
// its death grace: kill -9 to serving again took 7-10 s. Every member already hears every other
// one every lease/5 (the quorum lease's heartbeats, lease.go), so a member that is not heard for
// FailureTimeout (default two leases) is taken out of this member's view, and so out of placement
// and routing, at once: its processes' backups take them over (the ordinary hand-over, fenced by
// epochs). Nothing else is done to it: it stays in memberlist and in Proto.Actor's member list
// (which would block its id for ever), it is not tombstoned, and as soon as it is heard again (the
// same incarnation: heartbeats carry the member id) it is back in the view and its processes move
// back. A member that really died is removed for good later by memberlist's own detection.
//
// Safety does not rest on this judgement, which can be wrong (a member paused, or cut off one way):
// a new owner fences the backup with a higher epoch before it writes (docs/design.md invariant 2),
// and a member that cannot hear a majority refuses writes and reads within a lease (invariant 10).
// Reads need FailureTimeout above the lease: a member cut off from the others stops serving reads
// one lease after it last heard them, and the others take its processes over only FailureTimeout
// after they last heard it (Validate asks for at least 1.5 leases; the default is 2).
//
// A wrong judgement costs two hand-overs per process (away and back), so each one doubles the
// timeout for that member for a while (timeoutFor). They are counted: a member
// taken out for silence that is heard again under the same id had not crashed, a false suspicion
// (Provider.FailureStats, the node's actorweave_cluster_false_suspicions_total, a Warn log line, and
// a line in the file named by SuspicionLogEnv when it is set).

// SuspicionLogEnv names an environment variable: when set, every member appends one line per
// suspicion and per false suspicion to that file (for counting them over a test run of many nodes).
const SuspicionLogEnv = "ACTORWEAVE_SUSPICION_LOG"

// DefaultFailureTimeout is FailureTimeout for a lease of DefaultLease.
const DefaultFailureTimeout = 2 * DefaultLease

// FailureTimeout is how long a member may go unheard before this member takes it out of its
// view (Config.FailureTimeout: 0 means two leases; negative means never: memberlist alone).
func (p *Provider) FailureTimeout() time.Duration {
	switch {
	case p.cfg.FailureTimeout < 0:
		return 0
	case p.cfg.FailureTimeout == 0:
		return 2 * p.Lease()
	}
	return p.cfg.FailureTimeout
}

// ValidateFailureTimeout refuses a failure timeout that would let the survivors take a cut-off
// member's processes over while it still serves reads on its lease (0 and negative are accepted:
// the default, and off).
func ValidateFailureTimeout(timeout, lease time.Duration) error {
	if lease <= 0 {
		lease = DefaultLease
	}
	if timeout > 0 && timeout < lease*3/2 {
		return fmt.Errorf("cluster: --failure-timeout %v: must be at least 1.5 × --quorum-lease (%v), or 0 to leave failure detection to memberlist alone", timeout, lease*3/2)
	}
	return nil
}

// FailureStats counts the failure signal's judgements since start.
type FailureStats struct {
	// Suspected counts members taken out of the view for silence.
	Suspected int64
	// FalseSuspicions counts those heard again under the same id: they had not crashed.
	FalseSuspicions int64
	// Silent is how many members are out of the view for silence now.
	Silent int
}

// FailureStats returns the failure signal's counters.
func (p *Provider) FailureStats() FailureStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return FailureStats{Suspected: p.suspected, FalseSuspicions: p.falseSuspicions, Silent: len(p.silent)}
}

// checkSilence runs after every heartbeat round (lease/5): it takes members unheard for the
// failure timeout out of the view, and puts back those heard again. gap is the time since the
// previous round: a round much later than its interval means this member itself did not run (a
// stopped process, a starved machine), and then its peers' silence says nothing until they have
// had a failure timeout to be heard again.
func (p *Provider) checkSilence(now time.Time, gap, interval time.Duration) {
	timeout := p.FailureTimeout()
	if timeout <= 0 {
		return
	}
	type event struct {
		what, id, name string
		silent         time.Duration
	}
	var events []event
	p.mu.Lock()
	stale := false // this member may have been taken for dead by its peers (onStale)
	if gap > max(3*interval, timeout/2) {
		p.selfPausedAt = now
		// Its peers heard nothing from it for about gap: with a heartbeat lost before, that may
		// have been a failure timeout.
		stale = gap > timeout-interval
		p.log.Warn("this member did not run for a while: its peers' silence is not judged for a failure timeout", "gap", gap.Round(time.Millisecond))
	}
	names := map[string]string{}
	for id, n := range p.nodes {
		if m, err := decodeMeta(n.Meta); err == nil {
			names[id] = m.Name
		}
	}
	for id, d := range p.dying {
		names[id] = d.m.Name
	}
	changed := false
	for id, name := range names {
		if id == p.self.ID {
			continue
		}
		heard := p.beats.lastID(id)
		if heard.IsZero() {
			continue // never heard under this id (a member of an older build): memberlist alone
		}
		if since, out := p.silent[id]; out {
			if heard.After(since) {
				delete(p.silent, id)
				p.falseSuspicions++
				p.wrongly[name] = append(p.wrongly[name], now)
				changed, stale = true, true
				events = append(events, event{"false-suspicion", id, name, heard.Sub(since)})
			}
			continue
		}
		if _, gone := p.removed[id]; gone {
			continue
		}
		young := now.Sub(p.beats.firstID(id)) < newcomerPeriod
		if silent := now.Sub(later(heard, p.selfPausedAt)); silent > p.timeoutFor(name, timeout, young, now) {
			p.silent[id] = now
			p.suspected++
			changed = true
			events = append(events, event{"suspected", id, name, silent})
		}
	}
	// Ids memberlist no longer lists (declared dead and removed, or left) are done with.
	for id := range p.silent {
		if _, listed := names[id]; !listed {
			delete(p.silent, id)
		}
	}
	p.beats.forgetIDs(func(id string, heard time.Time) bool {
		_, listed := names[id]
		return listed || now.Sub(heard) < timeout
	})
	self, onStale := p.cfg.Name, p.onStale
	p.mu.Unlock()
	if stale && onStale != nil {
		// Before the view that puts a member back is published: whatever this member believed
		// it owned in sync with its backups may have been taken over meanwhile.
		onStale()
	}
	for _, e := range events {
		if e.what == "suspected" {
			p.log.Warn("member not heard within the failure timeout: out of this member's view (its processes move to their backups) until it is heard again",
				"member", e.name, "id", e.id, "silent", e.silent.Round(time.Millisecond))
		} else {
			p.log.Warn("false suspicion: a member taken out for silence is heard again under the same id (it had not crashed); back in the view",
				"member", e.name, "id", e.id, "out_for", e.silent.Round(time.Millisecond))
		}
		p.suspicionLog(now, e.what, self, e.name, e.id, e.silent)
	}
	if changed {
		p.poke()
	}
}

// OnStale sets f to be called, on a heartbeat goroutine, when this member may have been taken
// for dead by its peers while it still believed it owned processes: it did not run for about a
// failure timeout, a peer's heartbeat says it took this member out, or it hears again a member it
// had taken out for silence (both sides of a cut that healed before memberlist removed anyone). The node forgets which processes it had in
// sync with their backups, so that its next read or write of each runs the hand-over again
// (fence, pull what the backup gained) instead of answering from a log its peers moved past.
func (p *Provider) OnStale(f func()) {
	p.mu.Lock()
	p.onStale = f
	p.mu.Unlock()
}

// falseSuspicionMemory is how long a false suspicion of a member lengthens its failure timeout.
const falseSuspicionMemory = 10 * time.Minute

// newcomerPeriod is how long after its first heartbeat a member's failure timeout is doubled: a
// node that has just started (or restarted) compiles modules and takes over its share of
// processes, and under the test suite's load a joining member's heartbeats were seen to stop for
// 2.2 s while it did (cluster/clustertest TestJoinUnderLoadNoDeadLetters).
const newcomerPeriod = 30 * time.Second

// timeoutFor is member name's failure timeout: timeout, doubled for each false suspicion of it in
// the last falseSuspicionMemory, up to four times, and doubled once for a member first heard
// less than newcomerPeriod ago (young), up to four times in all. A member that was taken for dead while it lived
// (an overloaded machine starving its heartbeats, say) is likely to be again, and every false
// suspicion costs two hand-overs of its processes, which load the machine further; a member that
// really crashes then fails over in up to four failure timeouts, still sooner than memberlist
// alone. p.mu is held.
func (p *Provider) timeoutFor(name string, timeout time.Duration, young bool, now time.Time) time.Duration {
	recent := p.wrongly[name][:0]
	for _, at := range p.wrongly[name] {
		if now.Sub(at) < falseSuspicionMemory {
			recent = append(recent, at)
		}
	}
	if len(recent) == 0 {
		delete(p.wrongly, name)
	} else {
		p.wrongly[name] = recent
	}
	doublings := len(recent)
	if young {
		doublings++
	}
	return timeout << min(doublings, 2)
}

// notePeerSuspects reads the ids peer says it has taken out for silence (its heartbeat): when
// this member's own id is newly among them, the peer may be taking over processes this member
// believes it owns, so it is told (onStale) at once, before the peer's hand-over can complete.
func (p *Provider) notePeerSuspects(peer, silent string) {
	p.mu.Lock()
	me := silent != "" && slices.Contains(strings.Split(silent, ","), p.self.ID)
	was := p.suspectedBy[peer]
	if me {
		p.suspectedBy[peer] = true
	} else if was {
		delete(p.suspectedBy, peer)
	}
	onStale := p.onStale
	p.mu.Unlock()
	if me && !was {
		p.log.Warn("a peer has taken this member for dead (it did not hear it within the failure timeout)", "peer", peer)
		if onStale != nil {
			onStale()
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// suspicionLog appends one line to the file SuspicionLogEnv names, if any.
func (p *Provider) suspicionLog(at time.Time, what, by, name, id string, d time.Duration) {
	path := os.Getenv(SuspicionLogEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	// One write of one line: appends from many processes do not interleave.
	_, _ = fmt.Fprintf(f, "%s %s by=%s pid=%d member=%s id=%s after=%v\n", at.UTC().Format(time.RFC3339Nano), what, by, os.Getpid(), name, id, d.Round(time.Millisecond))
	f.Close()
}
