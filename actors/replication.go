package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// Replication is what the process actor needs from cluster/replication (*replication.Replicator):
// the hand-over when an activation starts, and making each batch durable on the backup before the
// local append. Nil (Deps.Replication) runs a single node: appends are local only.
type Replication interface {
	// Activate fences the backup with a higher epoch and brings the local log and the backup's
	// level; afterwards the store's epoch is this owner's epoch.
	Activate(ctx context.Context, pid persistence.ID) error
	// Replicate returns once entries are durable on the backup; only then are they appended here.
	Replicate(ctx context.Context, pid persistence.ID, epoch uint64, entries []persistence.Entry) error
	// Forget drops what is cached about pid (on passivation: the next activation syncs again).
	Forget(pid persistence.ID)
	// CatchUp brings this member's copy of pid level with the backup's, so that the owner can
	// prove a read current (op.read; a no-op when already in sync).
	CatchUp(ctx context.Context, pid persistence.ID) error
}

// System is the node's actor system (cluster/replication serves its actor on it).
func (h *Host) System() *actor.ActorSystem { return h.system }

// SetReplication makes every process replicate its appends through r. Call it before the node
// serves requests: activations read it without a lock.
func (h *Host) SetReplication(r Replication) { h.deps.Replication = r }

// ReplicaSet returns the remote addresses of pid's replica set under view v (nil: the current view)
// and replication factor factor: its preference list (cluster.View.Replicas), the owner first and
// then its backups, exactly as the router ranks owners restricted to the process's placement
// labels (labels place the backups too: a process's log stays on members with its labels). The
// list is shorter than factor when too few members can hold pid (a write is then refused, which is
// safe), and nil when the labels cannot be learnt.
func (h *Host) ReplicaSet(pid ans104.ID, v *awcluster.View, factor int) []string {
	if v == nil {
		v = h.members.View()
	}
	want, err := h.labelsOf(context.Background(), pid, nil)
	if err != nil {
		return nil
	}
	ms := v.Replicas(pid.String(), want, factor)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Address
	}
	return out
}
