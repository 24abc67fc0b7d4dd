package node

import (
	"context"
	"errors"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
)

// Drain is the first half of a graceful leave (SIGTERM; Close is the second half, which leaves
// memberlist so peers drop this member at once instead of after failure detection):
//
//  1. the node sets its capacity to 0 in its memberlist metadata: every member, this one included,
//     stops placing processes on it. Requests for its processes are then routed to their
//     successors (placement without this node); a request that reaches this node's activations
//     meanwhile is refused with ErrNotOwner and routed again by its sender (actors.Host.request),
//     so it waits rather than fails;
//  2. it hands every process it owned to its successor (replication.Replicator.Drain: the
//     hand-over, in batches, retrying failed ones until ctx ends, the --drain-timeout);
//  3. it returns. Whatever was not handed over by then is left to the backups: a backup already
//     holds every acknowledged entry and becomes owner when this member leaves.
//
// Drain does nothing on a node without cluster membership.
func (n *Node) Drain(ctx context.Context) error {
	if n.provider == nil || n.repl == nil {
		return nil
	}
	start := time.Now()
	// The background rebalancer stops: from now on this node only hands off, and doing both
	// would hand every process over twice.
	if n.rebalanceStop != nil {
		close(n.rebalanceStop)
		<-n.rebalanceDone
		n.rebalanceStop = nil
	}
	before := n.host.Members().View()
	if err := n.provider.SetCapacity(0, 5*time.Second); err != nil {
		n.log.Warn("drain: capacity 0 not yet gossiped everywhere; handing over anyway", "err", err)
	}
	if n.quorum != nil {
		// A graceful leave: the others stop counting this node in their quorum (cluster.Quorum), so
		// a cluster that shrinks by leaves keeps its majority. A restart adds it back.
		fctx, fcancel := context.WithTimeout(ctx, 2*time.Second) // an unreachable member must not hold the leave up
		res := n.broadcastForget(fctx, []string{before.Self.Name})
		fcancel()
		for m, o := range res.Members {
			if o.Error != "" {
				n.log.Warn("drain: a member could not be asked to forget this node; it counts it until it is forgotten", "member", m, "err", o.Error)
			}
		}
	}
	// The placement without this node (cluster.WithoutSelf); the hand-over is the replicator's.
	from, to := n.placementOf(before), n.placementOf(awcluster.WithoutSelf(before))
	res, err := n.repl.Drain(ctx, from, to, n.log)
	n.drained.Store(int64(res.HandedOff))
	if err != nil {
		n.log.Warn("drain: time is up; the rest is left to the backups", "handed_off", res.HandedOff, "of", res.Owned,
			"took", time.Since(start).Round(time.Millisecond))
		return err
	}
	n.log.Info("drained", "handed_off", res.HandedOff, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// SetCapacity changes this node's placement weight at run time (memberlist metadata); the
// rebalancing that follows every membership change moves the processes whose placement changed.
func (n *Node) SetCapacity(w uint32) error {
	if n.provider == nil {
		return errors.New("capacity: this node is not a cluster member")
	}
	return n.provider.SetCapacity(w, 5*time.Second)
}
