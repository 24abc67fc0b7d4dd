package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/internal/warm"
)

// ForwarderName is the name of every node's forwarder actor.
const ForwarderName = "aw-forward"

// Handler serves one op on the node that receives the Call: it decodes body, does the work and
// returns the reply to encode. Its ctx ends at the caller's deadline.
type Handler func(ctx context.Context, body []byte) (proto.Message, error)

// Forwarder runs the node-to-node protocol: Call sends an op to a member's forwarder actor through
// Proto.Actor remote and waits for its Reply; the receiving forwarder runs the op's Handler on its
// own goroutine (an op may take as long as a result takes to compute) and answers the caller's
// future directly. Only clusterpb.Call and clusterpb.Reply cross the wire.
type Forwarder struct {
	system *actor.ActorSystem
	pid    *actor.PID
	mu     sync.RWMutex
	ops    map[string]Handler
	stats  WireStats
	seq    func() uint64
	errs   ErrorTable // the table given to NewForwarder, then BaseErrors
	// The handlers' owner: every handler runs under base (with its Call's deadline) and is counted
	// in running, so Stop cancels what is in flight and returns only once none runs.
	base    context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup
	// pool runs the handlers on parked goroutines, whose stacks have already grown
	// (internal/warm).
	pool *warm.Pool
}

// WireStats counts what Calls put on the wire (bytes are the Call and Reply protos, not gRPC framing).
type WireStats struct {
	CallsOut, CallsIn      atomic.Int64
	BytesOut, BytesIn      atomic.Int64 // Call bodies sent / received
	ReplyBytesOut, ReplyIn atomic.Int64 // Reply bytes sent / received
}

// NewForwarder starts the forwarder actor on system. seq (optional) stamps Calls with the sender's
// view sequence. errs lists the sentinels that keep their identity across nodes (the cluster's own,
// BaseErrors, are added after them); every member of a cluster must be given the same table.
func NewForwarder(system *actor.ActorSystem, seq func() uint64, errs ErrorTable) (*Forwarder, error) {
	table := append(append(ErrorTable{}, errs...), BaseErrors()...)
	if err := table.check(); err != nil {
		return nil, err
	}
	f := &Forwarder{system: system, ops: map[string]Handler{}, seq: seq, errs: table, pool: warm.New(handlerIdle, 0)}
	f.base, f.cancel = context.WithCancel(context.Background())
	pid, err := system.Root.SpawnNamed(actor.PropsFromFunc(f.receive), ForwarderName)
	if err != nil {
		return nil, fmt.Errorf("cluster: forwarder: %w", err)
	}
	f.pid = pid
	return f, nil
}

// Handle registers the handler of op (before any Call can arrive for it).
func (f *Forwarder) Handle(op string, h Handler) {
	f.mu.Lock()
	f.ops[op] = h
	f.mu.Unlock()
}

// Stats is the wire counters.
func (f *Forwarder) Stats() *WireStats { return &f.stats }

// Stop stops the forwarder actor, cancels the handlers still running and waits for them to return
// (each also ends at its Call's deadline).
func (f *Forwarder) Stop() {
	_ = f.system.Root.StopFuture(f.pid).Wait()
	f.cancel()
	f.running.Wait()
	f.pool.Stop()
}

func (f *Forwarder) receive(ctx actor.Context) {
	call, ok := ctx.Message().(*clusterpb.Call)
	if !ok {
		return
	}
	sender := ctx.Sender()
	f.stats.CallsIn.Add(1)
	f.stats.BytesIn.Add(int64(proto.Size(call)))
	f.mu.RLock()
	h := f.ops[call.Op]
	f.mu.RUnlock()
	f.running.Add(1) // on the actor's goroutine: Stop waits only once the actor has stopped
	f.pool.Go(func() {
		defer f.running.Done()
		reply := &clusterpb.Reply{}
		if h == nil {
			reply.ErrCode, reply.ErrMsg = "", fmt.Sprintf("cluster: this node does not serve op %q (protocol mismatch?)", call.Op)
		} else {
			timeout := time.Duration(call.TimeoutMs) * time.Millisecond
			if timeout <= 0 {
				timeout = 30 * time.Second
			}
			cctx, cancel := context.WithTimeout(f.base, timeout)
			res, err := h(cctx, call.Body)
			cancel()
			if err != nil {
				reply.ErrCode, reply.ErrMsg = f.errs.encode(err)
			} else if res != nil {
				if reply.Body, err = proto.Marshal(res); err != nil {
					reply.ErrCode, reply.ErrMsg = f.errs.encode(err)
				}
			}
		}
		if sender != nil {
			f.stats.ReplyBytesOut.Add(int64(proto.Size(reply)))
			f.system.Root.Send(sender, reply)
		}
	})
}

// handlerIdle is how long a parked handler goroutine waits for the next Call.
const handlerIdle = 10 * time.Second

// ErrUnreachable wraps failures to reach a member (timeouts of the transport, dead letters).
var ErrUnreachable = errors.New("cluster: member unreachable")

// Call runs op on member m with req and decodes the reply into resp (which may be nil). The
// caller's ctx bounds it. Errors the handler returned come back wrapping the same sentinels of the
// forwarder's ErrorTable, so errors.Is works across nodes.
func (f *Forwarder) Call(ctx context.Context, m Member, op string, req, resp proto.Message) error {
	body, err := f.CallBody(ctx, m, op, req)
	if err != nil || resp == nil {
		return err
	}
	return proto.Unmarshal(body, resp)
}

// CallBody is Call returning the reply's encoded body, for callers that decode it themselves.
func (f *Forwarder) CallBody(ctx context.Context, m Member, op string, req proto.Message) ([]byte, error) {
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	call := &clusterpb.Call{Op: op, Body: body, TimeoutMs: timeout.Milliseconds()}
	if f.seq != nil {
		call.ViewSeq = f.seq()
	}
	f.stats.CallsOut.Add(1)
	f.stats.BytesOut.Add(int64(proto.Size(call)))
	// The reply may take the whole budget plus the trip back; a little slack lets the callee's own
	// timeout error arrive rather than ours.
	fut := f.system.Root.RequestFuture(actor.NewPID(m.Address, ForwarderName), call, timeout+250*time.Millisecond)
	res, err := fut.Result()
	switch {
	case errors.Is(err, actor.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (%s) did not answer %s within %v: %w", ErrUnreachable, m.Name, m.Address, op,
			timeout.Round(time.Millisecond), context.DeadlineExceeded)
	case err != nil:
		return nil, fmt.Errorf("%w: %s (%s): %w", ErrUnreachable, m.Name, m.Address, err)
	}
	reply, ok := res.(*clusterpb.Reply)
	if !ok {
		return nil, fmt.Errorf("cluster: %s answered %s with %T", m.Address, op, res)
	}
	f.stats.ReplyIn.Add(int64(proto.Size(reply)))
	if reply.ErrMsg != "" || reply.ErrCode != "" {
		return nil, f.errs.decode(reply.ErrCode, reply.ErrMsg)
	}
	return reply.Body, nil
}

// ErrorCode names a sentinel error on the wire.
type ErrorCode struct {
	Code string
	Err  error
}

// ErrorTable is the explicit list of sentinel errors that keep their identity across nodes,
// handed to NewForwarder by whoever assembles the node (no package registers itself). An error a
// handler returns travels as the codes of every sentinel in the table it wraps, in table order, and
// comes back as an error with the remote message that wraps those same sentinels: errors.Is on the
// caller answers as it would have on the callee, whichever of them a caller tests first. Order the
// table most specific first: that is the order the codes travel in and the order errors.As and
// errors.Is meet them on the caller. A sentinel not in the table arrives as the message alone.
type ErrorTable []ErrorCode

// BaseErrors are the cluster's own sentinels, which every forwarder carries after the table it
// is given: the transport's (ErrNotOwner, ErrUnreachable), then the context's, the most generic.
func BaseErrors() ErrorTable {
	return ErrorTable{{"not_owner", ErrNotOwner}, {"unreachable", ErrUnreachable},
		{"deadline", context.DeadlineExceeded}, {"canceled", context.Canceled}}
}

// check refuses a table in which a code or a sentinel appears twice (the second would never be
// sent, or two codes would name one error) or a code holds the separator.
func (t ErrorTable) check() error {
	codes, errs := map[string]bool{}, map[error]bool{}
	for _, c := range t {
		switch {
		case c.Code == "" || c.Err == nil || strings.Contains(c.Code, ","):
			return fmt.Errorf("cluster: error table: bad entry %q (%v)", c.Code, c.Err)
		case codes[c.Code]:
			return fmt.Errorf("cluster: error table: code %q twice", c.Code)
		case errs[c.Err]:
			return fmt.Errorf("cluster: error table: %q (%v) is already in the table under another code", c.Code, c.Err)
		}
		codes[c.Code], errs[c.Err] = true, true
	}
	return nil
}

func (t ErrorTable) encode(err error) (string, string) {
	var codes []string
	for _, c := range t {
		if errors.Is(err, c.Err) {
			codes = append(codes, c.Code)
		}
	}
	return strings.Join(codes, ","), err.Error()
}

func (t ErrorTable) decode(code, msg string) error {
	if msg == "" {
		msg = code
	}
	e := &remoteError{msg: msg}
	for _, k := range strings.Split(code, ",") {
		for _, c := range t {
			if c.Code == k {
				e.sentinels = append(e.sentinels, c.Err)
				break
			}
		}
	}
	return e
}

type remoteError struct {
	msg       string
	sentinels []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.sentinels }

// ErrNotOwner is a node's refusal to activate or serve a process it does not own in its current
// view. The caller re-resolves with a fresher view and tries again.
var ErrNotOwner = errors.New("cluster: this node does not own the process")
