package actors

import (
	"github.com/actorweave/actorweave/dryrun"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/internal/warm"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
)

// KindProcess is the grain kind of AO processes.
const KindProcess = "process"

// Config tunes the actors. Every field has a default (DefaultConfig) and a flag on `actorweave node`.
type Config struct {
	// IdleTimeout passivates a process that received nothing for this long: its module instance is
	// dropped (after a checkpoint if it advanced enough) and its actor stops.
	IdleTimeout time.Duration
	// MaxBatch bounds how many submits one durable append of a process carries.
	MaxBatch int
	// MaxPending bounds the submits waiting at one process (its mailbox depth); beyond it a
	// submit is refused with ErrBusy instead of queueing without bound.
	MaxPending int
	// MaxActive bounds the live activations (each may hold a module instance): above it the
	// least recently used idle ones are asked to passivate, whatever IdleTimeout says.
	MaxActive int
	// CheckpointEvery takes a checkpoint of a process's memory every this many evaluations.
	CheckpointEvery int
	// CheckpointOnPassivate takes one on passivation if at least this many evaluations happened
	// since the last (fewer are cheaper to replay than to store).
	CheckpointOnPassivate int
	// CheckpointInterval also takes one after an evaluation when the last checkpoint of the
	// process (or its activation) is at least this old; 0 turns the time-based checkpoint off.
	CheckpointInterval time.Duration
	// EvalChunk is how many entries the evaluator runs before it lets other requests in.
	EvalChunk int
	// LazyEval evaluates a process only when something asks for a result, a dry-run or its state,
	// as the reference compute unit does. The default (false) evaluates every entry as soon as it
	// is durable, which is what pushes outbox messages without anyone asking.
	LazyEval bool
	// PushRetryMax bounds the backoff between delivery attempts of one push.
	PushRetryMax time.Duration
	// CronCatchUp is what happens to cron ticks missed while the node was down: all appended,
	// only the latest of each cron, or none (cron.CatchUpAll, the default, as the reference
	// compute unit generates every tick between its last evaluation and now).
	CronCatchUp cron.Policy
	// CronWorkers bounds the ticker's wake-ups in flight (tick requests to process grains).
	CronWorkers int
	// CronMaxTicks bounds the ticks one wake-up appends per cron; a long catch-up comes in
	// several wake-ups, so it never holds a grain for long.
	CronMaxTicks int
	// MaxReceiveRate is the messages per second one process accepts (cron ticks excepted);
	// beyond it a submit is refused with ErrQuota (HTTP 429), and a push from another process
	// is retried later by the pusher.
	MaxReceiveRate float64
	// MaxSendRate is the outbox pushes per second of one process (messages, spawns,
	// assignments); beyond it the pusher delays them (they are durable; nothing is dropped).
	MaxSendRate float64
	// MaxSpawnsPerMinute is the spawns one process's outboxes may deliver per minute; beyond it
	// they are delayed like sends.
	MaxSpawnsPerMinute float64
	// MaxQueuedPushes bounds one process's undelivered pushes: an evaluation whose pushes would
	// exceed it has them rejected, recorded in its result (Rejected, Quota) and counted.
	MaxQueuedPushes int
	// DryRun bounds the node-wide pool dry-runs run in, apart from the processes' own evaluators
	// (workers, queue, per-process cap, deadline).
	DryRun dryrun.Config
	// MaxResultBytes bounds one evaluation's result (output, messages, spawns, assignments as
	// stored); a larger one is recorded as an Error result instead.
	MaxResultBytes int
	// Certify records a result certificate for every evaluated entry and queues it for the
	// Arweave flush (compute.Certified, arweave/FORMAT.md §6). The node sets it when flushing is on:
	// with nothing draining the queue it would only grow.
	Certify bool
	// CertifyMemoryEvery: a certificate also carries the memory hash after its entry when the
	// process's last one that did is at least this old; 0: never. Not every entry gets one because
	// hashing the whole memory costs more than evaluating: SHA-256 of a 6 MiB aos-like memory took
	// 4.9 ms on this project's 2-core machine (1.3 GB/s with SHA-NI), an Eval ~1 ms. At the 10 s
	// default that is under 0.1 % of a core per busy process.
	CertifyMemoryEvery time.Duration
	// RemoteHost is the address Proto.Actor remote listens on; RemotePort its port (0: chosen by
	// the OS).
	RemoteHost string
	RemotePort int
	Logger     *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{IdleTimeout: 60 * time.Second, MaxBatch: 256, MaxPending: 10_000, MaxActive: 2048,
		CheckpointEvery: 1000, CheckpointOnPassivate: 16,
		EvalChunk: 32, PushRetryMax: 30 * time.Second, RemoteHost: "127.0.0.1",
		CronCatchUp: cron.CatchUpAll, CronWorkers: 32, CronMaxTicks: 256,
		MaxReceiveRate: 1000, MaxSendRate: 100, MaxSpawnsPerMinute: 60, MaxQueuedPushes: 10_000,
		DryRun: dryrun.DefaultConfig(), MaxResultBytes: 4 << 20, CertifyMemoryEvery: 10 * time.Second}
}

// Deps are the host's collaborators.
type Deps struct {
	Store  *persistence.Store
	Engine *runtime.Engine
	// Replication, when set, makes every append durable on the process's backups first and
	// hands processes over between owners (cluster/replication). Nil: a single node.
	Replication Replication
	// Signer is the node key: it signs assignments and pushed items.
	Signer ans104.Signer
	// Clock returns the scheduler's wall clock in ms; BlockHeight the current Arweave height.
	Clock       func() int64
	BlockHeight func() uint64
	Registerer  prometheus.Registerer
	// Cluster, when set, makes this node a member of a cluster: the provider's membership decides
	// where each process lives (route.go). Nil runs a single node.
	Cluster *awcluster.Provider
	// FetchItem, when set, finds an item this node does not hold on the other members (a module
	// published through another node, a message assigned from another node's process).
	FetchItem func(ctx context.Context, id ans104.ID) ([]byte, error)
	// RemoteOptions configure Proto.Actor remote (TLS credentials of the cluster).
	RemoteOptions []remote.ConfigOption
	// ItemProof, when set (a cluster with a key), proves to the owner of a forwarded submit that
	// this member verified its item, and checks such proofs from other members: an owner that
	// checks one does not verify the item's signature again (ops.go, forwardedItem). Nil: every
	// forwarded item is verified by its owner too.
	ItemProof *awcluster.ItemProof
	// Quorum, when set, is asked before a request is routed and before every append: an error
	// (cluster.ErrNoQuorum: this member hears too few of the cluster's known members, so it may
	// be on the minority side of a partition) refuses the request at once, whatever the
	// replication factor. Nil: a single node.
	Quorum func() error
	// WireErrors are sentinels of the packages above this one (the API's status classes) that must
	// keep their identity across nodes too; the forwarder carries them after WireErrors().
	WireErrors awcluster.ErrorTable
	// Recover, when set, is called before an operation that may need a process this node does not
	// hold (op.recover): it returns once the process is held (in a cluster: by its owner), or the
	// gateway does not have it either, or with the reason its recovery failed.
	Recover func(ctx context.Context, pid ans104.ID) error
	// Drive, when set, gives each process's instances their WeaveDrive (weavedrive.Drives.For) and
	// the bytes one message may read through it; nil: no drive (open answers 0).
	Drive func(pid ans104.ID, process, module *ans104.DataItem) (runtime.Drive, int64)
}

// SetRecover installs the recovery of processes from Arweave (Deps.Recover). Call it before the
// node serves requests.
func (h *Host) SetRecover(r func(ctx context.Context, pid ans104.ID) error) { h.recoverFn.Store(&r) }

// recover runs the recovery of pid from Arweave, if one is installed.
func (h *Host) recover(ctx context.Context, pid ans104.ID) error {
	if r := h.recoverFn.Load(); r != nil {
		return (*r)(ctx, pid)
	}
	return nil
}

// SetQuorum installs the quorum guard (Deps.Quorum). Call it before the node serves requests.
func (h *Host) SetQuorum(q func() error) { h.deps.Quorum = q }

// checkQuorum is the guard of Deps.Quorum (nil error without one).
func (h *Host) checkQuorum() error {
	if h.deps.Quorum == nil {
		return nil
	}
	return h.deps.Quorum()
}

// Host runs the process grains of one node.
type Host struct {
	cfg         Config
	deps        Deps
	log         *slog.Logger
	system      *actor.ActorSystem
	cluster     *cluster.Cluster
	lookup      *lookup
	members     awcluster.Membership
	labels      labelsCache
	fwd         *awcluster.Forwarder
	props       *actor.Props
	address     string // the node key's wallet address (the Scheduler of its processes)
	pusher      *pusher
	ticker      *ticker
	metrics     *metrics
	sweepC      chan struct{}
	unsubscribe func()
	sweepWG     sync.WaitGroup
	dry         *dryrun.Pool
	// evalCtx is what evaluations run under; Stop cancels it, so that a message still running
	// (a loop waiting for its deadline) is cut short instead of holding the stop for that long.
	evalCtx  context.Context
	stopEval context.CancelFunc
	// appendCtx is what durable appends (backup first, then the local log) run under, and
	// appends counts those in flight, and the grains' hand-overs: Stop waits for them, cancelling
	// after appendGrace an append that hangs on an unreachable backup (its clients get no
	// acknowledgement, as for any failure).
	// lifeCtx is what the host's own operations run under (hand-overs, module fetches, push
	// deliveries, cron ticks; opContext): Stop cancels it first, so none holds shutdown up.
	lifeCtx       context.Context
	stopLife      context.CancelFunc
	appendCtx     context.Context
	stopAppends   context.CancelFunc
	appends       sync.WaitGroup
	appendMu      sync.Mutex
	appendsClosed bool // set by Stop: no new append starts (a grain activated late gets ErrStopping)
	// warm runs the grains' and evaluators' mailboxes and the appends on goroutines whose stacks
	// have already grown (internal/warm: stack copying was about 10% of the acknowledgement
	// path's CPU).
	warm *warm.Pool

	processes atomic.Int64 // registered processes (active + passive)
	// recoverFn is Deps.Recover, or what SetRecover installed later (read by every operation).
	recoverFn atomic.Pointer[func(ctx context.Context, pid ans104.ID) error]

	modMu   sync.Mutex
	modules map[ans104.ID]*loadedModule
}

type loadedModule struct {
	once sync.Once
	item *ans104.DataItem
	mod  *runtime.Module
	tags *ans104.Module
	err  error
}

// Start starts the actor system, the single-member cluster and the pusher, and resumes delivering
// the pushes a previous run left undelivered. Crons tick once StartCrons is called.
func Start(cfg Config, deps Deps) (*Host, error) {
	d := DefaultConfig()
	orDefault(&cfg.IdleTimeout, d.IdleTimeout)
	orDefault(&cfg.MaxBatch, d.MaxBatch)
	orDefault(&cfg.MaxPending, d.MaxPending)
	orDefault(&cfg.MaxActive, d.MaxActive)
	orDefault(&cfg.CheckpointEvery, d.CheckpointEvery)
	orDefault(&cfg.CheckpointOnPassivate, d.CheckpointOnPassivate)
	orDefault(&cfg.EvalChunk, d.EvalChunk)
	orDefault(&cfg.PushRetryMax, d.PushRetryMax)
	orDefault(&cfg.CronWorkers, d.CronWorkers)
	orDefault(&cfg.CronMaxTicks, d.CronMaxTicks)
	orDefault(&cfg.MaxReceiveRate, d.MaxReceiveRate)
	orDefault(&cfg.MaxSendRate, d.MaxSendRate)
	orDefault(&cfg.MaxSpawnsPerMinute, d.MaxSpawnsPerMinute)
	orDefault(&cfg.MaxQueuedPushes, d.MaxQueuedPushes)
	orDefault(&cfg.MaxResultBytes, d.MaxResultBytes)
	if cfg.CronCatchUp == 0 {
		cfg.CronCatchUp = d.CronCatchUp
	}
	if cfg.RemoteHost == "" {
		cfg.RemoteHost = d.RemoteHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Host{cfg: cfg, deps: deps, log: cfg.Logger.With("component", "actors"), lookup: newLookup(),
		address: ans104.Address(deps.Signer.SignatureType(), deps.Signer.Owner()), modules: map[ans104.ID]*loadedModule{},
		dry: dryrun.New(cfg.DryRun)}
	if deps.Recover != nil {
		h.SetRecover(deps.Recover)
	}
	h.evalCtx, h.stopEval = context.WithCancel(context.Background())
	h.lifeCtx, h.stopLife = context.WithCancel(context.Background())
	h.appendCtx, h.stopAppends = context.WithCancel(context.Background())
	n, err := deps.Store.CountProcesses()
	if err != nil {
		return nil, err
	}
	h.processes.Store(int64(n))
	h.metrics = newMetrics(deps.Registerer, h)
	// Proto.Actor logs every start, stop and topology change at Info; keep only its warnings.
	paLog := slog.New(minLevel{h: cfg.Logger.Handler(), min: slog.LevelWarn}).With("component", "protoactor")
	h.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return paLog }))
	h.warm = warm.New(warmIdle, mailboxThroughput)
	kind := cluster.NewKind(KindProcess, actor.PropsFromProducer(func() actor.Actor { return &processActor{host: h} }, actor.WithDispatcher(h.warm)))
	var provider cluster.ClusterProvider = &singleMember{kinds: []string{KindProcess}}
	if deps.Cluster != nil {
		provider = deps.Cluster
	}
	// Protoactor's heartbeat expiry would block members memberlist still trusts (two failure
	// detectors; docs/design.md §8): memberlist alone decides.
	ccfg := cluster.Configure("actorweave", provider, h.lookup, remote.Configure(cfg.RemoteHost, cfg.RemotePort, deps.RemoteOptions...),
		cluster.WithKinds(kind), cluster.WithHeartbeatExpiration(365*24*time.Hour))
	// Protoactor's own gossip is off: memberlist is the one failure detector, and the gossip
	// actor's BlockList.Block races with the unlocked BlockList.IsBlocked of every topology
	// update in this version (found by -race with three members).
	ccfg.GossipInterval = 24 * time.Hour
	h.cluster = cluster.New(h.system, ccfg)
	h.lookup.spawn = h.spawn
	if err := startMember(h.cluster); err != nil {
		func() { defer func() { _ = recover() }(); h.cluster.Shutdown(false) }()
		return nil, err
	}
	if deps.Cluster != nil {
		h.members = deps.Cluster
	} else {
		h.members = awcluster.NewStatic(awcluster.Member{ID: h.system.ID, Name: h.address, Address: h.system.Address(), Capacity: 1})
	}
	if h.fwd, err = awcluster.NewForwarder(h.system, func() uint64 { return h.members.View().Seq }, append(WireErrors(), deps.WireErrors...)); err != nil {
		h.cluster.Shutdown(false)
		return nil, err
	}
	h.serveOps()
	h.props = h.cluster.GetClusterKind(KindProcess).Props
	h.pusher = newPusher(h)
	h.sweepC = make(chan struct{})
	h.sweepWG.Add(2)
	go h.sweep()
	views, unsubscribe := h.members.Subscribe()
	h.unsubscribe = unsubscribe
	go h.followViews(views, h.sweepC)
	h.ticker = newTicker(h) // before any grain can spawn a process and register its crons
	if err := h.pusher.resume(); err != nil {
		h.Stop(context.Background())
		return nil, err
	}
	return h, nil
}

// sweep asks activations idle for IdleTimeout to passivate, and the least recently used ones when
// there are more than MaxActive; each decides whether it can.
func (h *Host) sweep() {
	defer h.sweepWG.Done()
	every := min(max(h.cfg.IdleTimeout/4, 5*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.sweepC:
			return
		case now := <-t.C:
			for _, pid := range h.lookup.idle(now.Add(-h.cfg.IdleTimeout)) {
				h.system.Root.Send(pid, &idleCheck{})
			}
			if over := h.lookup.active() - h.cfg.MaxActive; over > 0 {
				for _, pid := range h.lookup.leastRecentlyUsed(over) {
					h.system.Root.Send(pid, &idleCheck{})
				}
			}
		}
	}
}

func (h *Host) spawn(identity string) (*actor.PID, error) {
	props := cluster.WithClusterIdentity(h.props, &cluster.ClusterIdentity{Identity: identity, Kind: KindProcess})
	return h.system.Root.SpawnNamed(props, "process/"+identity)
}

// Stop passivates every process (checkpointing as on idle), stops delivering and shuts the actor
// system down.
func (h *Host) Stop(ctx context.Context) error {
	h.stopLife() // the host's own operations in flight end now (opContext)
	// Dry-runs first: they are nobody's state, and a queued one must not hold up the grains.
	if err := h.dry.Close(ctx); err != nil {
		h.log.Warn("stopping dry-runs", "err", err)
	}
	if h.ticker != nil {
		h.ticker.stop()
	}
	h.stopEval() // evaluations in progress end now, without a result (evalNext)
	close(h.sweepC)
	h.sweepWG.Wait()
	h.unsubscribe()
	h.pusher.stop()
	for _, pid := range h.lookup.pids() {
		_ = h.system.Root.PoisonFuture(pid).Wait()
	}
	h.waitAppends()
	h.warm.Stop()
	h.fwd.Stop()
	h.cluster.Shutdown(false)
	if h.deps.Cluster != nil {
		// Shutdown(false) never calls the provider: leave memberlist ourselves, gracefully, so
		// peers update their views at once instead of after a failure-detection timeout.
		_ = h.deps.Cluster.Shutdown(true)
	}
	return nil
}

// warmIdle is how long a parked mailbox goroutine waits for work before it retires;
// mailboxThroughput is Proto.Actor's default messages per mailbox run.
const (
	warmIdle          = 10 * time.Second
	mailboxThroughput = 300
)

// appendGrace is how long Stop lets the appends in flight finish before cancelling them.
const appendGrace = 5 * time.Second

// waitAppends waits for the appends in flight (before the transport to the backups stops),
// cancelling them after appendGrace.
func (h *Host) waitAppends() {
	h.appendMu.Lock()
	h.appendsClosed = true
	h.appendMu.Unlock()
	done := make(chan struct{})
	go func() {
		h.appends.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(appendGrace):
		h.log.Warn("appends still in flight at shutdown: cancelling them", "after", appendGrace)
		h.stopAppends()
		<-done
	}
	h.stopAppends()
}

// opContext bounds one of the host's own operations (not a client's request, which carries its
// own deadline) by d and by the host's life: Stop cancels it.
func (h *Host) opContext(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.lifeCtx, d)
}

// startAppend counts an append (or a hand-over) in flight; false once Stop waits for them.
func (h *Host) startAppend() bool {
	h.appendMu.Lock()
	defer h.appendMu.Unlock()
	if h.appendsClosed {
		return false
	}
	h.appends.Add(1)
	return true
}

// Address is the node key's wallet address.
func (h *Host) Address() string { return h.address }

// Active is the number of processes with a live activation.
func (h *Host) Active() int { return h.lookup.active() }

// startMember starts the cluster member; protoactor panics when the provider fails, we return it.
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("cluster: %v", r)
			}
		}
	}()
	c.StartMember()
	return nil
}

// Members is the node's membership (a single member when no cluster is configured).
func (h *Host) Members() awcluster.Membership { return h.members }

// Forwarder is the node-to-node protocol endpoint: the node registers its own ops on it.
func (h *Host) Forwarder() *awcluster.Forwarder { return h.fwd }

// ActorSystemID is this incarnation's member id.
func (h *Host) ActorSystemID() string { return h.system.ID }

// requestGrain sends msg to the local grain of pid and waits for its reply. It is the only way
// requests reach grains: one attempt, our own timeout, and a re-resolve only when the activation
// was already gone (a dead letter means the message was never processed, so resending is safe).
func (h *Host) requestGrain(ctx context.Context, pid ans104.ID, msg any) (any, error) {
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	identity := pid.String()
	for attempt := 0; ; attempt++ {
		a, err := h.lookup.acquire(ctx, identity)
		if err != nil {
			return nil, err
		}
		res, err := h.system.Root.RequestFuture(a.pid, msg, timeout).Result()
		h.lookup.release(a)
		if errors.Is(err, actor.ErrDeadLetter) && attempt < 5 {
			h.lookup.stopped(identity, a.pid)
			continue
		}
		if errors.Is(err, actor.ErrTimeout) {
			return nil, fmt.Errorf("process %s did not answer within %v: %w", pid, timeout.Round(time.Millisecond), context.DeadlineExceeded)
		}
		return res, err
	}
}

// module loads and compiles a module once per host.
func (h *Host) module(ctx context.Context, id ans104.ID) (*loadedModule, error) {
	h.modMu.Lock()
	lm := h.modules[id]
	if lm == nil {
		lm = &loadedModule{}
		h.modules[id] = lm
	}
	h.modMu.Unlock()
	lm.once.Do(func() {
		it, err := h.deps.Store.GetItem(id)
		if errors.Is(err, persistence.ErrNotFound) && h.deps.FetchItem != nil {
			// Published through another member: fetch it, verified, and keep it (modules never change).
			var raw []byte
			if raw, err = h.deps.FetchItem(ctx, id); err == nil {
				err = h.keepFetched(ctx, raw, &it)
			}
		}
		if err != nil {
			lm.err = fmt.Errorf("module %s: %w", id, err)
			return
		}
		item, err := ans104.Parse(it.Raw, ans104.Limits{})
		if err != nil {
			lm.err = fmt.Errorf("module %s: %w", id, err)
			return
		}
		if lm.tags, err = ans104.AsModule(item); err != nil {
			lm.err = fmt.Errorf("module %s: %w", id, err)
			return
		}
		lm.item = item
		if lm.mod, err = h.deps.Engine.Compile(ctx, item.Data, lm.tags.Format); err != nil {
			lm.err = fmt.Errorf("module %s: %w", id, err)
		}
	})
	if lm.err != nil {
		// Do not cache failures for ever: a module published later, or a transient error, retries.
		h.modMu.Lock()
		if h.modules[id] == lm {
			delete(h.modules, id)
		}
		h.modMu.Unlock()
	}
	return lm, lm.err
}

// keepFetched verifies an item fetched from a member and stores it.
func (h *Host) keepFetched(ctx context.Context, raw []byte, out *persistence.Item) error {
	item, err := ans104.ParseAndVerify(raw, ans104.Limits{})
	if err != nil {
		return fmt.Errorf("%w: item fetched from a member: %v", persistence.ErrInvalid, err)
	}
	*out = persistence.Item{ID: item.ID(), Raw: item.Bytes(), Owner: item.OwnerAddress(), Tags: storeTags(item.Tags),
		Timestamp: h.deps.Clock(), BlockHeight: h.deps.BlockHeight()}
	return h.deps.Store.PutItem(ctx, *out)
}

// minLevel is a slog handler that drops records below min.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{h: m.h.WithGroup(g), min: m.min} }

// orDefault replaces a zero or negative setting with its default.
func orDefault[T int | time.Duration | float64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
