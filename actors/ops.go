package actors

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
)

// The operations that reach a process's grain (or, for a dry-run, the node's pool with the grain's
// memory), each declared once. The host's exported methods below run them from any member.

// Submit schedules a verified Process or Message item on its process and returns once durable.
func (h *Host) Submit(ctx context.Context, item *ans104.DataItem) (Ack, error) {
	pid, err := processOf(item)
	if err != nil {
		return Ack{}, err
	}
	return call(ctx, h, opSubmit, pid, item)
}

// loadSpawnModule loads the module of a spawn (item is pid's Process item) before the grain sees
// the spawn, under the request's deadline: fetching it from another member and compiling it take
// up to the fetch's bound, and the grain's mailbox would otherwise wait that long. The grain then
// finds it in the host's module cache. Any other item passes through.
func (h *Host) loadSpawnModule(ctx context.Context, pid ans104.ID, item *ans104.DataItem) error {
	if len(item.Target) != 0 || item.ID() != pid {
		return nil // a message (it has a target): every submit but a spawn stops here, unhashed
	}
	proc, err := ans104.AsProcess(item)
	if err != nil {
		return nil // the grain refuses it with the reason
	}
	if _, err := h.module(ctx, proc.Module); err != nil {
		return fmt.Errorf("%w: %v (publish the module to this node first)", ErrModuleNotFound, err)
	}
	return nil
}

// Assign schedules message on process pid (the assign flow).
func (h *Host) Assign(ctx context.Context, pid, message ans104.ID, exclude []string) (Ack, error) {
	return call(ctx, h, opAssign, pid, assignArgs{message: message, exclude: exclude})
}

// DryRun evaluates body (the CU's message JSON) on a copy of pid's latest state.
func (h *Host) DryRun(ctx context.Context, pid ans104.ID, body []byte) (*StoredResult, error) {
	return call(ctx, h, opDryRun, pid, body)
}

// State returns pid's memory after its latest evaluation.
func (h *Host) State(ctx context.Context, pid ans104.ID) (*MemoryState, error) {
	return call(ctx, h, opState, pid, struct{}{})
}

// Monitor resumes (on) or pauses (off) the crons of pid.
func (h *Host) Monitor(ctx context.Context, pid ans104.ID, on bool) error {
	_, err := call(ctx, h, opMonitor, pid, on)
	return err
}

// opSubmit schedules a verified item. A forwarded item carries the sending member's proof that it
// verified the signature (forwardedItem), so the owner does not verify it again.
var opSubmit = &op[*ans104.DataItem, Ack]{
	name:    "grain.submit",
	recover: true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, item *ans104.DataItem) (Ack, error) {
		if err := h.loadSpawnModule(ctx, pid, item); err != nil {
			return Ack{}, err
		}
		r, err := askGrain[submitResponse](ctx, h, pid, &submitRequest{item: item})
		if err != nil {
			return Ack{}, err
		}
		return r.ack, nil
	},
	spawn: func(_ ans104.ID, item *ans104.DataItem) *ans104.DataItem { return item },
	duplicate: func(ctx context.Context, h *Host, pid ans104.ID, item *ans104.DataItem) (Ack, bool) {
		return h.resolveDuplicate(ctx, pid, item)
	},
	encodeReq: func(h *Host, _ ans104.ID, item *ans104.DataItem) proto.Message {
		// Host.Submit takes verified items only (the API verified it, or this node made it).
		raw := item.Bytes()
		return &clusterpb.SubmitRequest{Item: raw, Verified: h.deps.ItemProof.Prove(raw)}
	},
	decodeReq: func(h *Host, body []byte) (ans104.ID, *ans104.DataItem, error) {
		var req clusterpb.SubmitRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return ans104.ID{}, nil, err
		}
		item, err := h.forwardedItem(&req)
		if err != nil {
			return ans104.ID{}, nil, err
		}
		pid, err := processOf(item)
		return pid, item, err
	},
	encodeRep: wireAck,
	decodeRep: ackOf,
}

type assignArgs struct {
	message ans104.ID
	exclude []string
}

// opAssign schedules an existing message on a process.
var opAssign = &op[assignArgs, Ack]{
	name:    "grain.assign",
	recover: true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, a assignArgs) (Ack, error) {
		if err := h.keepAssigned(ctx, a.message); err != nil {
			return Ack{}, err
		}
		r, err := askGrain[submitResponse](ctx, h, pid, &assignRequest{message: a.message, exclude: a.exclude})
		if err != nil {
			return Ack{}, err
		}
		return r.ack, nil
	},
	encodeReq: func(_ *Host, pid ans104.ID, a assignArgs) proto.Message {
		return &clusterpb.AssignRequest{Process: pid[:], Message: a.message[:], Exclude: a.exclude}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, assignArgs, error) {
		var req clusterpb.AssignRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return pid, assignArgs{}, err
		}
		msg, err := idOf(req.Message)
		return pid, assignArgs{message: msg, exclude: req.Exclude}, err
	},
	encodeRep: wireAck,
	decodeRep: ackOf,
}

// keepAssigned keeps a copy here of an assigned message that lives on another member (in another
// process's log), outside the grain, so that the grain and its evaluator find it locally.
func (h *Host) keepAssigned(ctx context.Context, message ans104.ID) error {
	if h.deps.FetchItem == nil {
		return nil
	}
	if _, err := h.findItem(message); !errors.Is(err, persistence.ErrNotFound) {
		return nil
	}
	raw, err := h.deps.FetchItem(ctx, message)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil // the grain refuses it, as for any unknown message
	}
	if err != nil {
		return err
	}
	var it persistence.Item
	return h.keepFetched(ctx, raw, &it)
}

// opLocate finds a message in a process's log on the owner; the router uses it to answer a retried
// submit whose first attempt was written but not acknowledged (resolveDuplicate).
var opLocate = &op[ans104.ID, Ack]{
	name: "grain.locate",
	serve: func(_ context.Context, h *Host, pid ans104.ID, id ans104.ID) (Ack, error) {
		ack, ok := h.locate(pid, id)
		if !ok {
			return Ack{}, fmt.Errorf("message %s in process %s: %w", id, pid, persistence.ErrNotFound)
		}
		return ack, nil
	},
	encodeReq: func(_ *Host, pid ans104.ID, id ans104.ID) proto.Message {
		return &clusterpb.EntryRequest{Process: pid[:], Id: id[:]}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, ans104.ID, error) {
		return decodeItemOf(body, &clusterpb.EntryRequest{})
	},
	encodeRep: wireAck,
	decodeRep: ackOf,
}

// opDryRun evaluates a message on a copy of the process's latest memory, in the node's pool.
var opDryRun = &op[[]byte, *StoredResult]{
	name:    "grain.dryrun",
	recover: true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, body []byte) (*StoredResult, error) {
		return h.dryRunLocal(ctx, pid, body)
	},
	encodeReq: func(_ *Host, pid ans104.ID, body []byte) proto.Message {
		return &clusterpb.DryRunRequest{Process: pid[:], Body: body}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, []byte, error) {
		var req clusterpb.DryRunRequest
		pid, err := decodeFor(body, &req)
		return pid, req.Body, err
	},
	encodeRep: func(r *StoredResult) (proto.Message, error) {
		b, err := encodeResult(r)
		return &clusterpb.ResultReply{Result: b}, err
	},
	decodeRep: func(body []byte) (*StoredResult, error) {
		rr, err := unmarshal[clusterpb.ResultReply](body)
		if err != nil {
			return nil, err
		}
		return decodeResult(rr.Result)
	},
}

// opState returns the process's memory after its latest evaluation.
var opState = &op[struct{}, *MemoryState]{
	name:    "grain.state",
	recover: true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, _ struct{}) (*MemoryState, error) {
		r, err := askGrain[stateResponse](ctx, h, pid, &stateRequest{})
		if err != nil {
			return nil, err
		}
		return r.state, nil
	},
	encodeReq: func(_ *Host, pid ans104.ID, _ struct{}) proto.Message {
		return &clusterpb.StateRequest{Process: pid[:]}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, struct{}, error) {
		pid, err := decodeFor(body, &clusterpb.StateRequest{})
		return pid, struct{}{}, err
	},
	encodeRep: func(s *MemoryState) (proto.Message, error) {
		return &clusterpb.StateReply{Memory: s.Memory, Nonce: s.Nonce, Timestamp: s.Timestamp, BlockHeight: s.BlockHeight}, nil
	},
	decodeRep: func(body []byte) (*MemoryState, error) {
		sr, err := unmarshal[clusterpb.StateReply](body)
		if err != nil {
			return nil, err
		}
		return &MemoryState{Memory: sr.Memory, Nonce: sr.Nonce, Timestamp: sr.Timestamp, BlockHeight: sr.BlockHeight}, nil
	},
}

// opMonitor pauses (false) or resumes (true) a process's crons, on its owner only (the pause is
// recorded there).
var opMonitor = &op[bool, struct{}]{
	name: "grain.monitor",
	serve: func(ctx context.Context, h *Host, pid ans104.ID, on bool) (struct{}, error) {
		_, err := askGrain[tickResponse](ctx, h, pid, &monitorRequest{on: on})
		return struct{}{}, err
	},
	encodeReq: func(_ *Host, pid ans104.ID, on bool) proto.Message {
		return &clusterpb.MonitorRequest{Process: pid[:], On: on}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, bool, error) {
		var req clusterpb.MonitorRequest
		pid, err := decodeFor(body, &req)
		return pid, req.On, err
	},
	encodeRep: func(struct{}) (proto.Message, error) { return &clusterpb.MonitorReply{}, nil },
	decodeRep: func([]byte) (struct{}, error) { return struct{}{}, nil },
}

// opTick appends the cron ticks due in a window. It never crosses the wire: a node's ticker ticks
// only the processes it owns (serveOwned refuses the others with ErrNotOwner).
var opTick = &op[cron.Window, *tickResponse]{
	name: "grain.tick",
	serve: func(ctx context.Context, h *Host, pid ans104.ID, w cron.Window) (*tickResponse, error) {
		return askGrain[tickResponse](ctx, h, pid, &tickRequest{w: w})
	},
}

// grainOps are the grain's operations that cross the wire (opTick never does).
var grainOps = []wired{opSubmit, opAssign, opLocate, opDryRun, opState, opMonitor}

// serveOps registers the owner side of every operation that crosses the wire.
func (h *Host) serveOps() {
	for _, o := range append(grainOps, readOps...) {
		o.register(h)
	}
	h.labelsOp().Register(h.fwd)
}

// grainReply is a grain's reply, which carries the grain's refusal if any.
type grainReply interface{ failure() error }

func (r *submitResponse) failure() error     { return r.err }
func (r *resultResponse) failure() error     { return r.err }
func (r *dryRunBaseResponse) failure() error { return r.err }
func (r *stateResponse) failure() error      { return r.err }
func (r *tickResponse) failure() error       { return r.err }

// askGrain sends msg to the local grain of pid and returns its reply, or the refusal it carries.
func askGrain[R any, PR interface {
	*R
	grainReply
}](ctx context.Context, h *Host, pid ans104.ID, msg any) (PR, error) {
	res, err := h.requestGrain(ctx, pid, msg)
	if err != nil {
		return nil, err
	}
	r, ok := res.(PR)
	if !ok {
		return nil, fmt.Errorf("actors: process %s answered %T with %T", pid, msg, res)
	}
	if err := r.failure(); err != nil {
		return nil, err
	}
	return r, nil
}

func wireAck(a Ack) (proto.Message, error) {
	return &clusterpb.Ack{Id: a.ID[:], Nonce: a.Nonce, Timestamp: a.Timestamp}, nil
}

func ackOf(body []byte) (Ack, error) {
	a, err := unmarshal[clusterpb.Ack](body)
	if err != nil {
		return Ack{}, err
	}
	id, err := idOf(a.Id)
	if err != nil {
		return Ack{}, err
	}
	return Ack{ID: id, Nonce: a.Nonce, Timestamp: a.Timestamp}, nil
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
