package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// Drain is the first half of a graceful leave (SIGTERM; Close is the second half, which leaves
// memberlist so peers drop this member at once instead of after failure detection):
//
//  1. the node sets its capacity to 0 in its memberlist metadata: every member, this one included,
//     stops placing processes on it. Requests for its processes are then routed to their
//     successors (placement without this node); a request that reaches this node's activations
//     meanwhile is refused with ErrNotOwner and routed again by its sender (actors.Host.request),
//     so it waits rather than fails;
//  2. it hands every process it owned to its successor with the existing hand-over (Handover →
//     takeOver on the successor: fence this node with a higher epoch, pull the log tail and the
//     latest checkpoint, then seed the successor's new backup), in batches, logging progress,
//     retrying failed hand-overs until ctx ends (the --drain-timeout);
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
	// The placement without this node, computed from the same members rather than waiting for the
	// view: the successors compute the same one as soon as the metadata reaches them.
	after := withoutSelf(before)
	from, to := n.placementOf(before), n.placementOf(after)
	var pids []persistence.ID
	alone := 0 // owned processes no other member may hold (alone, or labels): they stay here
	_ = n.store.ProcessIDs(func(id persistence.ID) bool {
		if from(id).Owner() == n.RemoteAddress() {
			if to(id).Owner() == "" {
				alone++
			} else {
				pids = append(pids, id)
			}
		}
		return true
	})
	n.log.Info("draining: handing processes to their successors", "processes", len(pids), "without_successor", alone)
	handed, failed := 0, []persistence.ID(nil)
	const batch = 64
	lastLog := time.Now()
	for i := 0; i < len(pids); i += batch {
		res := n.repl.Rebalance(ctx, from, to, 8, pids[i:min(i+batch, len(pids))])
		handed += res.HandedOff - res.Failed
		failed = append(failed, res.FailedIDs...)
		if time.Since(lastLog) > 2*time.Second {
			lastLog = time.Now()
			n.log.Info("draining", "handed_off", handed, "of", len(pids), "failed_so_far", len(failed), "elapsed", time.Since(start).Round(time.Millisecond))
		}
		if ctx.Err() != nil {
			break
		}
	}
	for len(failed) > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
		res := n.repl.Rebalance(ctx, from, to, 8, failed)
		handed += res.HandedOff - res.Failed
		failed = res.FailedIDs
	}
	n.drained.Store(int64(handed))
	if len(failed) > 0 || handed < len(pids) {
		n.log.Warn("drain: time is up; the rest is left to the backups", "handed_off", handed, "of", len(pids),
			"took", time.Since(start).Round(time.Millisecond))
		return fmt.Errorf("drain: %d of %d processes handed over before the deadline: %w", handed, len(pids), errors.Join(ctx.Err(), errDrainIncomplete))
	}
	n.log.Info("drained", "handed_off", handed, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

var errDrainIncomplete = errors.New("drain incomplete")

// withoutSelf is v with this node's capacity 0 (out of placement).
func withoutSelf(v *awcluster.View) *awcluster.View {
	out := *v
	out.Members = make([]awcluster.Member, len(v.Members))
	for i, m := range v.Members {
		if m.ID == v.Self.ID {
			m.Capacity = 0
		}
		out.Members[i] = m
	}
	out.Self.Capacity = 0
	return &out
}

// SetCapacity changes this node's placement weight at run time (memberlist metadata); the
// rebalancing that follows every membership change moves the processes whose placement changed.
func (n *Node) SetCapacity(w uint32) error {
	if n.provider == nil {
		return errors.New("capacity: this node is not a cluster member")
	}
	return n.provider.SetCapacity(w, 5*time.Second)
}
