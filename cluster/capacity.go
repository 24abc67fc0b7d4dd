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
