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
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
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
)

func init() {
	// Most specific first: an error crosses as the first of these it wraps.
	for code, err := range map[string]error{
		"process_not_found": ErrProcessNotFound, "process_exists": ErrProcessExists,
		"module_not_found": ErrModuleNotFound, "wrong_process": ErrWrongProcess,
		"stopping": ErrStopping, "busy": ErrBusy,
		"message_exists": persistence.ErrMessageExists, "assignment_exists": persistence.ErrAssignmentExists,
		"store_process_exists": persistence.ErrProcessExists, "store_invalid": persistence.ErrInvalid,
		"store_limit": persistence.ErrLimit, "runtime_format": runtime.ErrFormat, "no_placement": ErrNoPlacement,
	} {
		awcluster.RegisterError(code, err)
	}
	// Generic after the specific ones.
	awcluster.RegisterError("store_not_found", persistence.ErrNotFound)
}

// request sends msg to the grain of pid, wherever it lives, and waits for its reply.
func (h *Host) request(ctx context.Context, pid ans104.ID, msg any) (any, error) {
	for {
		m, v, err := h.ownerFor(ctx, pid, msg)
		if err != nil {
			return nil, err
		}
		var res any
		if v.IsSelf(m) {
			res, err = h.requestLocal(ctx, pid, msg)
		} else {
			h.metrics.forwarded.Inc()
			res, err = h.forward(ctx, m, pid, msg)
		}
		if !errors.Is(err, awcluster.ErrNotOwner) {
			return res, err
		}
		// Views disagree for a moment while membership changes: nothing was done, so wait for
		// ours to move (or the owner's to catch up) and route again.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("process %s: no member accepted ownership in time (%v): %w", pid, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// requestLocal is the owner side: it refuses processes this node does not own in its view.
func (h *Host) requestLocal(ctx context.Context, pid ans104.ID, msg any) (any, error) {
	if m, v, err := h.ownerFor(ctx, pid, msg); err != nil {
		return nil, err
	} else if !v.IsSelf(m) {
		return nil, fmt.Errorf("%w: %s belongs to %s (%s) in view %d", awcluster.ErrNotOwner, pid, m.Name, m.Address, v.Seq)
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
		err := h.fwd.Call(ctx, m, opSubmit, &clusterpb.SubmitRequest{Item: r.item.Bytes()}, &ack)
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

// serveGrainOps registers the owner side of the grain ops on the forwarder.
func (h *Host) serveGrainOps() {
	h.fwd.Handle(opSubmit, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.SubmitRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		// Members are authenticated, but an item is only ever stored verified (DESIGN.md invariant 6).
		item, err := ans104.ParseAndVerify(req.Item, ans104.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%w: forwarded item: %v", persistence.ErrInvalid, err)
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
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		pid, err := idOf(req.Process)
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
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		pid, err := idOf(req.Process)
		if err != nil {
			return nil, err
		}
		if b, err := h.deps.Store.Result(pid, req.Nonce); err == nil {
			return &clusterpb.ResultReply{Result: b}, nil
		}
		res, err := h.requestLocal(ctx, pid, &resultRequest{nonce: req.Nonce})
		if err != nil {
			return nil, err
		}
		r, ok := res.(*resultResponse)
		if !ok {
			return nil, fmt.Errorf("actors: unexpected reply %T", res)
		}
		if r.err != nil {
			return nil, r.err
		}
		return &clusterpb.ResultReply{Result: r.result}, nil
	})
	h.fwd.Handle(opDryRun, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.DryRunRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		pid, err := idOf(req.Process)
		if err != nil {
			return nil, err
		}
		res, err := h.requestLocal(ctx, pid, &dryRunRequest{body: req.Body})
		if err != nil {
			return nil, err
		}
		r, ok := res.(*dryRunResponse)
		if !ok {
			return nil, fmt.Errorf("actors: unexpected reply %T", res)
		}
		if r.err != nil {
			return nil, r.err
		}
		b, err := encodeResult(r.result)
		return &clusterpb.ResultReply{Result: b}, err
	})
	h.fwd.Handle(opState, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.StateRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		pid, err := idOf(req.Process)
		if err != nil {
			return nil, err
		}
		res, err := h.requestLocal(ctx, pid, &stateRequest{})
		if err != nil {
			return nil, err
		}
		r, ok := res.(*stateResponse)
		if !ok {
			return nil, fmt.Errorf("actors: unexpected reply %T", res)
		}
		if r.err != nil {
			return nil, r.err
		}
		return &clusterpb.StateReply{Memory: r.state.Memory, Nonce: r.state.Nonce, Timestamp: r.state.Timestamp, BlockHeight: r.state.BlockHeight}, nil
	})
	h.fwd.Handle(opMonitor, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.MonitorRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		pid, err := idOf(req.Process)
		if err != nil {
			return nil, err
		}
		res, err := h.requestLocal(ctx, pid, &monitorRequest{on: req.On})
		if err != nil {
			return nil, err
		}
		r, ok := res.(*tickResponse)
		if !ok {
			return nil, fmt.Errorf("actors: unexpected reply %T", res)
		}
		if r.err != nil {
			return nil, r.err
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
