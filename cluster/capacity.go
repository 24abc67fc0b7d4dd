package cluster

import (
	"errors"
	"fmt"
	"time"
)

// SetCapacity changes this node's placement weight while it runs: the new weight goes into the
// node's memberlist metadata (memberlist's UpdateNode gossips it; timeout bounds the wait for the
// broadcast) and into this node's own view at once. Every member then places processes by the new
// weight, and rebalancing (cluster/replication) hands over the ones that move. Capacity 0 takes the
// node out of placement while it stays a member: nothing is placed on it, it still forwards, which
// is how a node drains before it leaves (node.Drain).
func (p *Provider) SetCapacity(w uint32, timeout time.Duration) error {
	p.mu.Lock()
	if p.ml == nil || p.shutdown {
		p.mu.Unlock()
		return errors.New("cluster: not a running member")
	}
	old := p.cfg.Capacity
	p.cfg.Capacity = w
	mb, err := encodeMeta(p.metaOf(p.self.Address))
	if err != nil {
		p.cfg.Capacity = old
		p.mu.Unlock()
		return err
	}
	p.metaB, p.self.Capacity = mb, w
	ml := p.ml
	p.mu.Unlock()
	err = ml.UpdateNode(timeout)
	p.poke()
	if err != nil {
		return fmt.Errorf("cluster: capacity %d is set here but its broadcast did not finish: %w", w, err)
	}
	p.log.Info("capacity changed", "from", old, "to", w)
	return nil
}

// Capacity is this node's current placement weight.
func (p *Provider) Capacity() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Capacity
}

// WithoutSelf is v with this node's capacity 0: the placement once this node drains (SetCapacity
// 0), computed from the same members rather than waiting for the view, as the successors compute
// it as soon as the metadata reaches them.
func WithoutSelf(v *View) *View {
	out := *v
	out.Members = make([]Member, len(v.Members))
	for i, m := range v.Members {
		if m.ID == v.Self.ID {
			m.Capacity = 0
		}
		out.Members[i] = m
	}
	out.Self.Capacity = 0
	return &out
}
