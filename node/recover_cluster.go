package node

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/clusterpb"
)

// Recovery in a cluster. A process that no member holds is rebuilt from the gateway by the member
// that will own it, not by the member that was asked: the routes then reach it at its owner, which
// serves it and replicates it to its backup on its first write (the activation's hand-over seeds a
// backup that lacks the process). A member asked about a process it does not hold therefore asks
// the owner to make sure of it (op node.recover; the owner runs its own single-flight recovery,
// or does nothing when it holds the process or has no gateway), and waits for the answer.

// opRecover asks a process's owner to recover it from its gateway if it holds nothing of it.
const opRecover = "node.recover"

// atOwner runs the recovery of pid at its owner when that is another member; done is false when
// this node owns pid (or runs alone) and must recover it itself.
func (r *recoverer) atOwner(ctx context.Context, pid ans104.ID) (done bool, err error) {
	if r.n.provider == nil {
		return false, nil
	}
	m, v, err := r.n.host.Owner(ctx, pid)
	if err != nil || v.IsSelf(m) {
		return false, nil // no placement: recover here, as a single node would
	}
	key := m.Address + "/" + pid.String()
	r.mu.Lock()
	t, ok := r.owned[key]
	r.mu.Unlock()
	if ok && time.Since(t) < r.cfg.AbsentTTL {
		return true, nil // asked a moment ago: every request here would otherwise cost a round trip
	}
	if err := r.n.host.Forwarder().Call(ctx, m, opRecover, &clusterpb.StateRequest{Process: pid[:]}, &clusterpb.Empty{}); err != nil {
		return true, classify(fmt.Errorf("process %s is not held here; its owner %s could not make sure it is recovered: %w", pid, m.Address, err))
	}
	r.mu.Lock()
	if r.owned == nil || len(r.owned) >= maxOwnerChecks {
		r.owned = map[string]time.Time{}
	}
	r.owned[key] = time.Now()
	r.mu.Unlock()
	return true, nil
}

// maxOwnerChecks bounds the memory of owners recently asked (full: it starts over).
const maxOwnerChecks = 100_000

// serveRecover registers the owner side of opRecover (r nil: this node has no gateway, nothing to do).
func (n *Node) serveRecover(r *recoverer) {
	n.host.Forwarder().Handle(opRecover, func(ctx context.Context, body []byte) (proto.Message, error) {
		var req clusterpb.StateRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		var pid ans104.ID
		if len(req.Process) != len(pid) {
			return nil, fmt.Errorf("recover: process id of %d bytes", len(req.Process))
		}
		copy(pid[:], req.Process)
		if r == nil {
			return &clusterpb.Empty{}, nil
		}
		// Asked by a member that routes to this node: recover here whatever the view says (the
		// asker's view placed it here; if ours disagrees, routing sorts it out as for any request).
		return &clusterpb.Empty{}, r.ensureLocal(ctx, pid)
	})
}
