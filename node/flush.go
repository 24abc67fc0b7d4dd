package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/flush"
)

// startFlush starts the Arweave flusher when a gateway or bundler is configured, and says in the
// log either way: a node that flushes nothing must not look as if it did.
func (n *Node) startFlush(reg prometheus.Registerer) error {
	if !n.cfg.Flush.Enabled() {
		n.log.Info("Arweave flush off: no --gateway or --bundler, logs and checkpoints stay on this node only")
		return nil
	}
	f, err := flush.New(n.cfg.Flush, n.store, n.sched, reg, n.log)
	if err != nil {
		return err
	}
	n.flush = f
	f.Start()
	n.log.Info("Arweave flush on", "path", f.Path(), "max_bytes", n.cfg.Flush.MaxBytes, "interval", n.cfg.Flush.Interval)
	return nil
}

// Flusher is the node's Arweave flusher, nil when flushing is off.
func (n *Node) Flusher() *flush.Flusher { return n.flush }

// drainFlush uploads what is still waiting, within DrainTimeout (and ctx), then stops the flusher:
// a graceful stop leaves as little as it can off Arweave. What is left is uploaded by the next start.
func (n *Node) drainFlush(ctx context.Context) {
	if n.cfg.DrainTimeout <= 0 {
		n.flush.Stop()
		return
	}
	dctx, cancel := context.WithTimeout(ctx, n.cfg.DrainTimeout)
	defer cancel()
	start := time.Now()
	left, err := n.flush.Drain(dctx)
	if left > 0 || err != nil {
		n.log.Warn("stopping with log entries not on Arweave yet: the next start uploads them", "entries", left, "err", err, "waited", time.Since(start).Round(time.Millisecond))
	} else {
		n.log.Info("flush drained", "took", time.Since(start).Round(time.Millisecond))
	}
}

// FlushHealth is the flusher's health for /healthz; ok when flushing is off.
func (b *backend) FlushHealth() (any, bool, bool) {
	if b.n.flush == nil {
		return nil, false, false
	}
	h := b.n.flush.Health()
	return h, h.Degraded, true
}
