package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Run starts a node and keeps it running until ctx ends, then drains it (cfg.DrainTimeout: a
// cluster member hands its processes over) and closes it (passivating every process). When the cluster watchdog fences the node (Wait returns ErrFenced: its member id was
// removed and is blocked for ever), Run closes it and starts it again: a new member id, the same
// data folder, and the same HTTP and memberlist ports (the ones it got, when cfg asked for any
// free port), so clients and the peers that remember its gossip address find it again. The
// remembered peers are in the data folder (<data>/cluster-peers.json), so the new incarnation
// rejoins them even when it is a seed started without --join. started is called with every
// incarnation, once it serves. Run returns the error of a node that stopped by itself, or of a
// restart that kept failing for restartTimeout.
func Run(ctx context.Context, cfg Config, started func(*Node)) error {
	n, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	for {
		if started != nil {
			started(n)
		}
		var werr error
		select {
		case <-ctx.Done():
		case werr = <-waitChan(n):
		}
		if werr == nil || !errors.Is(werr, ErrFenced) {
			if ctx.Err() == nil && werr != nil {
				_ = closeWithin(n, 30*time.Second)
				return werr
			}
			if cfg.DrainTimeout > 0 && n.provider != nil {
				// Graceful leave: hand every owned process to its successor before leaving.
				n.log.Info("shutting down: draining (handing processes over)", "timeout", cfg.DrainTimeout)
				dctx, dcancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
				if err := n.Drain(dctx); err != nil {
					n.log.Warn("drain incomplete", "err", err)
				}
				dcancel()
			}
			n.log.Info("shutting down: passivating processes")
			return closeWithin(n, 30*time.Second)
		}
		n.log.Error("restarting with a new cluster identity", "err", werr)
		cfg = pinPorts(cfg, n)
		_ = closeWithin(n, 30*time.Second)
		if n, err = restart(ctx, cfg); err != nil {
			return err
		}
	}
}

// restartTimeout bounds the attempts to start again after a fence (a port the old incarnation
// held may take a moment to be free).
const restartTimeout = 30 * time.Second

func restart(ctx context.Context, cfg Config) (*Node, error) {
	deadline := time.Now().Add(restartTimeout)
	for {
		n, err := Start(ctx, cfg)
		if err == nil {
			return n, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("restart after the cluster fenced this node: %w", err)
		}
		cfg.Logger.Warn("restart after fencing failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// pinPorts keeps the hosts cfg was given and replaces port 0 with the ports n got.
func pinPorts(cfg Config, n *Node) Config {
	pin := func(want, got string) string {
		h, p, err := net.SplitHostPort(want)
		_, gp, gerr := net.SplitHostPort(got)
		if err != nil || gerr != nil || p != "0" {
			return want
		}
		return net.JoinHostPort(h, gp)
	}
	cfg.Listen = pin(cfg.Listen, n.Addr())
	if n.provider != nil {
		cfg.Cluster.Listen = pin(cfg.Cluster.Listen, n.provider.GossipAddr())
	}
	return cfg
}

func waitChan(n *Node) <-chan error {
	c := make(chan error, 1)
	go func() { c <- n.Wait() }()
	return c
}

func closeWithin(n *Node, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return n.Close(ctx)
}
