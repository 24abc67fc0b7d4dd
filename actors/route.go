package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
)

// Routing: every operation on a process (op.go) runs on its owner under this member's current
// view. On the owner it runs locally (serveOwned); elsewhere it crosses to the owner's forwarder
// as a clusterpb.Call named by the op, and the owner runs the same local path. An owner that does
// not own the process in its own view refuses with ErrNotOwner before anything is activated or
// written, so a process is only ever activated where the view of the member that activates it
// says it belongs; the caller then waits for its view to change and tries again.

// call runs o on the owner of pid, wherever it lives, and returns its reply.
//
// While membership changes a request waits instead of failing, bounded by its own deadline (ctx):
//   - the owner refuses with ErrNotOwner (views disagree for a moment; nothing was done): route
//     again shortly or as soon as this node's view changes;
//   - the owner cannot be reached (cluster.ErrUnreachable: a dead or leaving member that
//     membership has not dropped yet): wait for the next view, which names another owner once
//     failure detection has removed the dead one, and route again there;
//   - a forwarded call still running when the view moves the process to another owner is
//     abandoned and sent to the new owner (a dead owner's transport may only time out at the
//     deadline). If the abandoned call did reach the old owner, the new one has its entry (the
//     backup holds every acknowledged append) and answers ErrMessageExists, which the op's
//     duplicate (submits: resolveDuplicate) turns back into the acknowledgement when it can.
//
// Every operation is idempotent under retry: submits are deduplicated by item id, the others are
// reads or are refused twice the same way.
func call[Req, Rep any](ctx context.Context, h *Host, o *op[Req, Rep], pid ans104.ID, req Req) (Rep, error) {
	var zero Rep
	// A member that hears too few of the cluster's members answers at once: it may be on the
	// minority side of a partition, where it can neither write nor prove a read current. This is
	// the heartbeat lease, not the view (cluster/lease.go): no retry, since a view that looks thin
	// for a moment does not trip it.
	if err := h.checkQuorum(); err != nil {
		return zero, fmt.Errorf("process %s: %w", pid, err)
	}
	spawn := spawnOf(o, pid, req)
	if o.recover && (spawn == nil || spawn.ID() != pid) {
		if err := h.recover(ctx, pid); err != nil {
			return zero, err
		}
	}
	// Views are subscribed to only once a request forwards or waits: a request its owner serves at
	// once (the common case) pays nothing for it.
	var views <-chan *awcluster.View
	var unsubscribe func()
	defer func() {
		if unsubscribe != nil {
			unsubscribe()
		}
	}()
	subscribe := func() {
		if views == nil {
			views, unsubscribe = h.members.Subscribe()
		}
	}
	waited, ambiguous := false, false
	thin := 0 // attempts refused for too few members (no backup, no quorum)
	for attempt := 0; ; attempt++ {
		m, v, err := h.ownerFor(ctx, pid, spawn)
		if err != nil {
			if o.read {
				return serveOwned(ctx, h, o, pid, req) // no placement: what this member holds
			}
			return zero, err
		}
		if attempt > 0 {
			h.metrics.routeRetries.Inc()
		}
		var rep Rep
		if v.IsSelf(m) {
			rep, err = serveHere(ctx, h, o, pid, req)
		} else {
			subscribe()
			h.metrics.forwarded.Inc()
			rep, err = forwardWatching(ctx, h, o, m, pid, req, views)
		}
		var pause time.Duration
		switch {
		case err == nil:
			return rep, nil
		case errors.Is(err, errRerouted):
			ambiguous = true
		case errors.Is(err, awcluster.ErrNotOwner):
			// Views disagree for a moment while membership changes, or a hand-over fenced the
			// owner mid-append (then the new owner may hold the batch: ambiguous).
			ambiguous, pause = true, 50*time.Millisecond
		case errors.Is(err, awcluster.ErrUnreachable) && ctx.Err() == nil:
			// A call that timed out may have run; one refused at the transport did not.
			ambiguous = ambiguous || errors.Is(err, context.DeadlineExceeded)
			pause = 250 * time.Millisecond
		case errors.Is(err, replication.ErrResync) && ctx.Err() == nil:
			// The owner re-synchronised its log with the backup more often than it reschedules a
			// batch by itself (a hand-over under way): nothing was written; try again.
			ambiguous, pause = true, 50*time.Millisecond
		case errors.Is(err, replication.ErrBackupUnreachable) && ctx.Err() == nil:
			// The owner waited --replication-wait for its backup; membership may still replace it.
			// The backup may hold the refused batch: a retry can then find the item there.
			ambiguous, pause = true, 250*time.Millisecond
		case errors.Is(err, awcluster.ErrNoQuorum) && h.checkQuorum() != nil:
			// This member itself is cut off (its lease failed): no retry can help.
			return rep, err
		case (errors.Is(err, replication.ErrNoBackup) || errors.Is(err, awcluster.ErrNoQuorum)) && ctx.Err() == nil && thin < maxThinRetries:
			// Too few members in the owner's view: nothing was written. A view in the middle of a
			// change (a weight change re-gossiping metadata) can look thin for a moment, so try
			// again briefly; a cluster that really lost its members answers 503 within a second.
			thin++
			pause = 200 * time.Millisecond
		case ambiguous && o.duplicate != nil && errors.Is(err, persistence.ErrMessageExists):
			if r, ok := o.duplicate(ctx, h, pid, req); ok {
				return r, nil
			}
			return rep, err
		default:
			return rep, err
		}
		if !waited {
			waited = true
			h.metrics.routeWaits.Inc()
		}
		if pause > 0 {
			subscribe()
			select {
			case <-ctx.Done():
				return zero, fmt.Errorf("process %s: no member accepted the request in time (%v): %w", pid, err, ctx.Err())
			case <-views: // a new view: route again at once
			case <-time.After(pause):
			}
		}
	}
}

// maxThinRetries bounds the retries of a request refused for too few members (× 200 ms).
const maxThinRetries = 5

// errRerouted: a forwarded call was abandoned because the view moved the process elsewhere.
var errRerouted = errors.New("owner changed while the request was in flight")

// forwardWatching is forwardOp, given up as soon as a new view names another owner for pid (the
// old one is gone or leaving). The abandoned call's reply, if it ever comes, is dropped.
func forwardWatching[Req, Rep any](ctx context.Context, h *Host, o *op[Req, Rep], m awcluster.Member, pid ans104.ID, req Req, views <-chan *awcluster.View) (Rep, error) {
	type result struct {
		rep Rep
		err error
	}
	var zero Rep
	cctx, cancel := context.WithCancel(ctx)
	lease := time.NewTicker(100 * time.Millisecond)
	defer lease.Stop()
	done := make(chan result, 1)
	go func() {
		rep, err := forwardOp(cctx, h, o, m, pid, req)
		done <- result{rep, err}
	}()
	defer cancel()
	spawn := spawnOf(o, pid, req)
	for {
		select {
		case r := <-done:
			return r.rep, r.err
		case <-ctx.Done():
			return zero, fmt.Errorf("process %s: %s (%s) did not answer: %w", pid, m.Name, m.Address, ctx.Err())
		case <-views:
			if nm, _, err := h.ownerFor(ctx, pid, spawn); err == nil && nm.ID != m.ID {
				return zero, fmt.Errorf("process %s: %w (%s → %s)", pid, errRerouted, m.Name, nm.Name)
			}
		case <-lease.C:
			// Cut off while the call is out: answer "no quorum" now rather than when the call
			// times out (the owner, on the other side, decides whether it ran).
			if err := h.checkQuorum(); err != nil {
				return zero, fmt.Errorf("process %s: %w", pid, err)
			}
		}
	}
}

// resolveDuplicate answers a submit whose earlier attempt reached an owner that vanished or was
// fenced before replying: the item is in the log now, so its acknowledgement is what the client is
// owed. The entry is looked up here (this node may hold the log as owner or backup), else on the
// owner (opLocate); when neither finds it, the duplicate error stands.
func (h *Host) resolveDuplicate(ctx context.Context, pid ans104.ID, item *ans104.DataItem) (Ack, bool) {
	id := item.ID()
	if ack, ok := h.locate(pid, id); ok {
		return ack, true
	}
	if m, v, err := h.ownerFor(ctx, pid, nil); err == nil && !v.IsSelf(m) {
		if ack, err := forwardOp(ctx, h, opLocate, m, pid, id); err == nil {
			return ack, true
		}
	}
	return Ack{}, false
}

// locate finds message id in pid's log in the local store.
func (h *Host) locate(pid, id ans104.ID) (Ack, bool) {
	locs, err := h.deps.Store.ByMessageID(persistence.ID(id))
	if err != nil {
		return Ack{}, false
	}
	for _, l := range locs {
		if l.Process != persistence.ID(pid) {
			continue
		}
		e, err := h.deps.Store.Entry(l.Process, l.Nonce)
		if err != nil {
			return Ack{}, false
		}
		return Ack{ID: id, Nonce: e.Nonce, Timestamp: e.Timestamp}, true
	}
	return Ack{}, false
}

// followViews asks the activations of processes this node no longer owns to passivate, on every
// new view: they get no more requests (serveOwned refuses them), so they should not linger with
// their module instances. Handing their data to the new owner is the hand-off's job, not this.
func (h *Host) followViews(views <-chan *awcluster.View, stop <-chan struct{}) {
	defer h.sweepWG.Done()
	for {
		select {
		case <-stop:
			return
		case v := <-views:
			for identity, apid := range h.lookup.live() {
				pid, err := ans104.ParseID(identity)
				if err != nil {
					continue
				}
				want, ok := h.labels.get(pid)
				if !ok {
					continue // unknown labels: leave it to the idle sweeper
				}
				if m, ok := v.Owner(identity, want); !ok || !v.IsSelf(m) {
					h.system.Root.Send(apid, &idleCheck{})
				}
			}
		}
	}
}
