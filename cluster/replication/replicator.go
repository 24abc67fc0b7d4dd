package replication

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/internal/warm"
	"github.com/actorweave/actorweave/persistence"
)

// Errors of the owner side. Each is wrapped with the process and node it concerns.
var (
	// ErrBackupUnreachable: the backup did not answer; the write is refused (it is durable nowhere).
	ErrBackupUnreachable = errors.New("cannot reach backup node")
	// ErrNoBackup: the replication factor asks for a backup and placement has none (too few live
	// members); the write is refused.
	ErrNoBackup = errors.New("no backup node available")
	// ErrNotOwner: the backup was fenced by a newer owner; this node must stop writing the process.
	// It is cluster.ErrNotOwner, so that a router retries at the owner of a fresher view.
	ErrNotOwner = awcluster.ErrNotOwner
	// ErrResync: the owner's view of the log changed while syncing with its backup (entries were
	// pulled); the caller must reload its state and schedule the batch again. Nothing was written.
	ErrResync = errors.New("log re-synchronised with the backup; schedule again")
	// ErrDiverged: owner and backup hold different entries at the same nonce. This must never
	// happen; it is reported, never merged.
	ErrDiverged = errors.New("logs diverged")
	// ErrForked: the process's replicas hold two histories that replication may not settle on its
	// own (persistence.ForkRecord); the process is refused until an operator runs resolve-fork.
	ErrForked = persistence.ErrForked
)

// Replicas is a process's replica set: its preference list of Proto.Actor addresses, the owner
// first, then its backups in order (cluster.View.Replicas: the router's weighted rendezvous order
// cut to the replication factor). Empty: no member can hold the process.
type Replicas []string

// Owner is the first of the list ("" for none).
func (l Replicas) Owner() string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// Backup is the first backup ("" for none).
func (l Replicas) Backup() string {
	if len(l) < 2 {
		return ""
	}
	return l[1]
}

// backupsOf returns the backups of the list as seen from self, at most factor-1 of them: every
// address after the owner, except self and "" (a node the view names as a backup does not
// replicate to itself: with too few other members its writes are refused).
func (l Replicas) backupsOf(self string, factor int) []string {
	var out []string
	for i := 1; i < len(l) && i < factor; i++ {
		if a := l[i]; a != "" && a != self && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Placement returns pid's replica set under the current membership. The node provides it from the
// cluster view (actors.Host.ReplicaSet).
type Placement func(pid persistence.ID) Replicas

const (
	// DefaultFactor is the replication factor of a zero Config.Factor (with Auto).
	DefaultFactor = 2
	// MaxFactor is the largest replication factor accepted: every write waits for every backup,
	// and more copies than this buy durability no deployment of this runtime needs.
	MaxFactor = 5
)

// Config tunes replication. Zero fields take the defaults.
type Config struct {
	// Factor is the replication factor, 1 to MaxFactor: every acknowledged append is durable on
	// the first Factor members of the process's preference list (the owner and Factor-1 backups).
	// Zero is the default, and means the same here and in the node (--replication-factor 0 or
	// absent): DefaultFactor (2) with Auto.
	Factor int
	// Auto runs factor 1 while this node has never been part of a cluster, and Factor from then
	// on: a lone node works, and a node that was ever part of a larger cluster never acknowledges
	// alone (a partition must not let both sides write). "Ever" is Clustered, read from disk: a
	// node restarted inside a partition sees no one, and only its store can tell it that it is not
	// alone. A zero Factor sets it.
	Auto bool
	// Clustered reports, durably, whether this node has been part of a cluster (cluster.Quorum's
	// known members). Nil with Auto: always (the node was configured as a cluster member, so a
	// lone member refuses to write, the safe side).
	Clustered func() bool `json:"-"`
	// Timeout bounds each request to a peer. Default 5 s.
	Timeout time.Duration
	// WaitBackup is how long a write waits for an unreachable backup to answer again or to be
	// replaced by membership (a dead backup's successor is seeded, then the write goes on) before it
	// is refused with ErrBackupUnreachable. Default 10 s; negative: refuse at the first failure.
	WaitBackup time.Duration
	// CatchUpEntries and CatchUpBytes bound one catch-up message (gRPC's default limit is 4 MiB).
	CatchUpEntries int
	CatchUpBytes   int
	// Quorum, if set, is asked before every fence, hand-over and replicated write; an error
	// (cluster.ErrNoQuorum: this node may be on the minority side of a partition) refuses it.
	Quorum func() error `json:"-"`
	// NodeName, if set, names the member at a Proto.Actor address (its name in the cluster view),
	// so a fork record names nodes the way an operator names them in resolve-fork --keep.
	NodeName func(addr string) string `json:"-"`
}

func (c *Config) defaults() {
	if c.Factor == 0 {
		c.Factor, c.Auto = DefaultFactor, true
	}
	if c.Auto && c.Clustered == nil {
		c.Clustered = func() bool { return true }
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.WaitBackup == 0 {
		c.WaitBackup = 10 * time.Second
	}
	if c.CatchUpEntries <= 0 {
		c.CatchUpEntries = 256
	}
	if c.CatchUpBytes <= 0 {
		c.CatchUpBytes = 2 << 20
	}
}

// Stats are counters for measurements (bytes are protobuf message sizes, excluding gRPC framing).
type Stats struct {
	Requests        atomic.Int64 // requests sent to peers
	BytesSent       atomic.Int64 // request bytes sent
	BytesReceived   atomic.Int64 // reply bytes received
	Replicated      atomic.Int64 // entries acknowledged by a backup in the write path
	CaughtUp        atomic.Int64 // entries pushed to a lagging backup
	Pulled          atomic.Int64 // entries pulled from a backup on activation
	ReplicaEntries  atomic.Int64 // entries this node appended as a replica
	Syncs           atomic.Int64 // activations synced with a backup
	Truncated       atomic.Int64 // diverged tails dropped (on this node as a replica, or locally)
	Forks           atomic.Int64 // forks this node found and recorded
	TakenOver       atomic.Int64 // processes handed over to this node
	HandedOff       atomic.Int64 // processes this node handed to a new owner
	HandoverBytes   atomic.Int64 // request and reply bytes of rebalancing work (hand-overs, seeding), sent or received here
	Rebalances      atomic.Int64 // membership changes rebalanced
	RebalanceNanos  atomic.Int64 // wall time of the last rebalance
	Checkpoints     atomic.Int64 // checkpoints received in hand-overs (verified and stored)
	ResultsReceived atomic.Int64 // stored results received with them (evaluations this node skipped)
	ComputeFailed   atomic.Int64 // hand-overs whose checkpoint did not come (the log is evaluated whole)
	// LastComputeError is why the last of those failed.
	LastComputeError atomic.Pointer[string]
}

// Replicator is both sides of replication on one node: it serves the replication actor for its
// peers and replicates this node's writes to their backups.
type Replicator struct {
	cfg    Config
	system *actor.ActorSystem
	store  *persistence.Store
	place  Placement
	self   string
	stats  Stats
	server *actor.PID
	srv    *server

	active    func(persistence.ID) bool // SetActive: a live activation here (compute.go)
	mu        sync.Mutex
	synced    map[persistence.ID]syncState
	syncLocks [256]sync.Mutex
}

// syncState: this node, as pid's owner, fenced every one of backups at epoch and brought their
// logs level with its own; writes at epoch to exactly those backups may go on without a hand-over.
type syncState struct {
	epoch   uint64
	backups []string
}

// New starts the replication actor on system (named ActorName) and returns the replicator.
func New(system *actor.ActorSystem, store *persistence.Store, place Placement, cfg Config) (*Replicator, error) {
	if err := CheckFactor(cfg.Factor); err != nil {
		return nil, err
	}
	cfg.defaults()
	r := &Replicator{cfg: cfg, system: system, store: store, place: place, self: system.Address(),
		synced: map[persistence.ID]syncState{}}
	srv := &server{store: store, root: system.Root, timeout: cfg.Timeout, maxScan: cfg.CatchUpEntries, stats: &r.stats,
		takeOver: r.takeOver, maxBytes: cfg.CatchUpBytes, pool: warm.New(serverIdle, 0)}
	srv.base, srv.cancel = context.WithCancel(context.Background())
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return srv }), ActorName)
	if err != nil {
		return nil, fmt.Errorf("replication actor: %w", err)
	}
	r.server, r.srv = pid, srv
	return r, nil
}

// serverIdle is how long a parked request goroutine of the replication server waits for the next.
const serverIdle = 10 * time.Second

// Stop stops the replication actor, cancels the requests it still serves and waits for them.
func (r *Replicator) Stop() {
	_ = r.system.Root.StopFuture(r.server).Wait()
	r.srv.stop()
}

// Stats returns the counters.
func (r *Replicator) Stats() *Stats { return &r.stats }

// Factor is the configured replication factor.
func (r *Replicator) Factor() int { return r.cfg.Factor }

// CheckFactor refuses a replication factor the replicator cannot run (0 is the default).
func CheckFactor(f int) error {
	if f < 0 || f > MaxFactor {
		return fmt.Errorf("replication factor %d: must be 1 to %d (0: the default, %d)", f, MaxFactor, DefaultFactor)
	}
	return nil
}

// backupsOf returns the backups pid's writes must reach, in preference order: Factor-1 of them,
// or an error refusing the write (no quorum, or too few members to hold Factor copies). None (nil,
// nil) with factor 1, and for a lone node that was never part of a cluster under Auto.
func (r *Replicator) backupsOf(pid persistence.ID) ([]string, error) {
	if r.cfg.Factor < 2 {
		return nil, nil
	}
	backups := r.place(pid).backupsOf(r.self, r.cfg.Factor)
	if len(backups) == 0 && r.cfg.Auto && !r.cfg.Clustered() {
		return nil, nil // a lone node that was never part of a cluster: factor 1
	}
	// The quorum first: on the minority side of a partition "no quorum" is the reason, whether or
	// not the view still names backups.
	if err := r.quorum(pid); err != nil {
		return nil, err
	}
	if len(backups) < r.cfg.Factor-1 {
		return nil, fmt.Errorf("process %s: %w (replication factor %d, %d of %d backups in the view)",
			b64(pid), ErrNoBackup, r.cfg.Factor, len(backups), r.cfg.Factor-1)
	}
	return backups, nil
}

func (r *Replicator) quorum(pid persistence.ID) error {
	if r.cfg.Quorum == nil {
		return nil
	}
	if err := r.cfg.Quorum(); err != nil {
		return fmt.Errorf("process %s: %w", b64(pid), err)
	}
	return nil
}

// quorumPoll is how often a call waiting on a peer asks the quorum guard again: a member cut off
// in the middle of a write answers "no quorum" within a lease and this, not after Timeout (the
// partition-restart test measured the first "no quorum" at 2.1 s, its Timeout, in 6 of 20 rounds
// when the cut caught a write waiting on the backup).
const quorumPoll = 50 * time.Millisecond

// quorumLost is the guard's refusal met while a call waited.
type quorumLost struct{ err error }

func (q *quorumLost) Error() string { return q.err.Error() }
func (q *quorumLost) Unwrap() error { return q.err }

// await waits for f, or until the quorum guard refuses: the reply of a peer that is still on its
// way then no longer matters (as after a timeout, the write was not acknowledged; what the peer
// appended is reconciled by the next hand-over). A cancelled ctx does not end the wait, as before:
// a client gone is no reason to leave the backup ahead of the owner.
func (r *Replicator) await(f *actor.Future) (any, error) {
	if r.cfg.Quorum == nil {
		return f.Result()
	}
	type answer struct {
		res any
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := f.Result() // ends by the future's own timeout at the latest
		done <- answer{res, err}
	}()
	t := time.NewTicker(quorumPoll)
	defer t.Stop()
	for {
		select {
		case a := <-done:
			return a.res, a.err
		case <-t.C:
			if err := r.cfg.Quorum(); err != nil {
				return nil, &quorumLost{err}
			}
		}
	}
}

// call sends one request to the replication actor at addr and waits for its reply.
func (r *Replicator) call(ctx context.Context, addr string, msg proto.Message) (*replpb.Reply, error) {
	timeout := r.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	r.stats.Requests.Add(1)
	r.stats.BytesSent.Add(int64(proto.Size(msg)))
	res, err := r.await(r.system.Root.RequestFuture(actor.NewPID(addr, ActorName), msg, timeout))
	if err != nil {
		var lost *quorumLost
		if errors.As(err, &lost) {
			return nil, fmt.Errorf("waiting for %s: %w", addr, err)
		}
		return nil, fmt.Errorf("%w %s: %v", ErrBackupUnreachable, addr, err)
	}
	rep, ok := res.(*replpb.Reply)
	if !ok {
		return nil, fmt.Errorf("replication: unexpected reply %T from %s", res, addr)
	}
	r.stats.BytesReceived.Add(int64(proto.Size(rep)))
	if ctx.Value(handoverKey{}) != nil {
		r.stats.HandoverBytes.Add(int64(proto.Size(msg) + proto.Size(rep)))
	}
	return rep, nil
}

// Activate hands process pid over to this node, which placement made its owner: fence every
// backup of its replica set with a higher epoch, bring the local log level with the longest of
// theirs and theirs with it, and raise the local epoch to the fenced one. Afterwards the store's
// epoch is this owner's epoch. If a backup cannot be reached the error says so; the process may
// still serve reads, and Replicate retries the sync before any write.
func (r *Replicator) Activate(ctx context.Context, pid persistence.ID) error {
	backups, err := r.backupsOf(pid)
	if err != nil || len(backups) == 0 {
		return err
	}
	return r.sync(ctx, pid, backups)
}

// CatchUp makes sure this node, about to serve a read of pid as its owner, holds what its backups
// hold: it runs the hand-over unless this node is already synced with the current backups. For a
// process none of them holds it does nothing (a read of a process that does not exist fences
// nothing).
func (r *Replicator) CatchUp(ctx context.Context, pid persistence.ID) error {
	backups, err := r.backupsOf(pid)
	if err != nil || len(backups) == 0 {
		return err
	}
	r.mu.Lock()
	st, ok := r.synced[pid]
	r.mu.Unlock()
	if ok && slices.Equal(st.backups, backups) {
		return nil
	}
	local, err := r.store.State(ctx, pid)
	if err != nil {
		return err
	}
	if !local.Known {
		known := false
		for _, b := range backups {
			rep, err := r.call(ctx, b, &replpb.Fetch{Process: pid[:]}) // its state, no entries
			if err != nil {
				return err
			}
			if rep.Code != replpb.Code_UNKNOWN_PROCESS {
				known = true
				break
			}
		}
		if !known {
			return nil
		}
	}
	return r.sync(ctx, pid, backups)
}

// maxFenceRounds bounds fenceAll's rounds: more means another owner keeps fencing the same
// replicas (a hand-over racing this one), which the caller answers as a fenced owner would.
const maxFenceRounds = 5

// fenceAll fences every peer of pid, in parallel, and returns their replies and the epoch this
// owner now holds on all of them. Each fence raises a replica's epoch to max(its epoch+1, min) and
// so returns a value no other fence of that replica ever returns; the replicas answer different
// epochs, so the ones below the highest are fenced again at it, until every peer's latest fence by
// this node returned the same epoch e. No other owner can get e from any of these replicas, so two
// owners whose replica sets share a member never hold the same epoch (invariant 2), and whoever
// fences a shared member later refuses this owner's writes there. With one peer (factor 2) this is
// the single fence of before.
func (r *Replicator) fenceAll(ctx context.Context, pid persistence.ID, peers []string, min uint64) ([]*replpb.Reply, uint64, error) {
	reps := make([]*replpb.Reply, len(peers))
	need := make([]int, len(peers))
	for i := range need {
		need[i] = i
	}
	epoch := min
	for round := 0; round < maxFenceRounds; round++ {
		errs := make([]error, len(peers))
		var wg sync.WaitGroup
		for _, i := range need {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := r.call(ctx, peers[i], &replpb.Fence{Process: pid[:], MinEpoch: epoch, From: r.self})
				reps[i], errs[i] = rep, err
			}()
		}
		wg.Wait()
		for _, i := range need {
			if errs[i] != nil {
				return nil, 0, fmt.Errorf("process %s: %w", b64(pid), errs[i])
			}
			switch reps[i].Code {
			case replpb.Code_OK, replpb.Code_UNKNOWN_PROCESS:
			default:
				return nil, 0, fmt.Errorf("process %s: fence on %s: %s", b64(pid), peers[i], reps[i].Detail)
			}
			epoch = max(epoch, reps[i].Epoch)
		}
		need = need[:0]
		for i, rep := range reps {
			if rep.Epoch != epoch {
				need = append(need, i)
			}
		}
		if len(need) == 0 {
			return reps, epoch, nil
		}
	}
	return nil, 0, fmt.Errorf("process %s: %w (its replicas' epochs kept rising under %d fences: another owner is taking it over)",
		b64(pid), ErrNotOwner, maxFenceRounds)
}

// sync is the hand-over with peers (the backups of pid's replica set, or the node a hand-over
// takes the log from): fence them all (fenceAll), take the fenced epoch here, then level the logs.
// First the local log is brought level with each peer in turn (reconcile: a diverged tail of lower
// epoch is dropped, wherever it is; then pull what the peer holds beyond it), so that it ends as
// the longest history the epoch rules keep; then each peer is brought level with it (reconciled
// again if the local log changed after that peer's turn, then pushed what it lacks). Every entry
// is checked for hash-chain continuity on arrival.
func (r *Replicator) sync(ctx context.Context, pid persistence.ID, peers []string) error {
	// One hand-over of a process at a time on this node (activation, a write's re-sync, rebalancing).
	l := &r.syncLocks[pid[0]]
	l.Lock()
	defer l.Unlock()
	r.forget(pid)
	if err := r.forked(pid); err != nil {
		return err
	}
	if err := r.quorum(pid); err != nil {
		return err
	}
	local, err := r.store.State(ctx, pid)
	if err != nil {
		return err
	}
	reps, epoch, err := r.fenceAll(ctx, pid, peers, local.Epoch+1)
	if err != nil {
		return err
	}
	r.stats.Syncs.Add(1)
	// The peers' fences are epoch floors of a process they do not hold, or their epochs: epoch
	// is this owner's alone (invariant 2), taken here unless another owner fenced this node since.
	if err := r.claim(ctx, pid, local.Epoch, epoch); err != nil {
		return err
	}
	anyKnown := local.Known
	for _, rep := range reps {
		anyKnown = anyKnown || rep.Code == replpb.Code_OK
	}
	if !anyKnown {
		// A new process, nothing anywhere yet: the floor here is now the epoch, so the spawn
		// registers at it.
		r.remember(pid, syncState{epoch: epoch, backups: peers})
		return nil
	}
	// Level the local log with every peer that holds the process, in list order. changed[i] is
	// the local log's version when peer i was levelled with it.
	version, levelled := 0, make([]int, len(peers))
	for i, rep := range reps {
		if rep.Code != replpb.Code_OK {
			continue
		}
		if local.Known {
			before := local.Count
			if err := r.reconcile(ctx, pid, peers[i], epoch, &local, rep); err != nil {
				return err
			}
			if local.Count != before {
				version++
			}
		}
		if rep.Count > local.Count || !local.Known {
			if err := r.pull(ctx, pid, peers[i], epoch, local.Count, rep.Count, !local.Known); err != nil {
				return err
			}
			local.Known, local.Count = true, rep.Count
			version++
		}
		levelled[i] = version
	}
	// Then every peer with the local log.
	for i, rep := range reps {
		if rep.Code != replpb.Code_OK {
			// A fresh backup: seed it with everything.
			if err := r.push(ctx, pid, peers[i], epoch, 0, true); err != nil {
				return err
			}
			continue
		}
		if levelled[i] != version {
			// The local log changed after this peer's turn (pulled from, or truncated by, a later
			// one): compare again, from the peer's current state.
			st, err := r.call(ctx, peers[i], &replpb.Fetch{Process: pid[:]})
			if err != nil {
				return fmt.Errorf("process %s: %w", b64(pid), err)
			}
			if st.Code != replpb.Code_OK {
				return fmt.Errorf("process %s: state of %s: %s", b64(pid), peers[i], st.Detail)
			}
			rep = st
			count := local.Count
			if err := r.reconcile(ctx, pid, peers[i], epoch, &local, rep); err != nil {
				return err
			}
			if local.Count != count {
				// A later peer's history lost to this one's: this cannot be, since the local log
				// took the higher-epoch tail of both; refuse rather than guess.
				return fmt.Errorf("process %s: %w: %s holds a tail of higher epoch than the one just levelled", b64(pid), ErrResync, peers[i])
			}
		}
		if rep.Count < local.Count {
			if err := r.store.AppendReplicated(ctx, pid, epoch, nil); err != nil {
				return err
			}
			if err := r.push(ctx, pid, peers[i], epoch, rep.Count, false); err != nil {
				return err
			}
		}
	}
	if err := r.store.AppendReplicated(ctx, pid, epoch, nil); err != nil {
		return err
	}
	r.remember(pid, syncState{epoch: epoch, backups: peers})
	return nil
}

// claim takes epoch here, where the local epoch was from when this sync read it: if another owner
// fenced this node (or replicated to it) meanwhile, it may hold the very epoch the backup just gave
// this node, and this node must not write (persistence.ClaimEpoch).
func (r *Replicator) claim(ctx context.Context, pid persistence.ID, from, epoch uint64) error {
	err := r.store.ClaimEpoch(ctx, pid, from, epoch)
	if errors.Is(err, persistence.ErrStaleEpoch) {
		return fmt.Errorf("process %s: %w (%v)", b64(pid), ErrNotOwner, err)
	}
	return err
}

// reconcile finds where the local log and the backup's stop agreeing, if they do, and drops the tail
// of the side whose entry there has the lower epoch (the rule of Raft's log matching: a later epoch's
// history wins; the other tail was never acknowledged, see persistence.TruncateFrom). It updates
// local.Count and rep.Count to what is left. What it cannot settle that way (judge) is a fork: it
// is recorded here and the process is refused with ErrForked until an operator resolves it.
func (r *Replicator) reconcile(ctx context.Context, pid persistence.ID, backup string, epoch uint64, local *persistence.HeadState, rep *replpb.Reply) error {
	w := &logWalk{r: r, ctx: ctx, pid: pid, backup: backup, rep: rep, remote: map[uint64]persistence.Entry{}}
	d, le, re, differ, err := w.firstDifference(min(local.Count, rep.Count))
	if err != nil || !differ {
		return err
	}
	fork := func(reason string) error { return r.markFork(ctx, pid, backup, d, local.Count, rep.Count, reason) }
	switch judge(le, re) {
	case truncateBackup:
		t, err := r.call(ctx, backup, &replpb.Truncate{Process: pid[:], Epoch: epoch, From: d, FromNode: r.self})
		if err != nil {
			return err
		}
		switch t.Code {
		case replpb.Code_OK:
		case replpb.Code_DIVERGED:
			return fork(fmt.Sprintf("%s refused to drop its lower-epoch tail: %s", backup, t.Detail))
		default:
			return fmt.Errorf("process %s: truncate %s from %d: %s", b64(pid), backup, d, t.Detail)
		}
		r.stats.Truncated.Add(1)
		rep.Count = d
	case truncateLocal:
		err := r.store.TruncateFrom(ctx, pid, d, epoch)
		if errors.Is(err, persistence.ErrEvaluated) {
			return fork(fmt.Sprintf("%s refused to drop its lower-epoch tail: %v", r.self, err))
		}
		if err != nil {
			return err
		}
		r.stats.Truncated.Add(1)
		local.Count = d
	default:
		return fork(fmt.Sprintf("entry %d differs at the same epoch %d", d, le.Epoch))
	}
	return nil
}

// logWalk compares the local log of pid with the backup's, fetching the backup's entries in
// windows as it walks back.
type logWalk struct {
	r      *Replicator
	ctx    context.Context
	pid    persistence.ID
	backup string
	rep    *replpb.Reply
	remote map[uint64]persistence.Entry
}

func (w *logWalk) fetch(lo, hi uint64) error {
	es, err := w.r.fetchRange(w.ctx, w.pid, w.backup, lo, hi)
	for _, e := range es {
		w.remote[e.Nonce] = e
	}
	return err
}

// same compares entry n of both logs (equal assignment and link at n: the prefix 0..n agrees).
func (w *logWalk) same(n uint64) (bool, persistence.Entry, persistence.Entry, error) {
	le, err := w.r.store.Entry(w.pid, n)
	if err != nil {
		return false, le, le, err
	}
	if n == w.rep.Count-1 && len(w.rep.LastAssignment) > 0 {
		if toID(w.rep.LastAssignment) == le.AssignmentID && toID(w.rep.LastHashChain) == le.HashChain {
			return true, le, le, nil
		}
	}
	re, ok := w.remote[n]
	if !ok {
		if err := w.fetch(n-min(n, 63), n+1); err != nil {
			return false, le, le, err
		}
		re = w.remote[n]
	}
	return re.AssignmentID == le.AssignmentID && re.HashChain == le.HashChain, le, re, nil
}

// firstDifference returns the first nonce below common where the logs differ and both entries
// there; differ is false when the common prefix agrees.
func (w *logWalk) firstDifference(common uint64) (d uint64, le, re persistence.Entry, differ bool, err error) {
	if common == 0 {
		return 0, le, re, false, nil
	}
	ok, _, _, err := w.same(common - 1)
	if err != nil || ok {
		return 0, le, re, false, err
	}
	d = common - 1
	for d > 0 {
		ok, _, _, err := w.same(d - 1)
		if err != nil {
			return 0, le, re, false, err
		}
		if ok {
			break
		}
		d--
	}
	_, le, re, err = w.same(d)
	return d, le, re, err == nil, err
}

// fetchRange reads the backup's entries [lo, hi).
func (r *Replicator) fetchRange(ctx context.Context, pid persistence.ID, backup string, lo, hi uint64) ([]persistence.Entry, error) {
	var out []persistence.Entry
	for lo < hi {
		f, err := r.call(ctx, backup, &replpb.Fetch{Process: pid[:], From: lo, Max: uint32(min(hi-lo, uint64(r.cfg.CatchUpEntries)))})
		if err != nil {
			return out, err
		}
		if f.Code != replpb.Code_OK || len(f.Entries) == 0 {
			return out, fmt.Errorf("process %s: fetch %d from %s: %s", b64(pid), lo, backup, f.Detail)
		}
		for _, e := range entriesFromWire(pid, f.Entries) {
			if e.Nonce < hi {
				out = append(out, e)
			}
		}
		lo += uint64(len(f.Entries))
	}
	return out, nil
}

// pull fetches entries [from, to) from the backup and appends them locally at epoch.
func (r *Replicator) pull(ctx context.Context, pid persistence.ID, backup string, epoch, from, to uint64, record bool) error {
	for from < to || record {
		rep, err := r.call(ctx, backup, &replpb.Fetch{Process: pid[:], From: from, Max: uint32(r.cfg.CatchUpEntries), WithRecord: record})
		if err != nil {
			return fmt.Errorf("process %s: catch-up from backup: %w", b64(pid), err)
		}
		if rep.Code != replpb.Code_OK {
			return fmt.Errorf("process %s: fetch from %s: %s", b64(pid), backup, rep.Detail)
		}
		if record {
			if rep.Record == nil {
				return fmt.Errorf("process %s: %s sent no process record", b64(pid), backup)
			}
			rec := processFromWire(rep.Record)
			rec.Epoch = epoch
			if err := r.store.PutProcess(ctx, rec); err != nil && !errors.Is(err, persistence.ErrProcessExists) {
				return err
			}
			record = false
		}
		if len(rep.Entries) == 0 {
			if from < to {
				return fmt.Errorf("process %s: %s sent no entries from %d", b64(pid), backup, from)
			}
			break
		}
		es := entriesFromWire(pid, rep.Entries)
		if es[len(es)-1].Nonce >= to {
			es = es[:to-es[0].Nonce]
		}
		if err := r.store.AppendReplicated(ctx, pid, epoch, es); err != nil {
			if errors.Is(err, persistence.ErrHashChain) {
				return fmt.Errorf("process %s: %w: entry %d from %s does not continue the local log: %v", b64(pid), ErrDiverged, from, backup, err)
			}
			return err
		}
		r.stats.Pulled.Add(int64(len(es)))
		from += uint64(len(es))
	}
	return nil
}

// push sends the local entries from `from` on to the backup at epoch (with the process record
// first if record is set or the backup asks for it).
func (r *Replicator) push(ctx context.Context, pid persistence.ID, backup string, epoch, from uint64, record bool) error {
	for {
		var rec *replpb.Process
		if record {
			p, err := r.store.Process(pid)
			if err != nil {
				return err
			}
			rec = processToWire(&p)
		}
		page, err := r.store.Scan(persistence.Query{Process: pid, By: persistence.ByNonce,
			From: persistence.Bound(int64(from) - 1), Limit: r.cfg.CatchUpEntries})
		if err != nil {
			return err
		}
		es := page.Entries
		for n, size := 0, 0; n < len(es); n++ {
			if size += len(es[n].Message) + len(es[n].Assignment); size > r.cfg.CatchUpBytes && n > 0 {
				es = es[:n]
				break
			}
		}
		if len(es) == 0 && !record {
			return nil
		}
		rep, err := r.call(ctx, backup, &replpb.Append{Process: pid[:], Epoch: epoch, Entries: entriesToWire(es), Record: rec, From: r.self})
		if err != nil {
			return fmt.Errorf("process %s: catch-up of backup: %w", b64(pid), err)
		}
		switch rep.Code {
		case replpb.Code_OK:
		case replpb.Code_UNKNOWN_PROCESS:
			if record {
				return fmt.Errorf("process %s: %s refused the process record: %s", b64(pid), backup, rep.Detail)
			}
			record, from = true, 0
			continue
		case replpb.Code_GAP:
			if rep.Count < from {
				from = rep.Count
				continue
			}
			return fmt.Errorf("process %s: %w: backup %s holds %d entries, this node %d", b64(pid), ErrResync, backup, rep.Count, from)
		case replpb.Code_STALE_EPOCH:
			return fmt.Errorf("process %s: %w (backup %s is at epoch %d, this node at %d)", b64(pid), ErrNotOwner, backup, rep.Epoch, epoch)
		case replpb.Code_DIVERGED:
			return fmt.Errorf("process %s: %w: %s", b64(pid), ErrDiverged, rep.Detail)
		default:
			return fmt.Errorf("process %s: backup %s: %s", b64(pid), backup, rep.Detail)
		}
		record = false
		r.stats.CaughtUp.Add(int64(len(es)))
		from += uint64(len(es))
		if len(es) == 0 {
			return nil
		}
	}
}

func (r *Replicator) remember(pid persistence.ID, s syncState) {
	r.mu.Lock()
	r.synced[pid] = s
	r.mu.Unlock()
}

func (r *Replicator) forget(pid persistence.ID) {
	r.mu.Lock()
	delete(r.synced, pid)
	r.mu.Unlock()
}

// Forget drops what the replicator knows of pid (on passivation).
func (r *Replicator) Forget(pid persistence.ID) { r.forget(pid) }

// ForgetAll drops which processes are in sync with which backup, for every process: the next
// read (CatchUp) or write of each runs the hand-over again. For a member that its peers may have
// taken for dead meanwhile (cluster.Provider.OnStale).
func (r *Replicator) ForgetAll() {
	r.mu.Lock()
	r.synced = map[persistence.ID]syncState{}
	r.mu.Unlock()
}

// Replicate makes entries (consecutive, of process pid, scheduled at epoch) durable on every
// backup of pid's replica set, and returns once each has fsync'd them (write-all). The caller appends them locally only
// after that. Errors: ErrBackupUnreachable / ErrNoBackup (refuse the write), ErrNotOwner (stop
// owning the process), ErrResync (reload and schedule again; nothing was written), ErrDiverged.
func (r *Replicator) Replicate(ctx context.Context, pid persistence.ID, epoch uint64, entries []persistence.Entry) error {
	deadline := time.Now().Add(r.cfg.WaitBackup)
	for {
		err := r.replicate(ctx, pid, epoch, entries)
		if !errors.Is(err, ErrBackupUnreachable) || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *Replicator) replicate(ctx context.Context, pid persistence.ID, epoch uint64, entries []persistence.Entry) error {
	backups, err := r.backupsOf(pid)
	if err != nil || len(backups) == 0 || len(entries) == 0 {
		return err
	}
	// A newer owner that took this node as its backup fenced the local store: refuse before the
	// old backups could take a batch no one will acknowledge.
	if local, err := r.store.State(ctx, pid); err != nil {
		return err
	} else if local.Epoch > epoch {
		r.mu.Lock()
		st, ok := r.synced[pid]
		r.mu.Unlock()
		if ok && st.epoch == local.Epoch {
			// This node's own hand-over (rebalancing) raised the epoch: still the owner.
			return fmt.Errorf("process %s: %w (epoch %d, scheduled at %d)", b64(pid), ErrResync, local.Epoch, epoch)
		}
		r.forget(pid)
		return fmt.Errorf("process %s: %w (this node's store is at epoch %d, the write at %d)", b64(pid), ErrNotOwner, local.Epoch, epoch)
	}
	r.mu.Lock()
	st, ok := r.synced[pid]
	r.mu.Unlock()
	if !ok || !slices.Equal(st.backups, backups) || st.epoch != epoch {
		// Not synced with these backups at this epoch (the replica set changed, or a backup was
		// unreachable at activation): hand over now; the caller's schedule is then stale.
		if err := r.sync(ctx, pid, backups); err != nil {
			return err
		}
		r.mu.Lock()
		st = r.synced[pid]
		r.mu.Unlock()
		if st.epoch != epoch {
			return fmt.Errorf("process %s: %w (epoch %d, scheduled at %d)", b64(pid), ErrResync, st.epoch, epoch)
		}
	}
	if len(backups) == 1 {
		return r.appendTo(ctx, pid, backups[0], epoch, entries)
	}
	// Write-all: the batch is acknowledged only once every backup holds it durably, so any one
	// surviving member of the replica set holds every acknowledged entry. The backups are asked
	// in parallel; a refusal by any of them refuses the write.
	errs := make([]error, len(backups))
	var wg sync.WaitGroup
	for i, b := range backups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.appendTo(ctx, pid, b, epoch, entries)
		}()
	}
	wg.Wait()
	return worstError(errs)
}

// worstError is the error of a write to several backups that decides what the owner does next:
// fenced (stop owning) before diverged or forked, before a re-sync, before any other failure,
// before unreachable (which Replicate waits out and retries). Nil when every backup took the batch.
func worstError(errs []error) error {
	rank := func(err error) int {
		switch {
		case err == nil:
			return 0
		case errors.Is(err, ErrNotOwner):
			return 6
		case errors.Is(err, ErrDiverged), errors.Is(err, ErrForked):
			return 5
		case errors.Is(err, ErrResync):
			return 4
		case errors.Is(err, ErrBackupUnreachable):
			return 2
		}
		return 3
	}
	var worst error
	for _, err := range errs {
		if rank(err) > rank(worst) {
			worst = err
		}
	}
	return worst
}

// appendTo makes entries durable on one backup (seeding it first if it lacks the process or the
// entries before them). Any failure drops the sync state: the next write hands over again.
func (r *Replicator) appendTo(ctx context.Context, pid persistence.ID, backup string, epoch uint64, entries []persistence.Entry) error {
	for attempt := 0; ; attempt++ {
		rep, err := r.call(ctx, backup, &replpb.Append{Process: pid[:], Epoch: epoch, Entries: entriesToWire(entries), From: r.self})
		if err != nil {
			r.forget(pid) // resync before the next write: we do not know what the backup holds
			return fmt.Errorf("process %s: %w", b64(pid), err)
		}
		switch rep.Code {
		case replpb.Code_OK:
			r.stats.Replicated.Add(int64(len(entries)))
			return nil
		case replpb.Code_UNKNOWN_PROCESS, replpb.Code_GAP:
			if attempt > 0 || (rep.Code == replpb.Code_GAP && rep.Count > entries[0].Nonce) {
				r.forget(pid)
				return fmt.Errorf("process %s: %w: backup %s holds %d entries", b64(pid), ErrResync, backup, rep.Count)
			}
			from := rep.Count
			if rep.Code == replpb.Code_UNKNOWN_PROCESS {
				from = 0
			}
			if err := r.push(ctx, pid, backup, epoch, from, rep.Code == replpb.Code_UNKNOWN_PROCESS); err != nil {
				r.forget(pid)
				return err
			}
			// The backup now holds the record and everything before entries[0]; send them again.
		case replpb.Code_STALE_EPOCH:
			r.forget(pid)
			return fmt.Errorf("process %s: %w (backup %s is at epoch %d, this node at %d)", b64(pid), ErrNotOwner, backup, rep.Epoch, epoch)
		case replpb.Code_DIVERGED:
			r.forget(pid)
			return fmt.Errorf("process %s: %w: %s", b64(pid), ErrDiverged, rep.Detail)
		default:
			r.forget(pid)
			return fmt.Errorf("process %s: backup %s: %s", b64(pid), backup, rep.Detail)
		}
	}
}

func b64(id persistence.ID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }
