package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
)

// Routing: every request to a process goes to its owner under this node's current view. On the
// owner it reaches the grain through the lookup; elsewhere it crosses to the owner's forwarder as
// a clusterpb.Call (op = the grain request's name) and the owner runs the same local path. An
// owner that does not own the process in its own view refuses with ErrNotOwner before anything
// is activated or written, so a process is only ever activated where the view of the node that
// activates it says it belongs; the caller then waits for its view to change and tries again.

// Grain ops on the wire.
const (
	opSubmit  = "grain.submit"
	opAssign  = "grain.assign"
	opResult  = "grain.result"
	opDryRun  = "grain.dryrun"
	opState   = "grain.state"
	opMonitor = "grain.monitor"
	// opLocate finds a message in a process's log on the owner (AssignRequest → Ack); the router
	// uses it to answer a retried submit whose first attempt was written but not acknowledged.
	opLocate = "grain.locate"
)

// request sends msg to the grain of pid, wherever it lives, and waits for its reply.
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
//     backup holds every acknowledged append) and answers ErrMessageExists, which
//     resolveDuplicate turns back into the acknowledgement when it can.
//
// Every route is idempotent under retry: submits are deduplicated by item id, the other ops are
// reads or are refused twice the same way.
func (h *Host) request(ctx context.Context, pid ans104.ID, msg any) (any, error) {
	// A member that hears too few of the cluster's members answers at once: it may be on the
	// minority side of a partition, where it can neither write nor prove a read current. This is
	// the heartbeat lease, not the view (cluster/lease.go): no retry, since a view that looks thin
	// for a moment does not trip it.
	if err := h.checkQuorum(); err != nil {
		return nil, fmt.Errorf("process %s: %w", pid, err)
	}
	views, cancel := h.members.Subscribe()
	defer cancel()
	waited, ambiguous := false, false
	thin := 0 // attempts refused for too few members (no backup, no quorum)
	for attempt := 0; ; attempt++ {
		m, v, err := h.ownerFor(ctx, pid, msg)
		if err != nil {
			return nil, err
		}
		if attempt > 0 {
			h.metrics.routeRetries.Inc()
		}
		var res any
		if v.IsSelf(m) {
			res, err = h.requestLocal(ctx, pid, msg)
		} else {
			h.metrics.forwarded.Inc()
			res, err = h.forwardWatching(ctx, m, pid, msg, views)
		}
		// The grain's own refusals travel inside its reply when it runs here.
		cause := err
		if cause == nil {
			cause = replyError(res)
		}
		var pause time.Duration
		switch {
		case errors.Is(err, errRerouted):
			ambiguous = true
		case errors.Is(cause, awcluster.ErrNotOwner):
			// Views disagree for a moment while membership changes, or a hand-over fenced the
			// owner mid-append (then the new owner may hold the batch: ambiguous).
			ambiguous, pause = true, 50*time.Millisecond
		case errors.Is(err, awcluster.ErrUnreachable) && ctx.Err() == nil:
			// A call that timed out may have run; one refused at the transport did not.
			ambiguous = ambiguous || errors.Is(err, context.DeadlineExceeded)
			pause = 250 * time.Millisecond
		case errors.Is(cause, replication.ErrResync) && ctx.Err() == nil:
			// The owner re-synchronised its log with the backup more often than it reschedules a
			// batch by itself (a hand-over under way): nothing was written; try again.
			ambiguous, pause = true, 50*time.Millisecond
		case errors.Is(cause, replication.ErrBackupUnreachable) && ctx.Err() == nil:
			// The owner waited --replication-wait for its backup; membership may still replace it.
			// The backup may hold the refused batch: a retry can then find the item there.
			ambiguous, pause = true, 250*time.Millisecond
		case errors.Is(cause, awcluster.ErrNoQuorum) && h.checkQuorum() != nil:
			// This member itself is cut off (its lease failed): no retry can help.
			return res, err
		case (errors.Is(cause, replication.ErrNoBackup) || errors.Is(cause, awcluster.ErrNoQuorum)) && ctx.Err() == nil && thin < maxThinRetries:
			// Too few members in the owner's view: nothing was written. A view in the middle of a
			// change (a weight change re-gossiping metadata) can look thin for a moment, so try
			// again briefly; a cluster that really lost its members answers 503 within a second.
			thin++
			pause = 200 * time.Millisecond
		case ambiguous && errors.Is(cause, persistence.ErrMessageExists):
			return h.resolveDuplicate(ctx, pid, msg, res, err)
		default:
			return res, err
		}
		if !waited {
			waited = true
			h.metrics.routeWaits.Inc()
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("process %s: no member accepted the request in time (%v): %w", pid, cause, ctx.Err())
			case <-views: // a new view: route again at once
			case <-time.After(pause):
			}
		}
	}
}

// maxThinRetries bounds the retries of a request refused for too few members (× 200 ms).
const maxThinRetries = 5

// replyError is the error a grain's reply carries (nil for none).
func replyError(res any) error {
	switch r := res.(type) {
	case *submitResponse:
		return r.err
	case *resultResponse:
		return r.err
	case *dryRunResponse:
		return r.err
	case *stateResponse:
		return r.err
	case *tickResponse:
		return r.err
	}
	return nil
}

// errRerouted: a forwarded call was abandoned because the view moved the process elsewhere.
var errRerouted = errors.New("owner changed while the request was in flight")

// forwardWatching is forward, given up as soon as a new view names another owner for pid (the old
// one is gone or leaving). The abandoned call's reply, if it ever comes, is dropped.
func (h *Host) forwardWatching(ctx context.Context, m awcluster.Member, pid ans104.ID, msg any, views <-chan *awcluster.View) (any, error) {
	type result struct {
		res any
		err error
	}
	cctx, cancel := context.WithCancel(ctx)
	lease := time.NewTicker(100 * time.Millisecond)
	defer lease.Stop()
	done := make(chan result, 1)
	go func() {
		res, err := h.forward(cctx, m, pid, msg)
		done <- result{res, err}
	}()
	defer cancel()
	for {
		select {
		case r := <-done:
			return r.res, r.err
		case <-ctx.Done():
			return nil, fmt.Errorf("process %s: %s (%s) did not answer: %w", pid, m.Name, m.Address, ctx.Err())
		case <-views:
			if nm, _, err := h.ownerFor(ctx, pid, msg); err == nil && nm.ID != m.ID {
				return nil, fmt.Errorf("process %s: %w (%s → %s)", pid, errRerouted, m.Name, nm.Name)
			}
		case <-lease.C:
			// Cut off while the call is out: answer "no quorum" now rather than when the call
			// times out (the owner, on the other side, decides whether it ran).
			if err := h.checkQuorum(); err != nil {
				return nil, fmt.Errorf("process %s: %w", pid, err)
			}
		}
	}
}

// resolveDuplicate answers a submit whose earlier attempt reached an owner that vanished or was
// fenced before replying: the item is in the log now, so its acknowledgement is what the client is
// owed. The entry is looked up here (this node may hold the log as owner or backup), else on the
// owner (grain.locate); when neither finds it, the duplicate error stands.
func (h *Host) resolveDuplicate(ctx context.Context, pid ans104.ID, msg any, res any, err error) (any, error) {
	sub, ok := msg.(*submitRequest)
	if !ok {
		return res, err
	}
	id := sub.item.ID()
	if ack, ok := h.locate(pid, id); ok {
		return &submitResponse{ack: ack}, nil
	}
	if m, v, oerr := h.ownerFor(ctx, pid, msg); oerr == nil && !v.IsSelf(m) {
		var a clusterpb.Ack
		if h.fwd.Call(ctx, m, opLocate, &clusterpb.AssignRequest{Process: pid[:], Message: id[:]}, &a) == nil {
			return ackReply(&a, nil)
		}
	}
	return res, err
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

// requestLocal is the owner side: it refuses processes this node does not own in its view.
func (h *Host) requestLocal(ctx context.Context, pid ans104.ID, msg any) (any, error) {
	if m, v, err := h.ownerFor(ctx, pid, msg); err != nil {
		return nil, err
	} else if !v.IsSelf(m) {
		return nil, fmt.Errorf("%w: %s belongs to %s (%s) in view %d", awcluster.ErrNotOwner, pid, m.Name, m.Address, v.Seq)
	}
	if d, ok := msg.(*dryRunRequest); ok {
		return h.dryRunLocal(ctx, pid, d.body), nil
	}
	if a, ok := msg.(*assignRequest); ok && h.deps.FetchItem != nil {
		// The assigned message may live on another member (in another process's log): keep a
		// copy here, outside the grain, so that the grain and its evaluator find it locally.
		if _, err := h.findItem(a.message); errors.Is(err, persistence.ErrNotFound) {
			if raw, err := h.deps.FetchItem(ctx, a.message); err == nil {
				var it persistence.Item
				if err := h.keepFetched(ctx, raw, &it); err != nil {
					return nil, err
				}
			} else if !errors.Is(err, persistence.ErrNotFound) {
				return nil, err
			}
		}
	}
	return h.requestGrain(ctx, pid, msg)
}

// forward sends msg to the owner m and turns the reply back into the grain's reply type.
func (h *Host) forward(ctx context.Context, m awcluster.Member, pid ans104.ID, msg any) (any, error) {
	switch r := msg.(type) {
	case *submitRequest:
		var ack clusterpb.Ack
		// Host.Submit takes verified items only (the API verified it, or this node made it): the
		// proof says so to the owner, which then does not verify the signature again.
		raw := r.item.Bytes()
		err := h.fwd.Call(ctx, m, opSubmit, &clusterpb.SubmitRequest{Item: raw, Verified: h.deps.ItemProof.Prove(raw)}, &ack)
		return ackReply(&ack, err)
	case *assignRequest:
		var ack clusterpb.Ack
		err := h.fwd.Call(ctx, m, opAssign, &clusterpb.AssignRequest{Process: pid[:], Message: r.message[:], Exclude: r.exclude}, &ack)
		return ackReply(&ack, err)
	case *resultRequest:
		var rr clusterpb.ResultReply
		if err := h.fwd.Call(ctx, m, opResult, &clusterpb.ResultRequest{Process: pid[:], Nonce: r.nonce}, &rr); err != nil {
			return nil, err
		}
		return &resultResponse{result: rr.Result}, nil
	case *dryRunRequest:
		var rr clusterpb.ResultReply
		if err := h.fwd.Call(ctx, m, opDryRun, &clusterpb.DryRunRequest{Process: pid[:], Body: r.body}, &rr); err != nil {
			return nil, err
		}
		res, err := decodeResult(rr.Result)
		return &dryRunResponse{result: res, err: err}, nil
	case *stateRequest:
		var sr clusterpb.StateReply
		if err := h.fwd.Call(ctx, m, opState, &clusterpb.StateRequest{Process: pid[:]}, &sr); err != nil {
			return nil, err
		}
		return &stateResponse{state: &MemoryState{Memory: sr.Memory, Nonce: sr.Nonce, Timestamp: sr.Timestamp, BlockHeight: sr.BlockHeight}}, nil
	case *monitorRequest:
		var mr clusterpb.MonitorReply
		if err := h.fwd.Call(ctx, m, opMonitor, &clusterpb.MonitorRequest{Process: pid[:], On: r.on}, &mr); err != nil {
			return nil, err
		}
		return &tickResponse{}, nil
	}
	return nil, fmt.Errorf("actors: %T cannot be forwarded", msg)
}

func ackReply(a *clusterpb.Ack, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	id, err := idOf(a.Id)
	if err != nil {
		return nil, err
	}
	return &submitResponse{ack: Ack{ID: id, Nonce: a.Nonce, Timestamp: a.Timestamp}}, nil
}

func idOf(b []byte) (ans104.ID, error) {
	var id ans104.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: id of %d bytes on the wire", persistence.ErrInvalid, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// decodeFor unmarshals a forwarded request and returns the process it is for.
func decodeFor(body []byte, req interface {
	proto.Message
	GetProcess() []byte
}) (ans104.ID, error) {
	if err := proto.Unmarshal(body, req); err != nil {
		return ans104.ID{}, err
	}
	return idOf(req.GetProcess())
}

// askLocal runs msg on the local grain of pid and returns its reply, or the error it carries.
func askLocal[R any](ctx context.Context, h *Host, pid ans104.ID, msg any) (*R, error) {
	res, err := h.requestLocal(ctx, pid, msg)
	if err != nil {
		return nil, err
	}
	r, ok := res.(*R)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected reply %T", res)
	}
	if err := replyError(res); err != nil {
		return nil, err
	}
	return r, nil
}

// forwardedItem parses a forwarded submit's item. An item is only ever stored verified, and
// verified once in the cluster (docs/design.md invariant 6): when the request carries a valid
// proof that the sending member verified it (cluster.ItemProof: only a holder of the cluster key
// can make one), it is parsed within limits only; otherwise (no proof, a wrong one, a keyless
// cluster) its signature is verified here.
func (h *Host) forwardedItem(req *clusterpb.SubmitRequest) (*ans104.DataItem, error) {
	if h.deps.ItemProof.Check(req.Item, req.Verified) {
		item, err := ans104.Parse(req.Item, ans104.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%w: forwarded item: %v", persistence.ErrInvalid, err)
		}
		h.metrics.forwardedItems.WithLabelValues("proof").Inc()
		return item, nil
	}
	item, err := ans104.ParseAndVerify(req.Item, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: forwarded item: %v", persistence.ErrInvalid, err)
	}
	h.metrics.forwardedItems.WithLabelValues("signature").Inc()
	return item, nil
}

// serveGrainOps registers the owner side of the grain ops on the forwarder.
func (h *Host) serveGrainOps() {
	h.fwd.Handle(opSubmit, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.SubmitRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		item, err := h.forwardedItem(&req)
		if err != nil {
			return nil, err
		}
		pid, err := processOf(item)
		if err != nil {
			return nil, err
		}
		res, err := h.requestLocal(ctx, pid, &submitRequest{item: item})
		return wireAck(res, err)
	})
	h.fwd.Handle(opAssign, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.AssignRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		msg, err := idOf(req.Message)
		if err != nil {
			return nil, err
		}
		res, err := h.requestLocal(ctx, pid, &assignRequest{message: msg, exclude: req.Exclude})
		return wireAck(res, err)
	})
	h.fwd.Handle(opResult, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.ResultRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		if b, err := h.deps.Store.Result(pid, req.Nonce); err == nil {
			return &clusterpb.ResultReply{Result: b}, nil
		}
		r, err := askLocal[resultResponse](ctx, h, pid, &resultRequest{nonce: req.Nonce})
		if err != nil {
			return nil, err
		}
		return &clusterpb.ResultReply{Result: r.result}, nil
	})
	h.fwd.Handle(opDryRun, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.DryRunRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		r, err := askLocal[dryRunResponse](ctx, h, pid, &dryRunRequest{body: req.Body})
		if err != nil {
			return nil, err
		}
		b, err := encodeResult(r.result)
		return &clusterpb.ResultReply{Result: b}, err
	})
	h.fwd.Handle(opState, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.StateRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		r, err := askLocal[stateResponse](ctx, h, pid, &stateRequest{})
		if err != nil {
			return nil, err
		}
		return &clusterpb.StateReply{Memory: r.state.Memory, Nonce: r.state.Nonce, Timestamp: r.state.Timestamp, BlockHeight: r.state.BlockHeight}, nil
	})
	h.fwd.Handle(opLocate, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.AssignRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		id, err := idOf(req.Message)
		if err != nil {
			return nil, err
		}
		ack, ok := h.locate(pid, id)
		if !ok {
			return nil, fmt.Errorf("message %s in process %s: %w", id, pid, persistence.ErrNotFound)
		}
		return &clusterpb.Ack{Id: ack.ID[:], Nonce: ack.Nonce, Timestamp: ack.Timestamp}, nil
	})
	h.fwd.Handle(opMonitor, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.MonitorRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return nil, err
		}
		if _, err := askLocal[tickResponse](ctx, h, pid, &monitorRequest{on: req.On}); err != nil {
			return nil, err
		}
		return &clusterpb.MonitorReply{}, nil
	})
}

func wireAck(res any, err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	r, ok := res.(*submitResponse)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected reply %T", res)
	}
	if r.err != nil {
		return nil, r.err
	}
	return &clusterpb.Ack{Id: r.ack.ID[:], Nonce: r.ack.Nonce, Timestamp: r.ack.Timestamp}, nil
}

// followViews asks the activations of processes this node no longer owns to passivate, on every
// new view: they get no more requests (requestLocal refuses them), so they should not linger with
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
