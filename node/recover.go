package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
)

// RecoveryConfig: recovery of processes from the gateway. A node with a gateway that is asked
// about a process it does not hold rebuilds it from Arweave first (package recovery), once for all
// concurrent askers, then answers.
type RecoveryConfig struct {
	// Gateway is read from; empty: the flush gateway (--gateway), and no recovery without one.
	Gateway string
	// Disabled turns recovery off even with a gateway (--recover-from-gateway=false).
	Disabled bool
	// Timeout bounds one recovery.
	Timeout time.Duration
	// AbsentTTL: a process the gateway does not have is not asked for again for this long, so
	// requests for unknown ids do not each cost a gateway query.
	AbsentTTL time.Duration
	// MaxDataBytes bounds one download from the gateway (a log batch, a module, a checkpoint).
	MaxDataBytes int
	Retry        arweave.Retry
}

// DefaultRecoveryConfig: 10 min per recovery, absent ids remembered 10 s, 256 MiB per download,
// arweave.DefaultRetry.
func DefaultRecoveryConfig() RecoveryConfig {
	return RecoveryConfig{Timeout: 10 * time.Minute, AbsentTTL: 10 * time.Second, MaxDataBytes: 256 << 20, Retry: arweave.DefaultRetry}
}

func (c RecoveryConfig) withDefaults() RecoveryConfig {
	d := DefaultRecoveryConfig()
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.AbsentTTL <= 0 {
		c.AbsentTTL = d.AbsentTTL
	}
	if c.MaxDataBytes <= 0 {
		c.MaxDataBytes = d.MaxDataBytes
	}
	if c.Retry.Attempts <= 0 {
		c.Retry = d.Retry
	}
	return c
}

type recoverCall struct {
	done chan struct{}
	err  error
}

// recoverer runs at most one recovery per process at a time (a single flight: later askers wait
// for the first one's outcome).
type recoverer struct {
	n      *Node
	cfg    RecoveryConfig
	src    recovery.Source
	mu     sync.Mutex
	calls  map[ans104.ID]*recoverCall
	absent map[ans104.ID]time.Time
	// owned: "owner address/pid" -> when that owner last confirmed it holds (or recovered) pid.
	owned map[string]time.Time
	// base is the context every recovery runs under (not an asker's: others may wait for the same
	// one); stop cancels it and waits for the recoveries it started.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRecoverer(n *Node, cfg RecoveryConfig) *recoverer {
	cfg = cfg.withDefaults()
	r := &recoverer{n: n, cfg: cfg, src: recovery.Gateway(arweave.NewGateway(cfg.Gateway), cfg.Retry, cfg.MaxDataBytes),
		calls: map[ans104.ID]*recoverCall{}, absent: map[ans104.ID]time.Time{}}
	r.base, r.cancel = context.WithCancel(context.Background())
	return r
}

// stop cancels the recoveries in progress and waits for them to end (the node closes its store
// afterwards). A cancelled recovery leaves its process marked as recovering, and the next start
// resumes it. Nil-safe.
func (r *recoverer) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// ensure returns once pid is held locally (in a cluster: by its owner), or the gateway does not have it (the caller then
// answers "not found" as usual), or its recovery failed (503 with the reason).
func (r *recoverer) ensure(ctx context.Context, pid ans104.ID) error {
	return r.ensureAt(ctx, pid, true)
}

// ensureLocal recovers pid on this node whoever owns it (the owner side of opRecover).
func (r *recoverer) ensureLocal(ctx context.Context, pid ans104.ID) error {
	return r.ensureAt(ctx, pid, false)
}

// ensureAt: with route, a process another member owns is recovered there (recover_cluster.go).
func (r *recoverer) ensureAt(ctx context.Context, pid ans104.ID, route bool) error {
	if r == nil {
		return nil
	}
	if _, err := r.n.store.Process(pid); !errors.Is(err, persistence.ErrNotFound) {
		// Held, unless a recovery of it did not finish (then it is resumed below); a store error is
		// reported by the call itself.
		if unfinished, rerr := r.n.store.Recovering(pid); err != nil || rerr != nil || !unfinished {
			return nil
		}
	}
	if route {
		if done, err := r.atOwner(ctx, pid); done {
			return err
		}
	}
	r.mu.Lock()
	if t, ok := r.absent[pid]; ok && time.Since(t) < r.cfg.AbsentTTL {
		r.mu.Unlock()
		return nil
	}
	c := r.calls[pid]
	if c == nil {
		c = &recoverCall{done: make(chan struct{})}
		r.calls[pid] = c
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(pid, c)
		}()
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return classify(fmt.Errorf("waiting for the recovery of process %s from %s: %w", pid, r.cfg.Gateway, ctx.Err()))
	}
}

func (r *recoverer) run(pid ans104.ID, c *recoverCall) {
	// Not the asker's context: a recovery others wait for must not stop when the first asker leaves.
	ctx, cancel := context.WithTimeout(r.base, r.cfg.Timeout)
	defer cancel()
	r.n.log.Info("recovering process from the gateway", "process", pid, "gateway", r.cfg.Gateway)
	rep, err := recovery.Recover(ctx, r.src, r.n.store, pid, recovery.Options{Logger: r.n.log})
	switch {
	case err == nil:
		if !rep.ModuleVerified {
			r.n.log.Warn("recovered module could not be signature-checked; its data is trusted from the gateway",
				"process", pid, "module", rep.Module, "why", rep.ModuleNote)
		}
		if sched := rep.Scheduler; sched != "" && sched != r.n.host.Address() {
			r.n.log.Warn("recovered process names another scheduler: this node serves it but its new assignments will not verify against the process's Scheduler tag",
				"process", pid, "scheduler", sched, "node", r.n.host.Address())
		}
	case errors.Is(err, recovery.ErrNotOnGateway):
		r.mu.Lock()
		r.absent[pid] = time.Now()
		r.mu.Unlock()
		err = nil
	case errors.Is(err, recovery.ErrAlreadyHeld):
		err = nil
	default:
		r.n.log.Error("recovery from the gateway failed", "process", pid, "gateway", r.cfg.Gateway, "err", err)
		err = &classified{err: fmt.Errorf("process %s is not held here and recovering it from gateway %s failed: %w", pid, r.cfg.Gateway, err), kind: api.ErrUnavailable}
	}
	r.mu.Lock()
	delete(r.calls, pid)
	r.mu.Unlock()
	c.err = err
	close(c.done)
}

// recoveringBackend is the backend with recovery before every route that names a process.
type recoveringBackend struct {
	*backend
	r *recoverer
}

// apiBackend is the node's api.Backend: recovering from the gateway when one is configured
// (cfg.Gateway, else the flush gateway).
func (n *Node) apiBackend(b *backend, cfg RecoveryConfig, flushGateway string) api.Backend {
	if cfg.Gateway == "" {
		cfg.Gateway = flushGateway
	}
	if cfg.Disabled || cfg.Gateway == "" {
		n.serveRecover(nil)
		return b
	}
	r := newRecoverer(n, cfg)
	n.recoverer = r
	n.serveRecover(r)
	return &recoveringBackend{backend: b, r: r}
}

func (b *recoveringBackend) Submit(ctx context.Context, item *ans104.DataItem) (api.Ack, error) {
	// A Process item creates its process: nothing to recover. A Message may target a process that
	// lives only on Arweave now.
	if kind, _ := ans104.Kind(item); kind == ans104.KindMessage {
		if err := b.r.ensure(ctx, item.TargetID()); err != nil {
			return api.Ack{}, err
		}
	}
	return b.backend.Submit(ctx, item)
}

func (b *recoveringBackend) Assign(ctx context.Context, req api.AssignRequest) (api.Ack, error) {
	if err := b.r.ensure(ctx, req.Process); err != nil {
		return api.Ack{}, err
	}
	return b.backend.Assign(ctx, req)
}

func (b *recoveringBackend) Process(ctx context.Context, pid ans104.ID) (*api.ProcessRecord, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.Process(ctx, pid)
}

func (b *recoveringBackend) LogEntry(ctx context.Context, pid, id ans104.ID) (*api.LogEntry, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.LogEntry(ctx, pid, id)
}

func (b *recoveringBackend) Log(ctx context.Context, pid ans104.ID, q api.LogQuery) (*api.LogPage, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.Log(ctx, pid, q)
}

func (b *recoveringBackend) Latest(ctx context.Context, pid ans104.ID) (*api.LogEntry, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.Latest(ctx, pid)
}

func (b *recoveringBackend) Result(ctx context.Context, pid, id ans104.ID) (*api.Result, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.Result(ctx, pid, id)
}

func (b *recoveringBackend) Results(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.Results(ctx, pid, q)
}

func (b *recoveringBackend) DryRun(ctx context.Context, pid ans104.ID, msg json.RawMessage) (*api.Result, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.DryRun(ctx, pid, msg)
}

func (b *recoveringBackend) State(ctx context.Context, pid ans104.ID) (*api.State, error) {
	if err := b.r.ensure(ctx, pid); err != nil {
		return nil, err
	}
	return b.backend.State(ctx, pid)
}
