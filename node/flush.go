package node

import (
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
