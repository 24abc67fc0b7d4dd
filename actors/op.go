package actors

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// op is one operation on a process, declared once (ops.go declares the grain's, reads.go the
// reads): its name on the wire, what its owner does, how its request and reply cross between
// members, and the few ways an operation's routing differs. call runs it on the owner from any
// member; register installs its owner side on the forwarder. Adding an operation is one
// declaration, its protobuf messages (cluster/clusterpb) and a caller.
type op[Req, Rep any] struct {
	name string
	// serve runs the operation on the owner, after it checked that it owns the process (and, for
	// a read, that its copy is current).
	serve func(ctx context.Context, h *Host, pid ans104.ID, req Req) (Rep, error)
	// read: the owner proves its copy current before serving (proveCurrent), and a process with no
	// placement (no live member has its labels) is read from what this member holds.
	read bool
	// recover: a process this cluster does not hold is first rebuilt from Arweave (Deps.Recover),
	// unless the request is its spawn.
	recover bool
	// spawn, when set, is the Process item of pid a request carries (a spawn): its labels place it.
	spawn func(pid ans104.ID, req Req) *ans104.DataItem
	// duplicate, when set, answers a retried request that the log already holds (submits): see
	// Host.resolveDuplicate.
	duplicate func(ctx context.Context, h *Host, pid ans104.ID, req Req) (Rep, bool)

	// The wire: requests and replies are protobuf messages of clusterpb; a request names its process.
	encodeReq func(h *Host, pid ans104.ID, req Req) proto.Message
	decodeReq func(h *Host, body []byte) (ans104.ID, Req, error)
	encodeRep func(rep Rep) (proto.Message, error)
	decodeRep func(body []byte) (Rep, error)
}

// serveOwned runs o here, for a process this member owns under its current view. It refuses with
// ErrNotOwner anything else, before activating or writing anything: a process is only ever
// activated where the view of the member that activates it says it belongs.
func serveOwned[Req, Rep any](ctx context.Context, h *Host, o *op[Req, Rep], pid ans104.ID, req Req) (Rep, error) {
	var zero Rep
	m, v, err := h.ownerFor(ctx, pid, spawnOf(o, pid, req))
	switch {
	case err != nil && o.read:
		// No placement: serve what this member holds (or not found).
	case err != nil:
		return zero, err
	case !v.IsSelf(m):
		return zero, fmt.Errorf("%w: %s belongs to %s (%s) in view %d", awcluster.ErrNotOwner, pid, m.Name, m.Address, v.Seq)
	}
	return serveHere(ctx, h, o, pid, req)
}

// serveHere runs o here once ownership is settled (a read first proves its copy current).
func serveHere[Req, Rep any](ctx context.Context, h *Host, o *op[Req, Rep], pid ans104.ID, req Req) (Rep, error) {
	if o.read {
		if err := h.proveCurrent(ctx, pid); err != nil {
			var zero Rep
			return zero, err
		}
	}
	return o.serve(ctx, h, pid, req)
}

func spawnOf[Req, Rep any](o *op[Req, Rep], pid ans104.ID, req Req) *ans104.DataItem {
	if o.spawn == nil {
		return nil
	}
	return o.spawn(pid, req)
}

// proveCurrent refuses a read this member cannot prove current: it must hear a quorum of the
// cluster (a member cut off from the majority may hold a log the other side extends), and, as the
// owner, hold what its backups hold (a member that just became owner would otherwise answer from a
// stale copy until its hand-over ran, and could deny an acknowledged message).
func (h *Host) proveCurrent(ctx context.Context, pid ans104.ID) error {
	if err := h.checkQuorum(); err != nil {
		return fmt.Errorf("process %s: %w", pid, err)
	}
	if h.deps.Replication == nil {
		return nil
	}
	if err := h.deps.Replication.CatchUp(ctx, persistence.ID(pid)); err != nil {
		return fmt.Errorf("%w: process %s: this member owns it but cannot bring its copy level with its backups, "+
			"so it cannot prove a read current; retry shortly: %w", ErrNotCurrent, pid, err)
	}
	return nil
}

// ErrNotCurrent: the owner cannot prove its copy of a process current (it cannot reach the
// backups); the read is refused rather than answered from a stale copy.
var ErrNotCurrent = errors.New("copy not proven current")

// wired is an operation that crosses the wire: register installs its owner side on the host's
// forwarder.
type wired interface{ register(h *Host) }

func (o *op[Req, Rep]) register(h *Host) {
	h.fwd.Handle(o.name, func(ctx context.Context, body []byte) (proto.Message, error) {
		pid, req, err := o.decodeReq(h, body)
		if err != nil {
			return nil, err
		}
		rep, err := serveOwned(ctx, h, o, pid, req)
		if err != nil {
			return nil, err
		}
		return o.encodeRep(rep)
	})
}

// forwardOp sends o to the owner m.
func forwardOp[Req, Rep any](ctx context.Context, h *Host, o *op[Req, Rep], m awcluster.Member, pid ans104.ID, req Req) (Rep, error) {
	body, err := h.fwd.CallBody(ctx, m, o.name, o.encodeReq(h, pid, req))
	if err != nil {
		var zero Rep
		return zero, err
	}
	return o.decodeRep(body)
}

// idOf reads a process or item id off the wire.
func idOf(b []byte) (ans104.ID, error) {
	var id ans104.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: id of %d bytes on the wire", persistence.ErrInvalid, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// decodeFor unmarshals a forwarded request into req and returns the process it is for.
func decodeFor(body []byte, req interface {
	proto.Message
	GetProcess() []byte
}) (ans104.ID, error) {
	if err := proto.Unmarshal(body, req); err != nil {
		return ans104.ID{}, err
	}
	return idOf(req.GetProcess())
}

// decodeItemOf unmarshals a forwarded request that names a process and a message in it.
func decodeItemOf(body []byte, req interface {
	proto.Message
	GetProcess() []byte
	GetId() []byte
}) (ans104.ID, ans104.ID, error) {
	pid, err := decodeFor(body, req)
	if err != nil {
		return pid, ans104.ID{}, err
	}
	id, err := idOf(req.GetId())
	return pid, id, err
}

// unmarshal decodes a body into a new message of type M.
func unmarshal[M any, PM interface {
	*M
	proto.Message
}](body []byte) (PM, error) {
	m := PM(new(M))
	return m, proto.Unmarshal(body, m)
}
