package cluster

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Timing is memberlist's failure detection (the --gossip-interval, --probe-interval,
// --probe-timeout and --suspicion-mult flags). A member that stops answering is declared gone
// after about ProbeInterval + ProbeTimeout + SuspicionMult × max(1, log10(N)) × ProbeInterval
// (N members); with memberlist's LAN defaults and three members that is 1 + 0.5 + 4 = 5.5 s, more
// when the suspect is probed late in a round. Shorter settings fail over sooner and cost more
// packets, and make a member that is merely slow (a long GC pause, an overloaded machine) look dead.
type Timing struct {
	// GossipInterval is how often a member sends its queued membership news to a few others.
	GossipInterval time.Duration
	// ProbeInterval is how often a member probes one other member.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an answer before asking others to probe too.
	ProbeTimeout time.Duration
	// SuspicionMult scales how long a suspected member has to refute before it is declared gone.
	SuspicionMult int
	// PushPullInterval is how often a member syncs its whole state with another over TCP: the
	// safety net for membership news a member missed (gossip is UDP and sent a few times only).
	PushPullInterval time.Duration
}

// DefaultPushPullInterval is ours, not memberlist's 30 s: a member that missed a peer's
// metadata change (a node becoming ready, or draining) learns it within this; seen in CI, one of
// five members missed a newcomer's "ready" for the whole 30 s a test waited. A sync is one TCP
// exchange of the member list, cheap at the sizes this runs at.
const DefaultPushPullInterval = 10 * time.Second

// DefaultTiming is memberlist's DefaultLANConfig, but for PushPullInterval.
func DefaultTiming() Timing {
	c := memberlist.DefaultLANConfig()
	return Timing{GossipInterval: c.GossipInterval, ProbeInterval: c.ProbeInterval, ProbeTimeout: c.ProbeTimeout,
		SuspicionMult: c.SuspicionMult, PushPullInterval: DefaultPushPullInterval}
}

// withDefaults fills zero fields from DefaultTiming.
func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	if t.GossipInterval == 0 {
		t.GossipInterval = d.GossipInterval
	}
	if t.ProbeInterval == 0 {
		t.ProbeInterval = d.ProbeInterval
	}
	if t.ProbeTimeout == 0 {
		t.ProbeTimeout = d.ProbeTimeout
	}
	if t.SuspicionMult == 0 {
		t.SuspicionMult = d.SuspicionMult
	}
	if t.PushPullInterval == 0 {
		t.PushPullInterval = d.PushPullInterval
	}
	return t
}

// Validate refuses settings memberlist would misbehave with (zero means the default).
func (t Timing) Validate() error {
	t = t.withDefaults()
	const floor = time.Millisecond
	switch {
	case t.GossipInterval < floor:
		return fmt.Errorf("cluster: --gossip-interval %v: must be at least %v", t.GossipInterval, floor)
	case t.ProbeInterval < 10*floor:
		return fmt.Errorf("cluster: --probe-interval %v: must be at least %v", t.ProbeInterval, 10*floor)
	case t.ProbeTimeout < floor:
		return fmt.Errorf("cluster: --probe-timeout %v: must be at least %v", t.ProbeTimeout, floor)
	case t.ProbeTimeout >= t.ProbeInterval:
		// memberlist waits for the direct ack, then for indirect ones, within one probe interval.
		return fmt.Errorf("cluster: --probe-timeout %v must be shorter than --probe-interval %v", t.ProbeTimeout, t.ProbeInterval)
	case t.SuspicionMult < 1 || t.SuspicionMult > 100:
		return fmt.Errorf("cluster: --suspicion-mult %d: must be 1 to 100", t.SuspicionMult)
	case t.PushPullInterval < 100*floor:
		return fmt.Errorf("cluster: --push-pull-interval %v: must be at least %v", t.PushPullInterval, 100*floor)
	}
	return nil
}

// apply sets t on memberlist's config.
func (t Timing) apply(c *memberlist.Config) {
	t = t.withDefaults()
	c.GossipInterval, c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = t.GossipInterval, t.ProbeInterval, t.ProbeTimeout, t.SuspicionMult
	c.PushPullInterval = t.PushPullInterval
}
