package ondemand

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
)

// OpRecover asks a process's owner to recover it from its gateway if it holds nothing of it. Its
// wire name predates this package (it was a node op) and is kept.
const OpRecover = "node.recover"

// ErrRecoveryFailed: the process is not held here and its recovery from the gateway failed (a
// gateway error, or a log that does not check out); retry later.
var ErrRecoveryFailed = errors.New("recovery from the gateway failed")

// RecovererConfig is what a Recoverer recovers from and into.
type RecovererConfig struct {
	Source recovery.Source
	Store  *persistence.Store
	// Gateway names the Source in logs and errors.
	Gateway string
	// Timeout bounds one recovery; AbsentTTL is how long a process the gateway does not have (and
	// an owner that confirmed it holds one) is not asked about again.
	Timeout, AbsentTTL time.Duration
	// Scheduler is this node's scheduler address: a recovered process naming another is logged.
	Scheduler string
	Logger    *slog.Logger
	// Owner returns pid's owner when it is another member (ok false: this node owns it, or there is
	// no placement; nil: a node alone). Forwarder reaches it.
	Owner     func(ctx context.Context, pid ans104.ID) (m awcluster.Member, ok bool)
	Forwarder *awcluster.Forwarder
	// Errors maps every error Ensure returns (the node's translation into API classes); nil: as is.
	Errors func(error) error
}

type recoverCall struct {
	done chan struct{}
	err  error
}

// Recoverer runs at most one recovery per process at a time. A nil *Recoverer recovers nothing.
type Recoverer struct {
	cfg    RecovererConfig
	mu     sync.Mutex
	calls  map[ans104.ID]*recoverCall
	absent map[ans104.ID]time.Time
	// owned: "owner address/pid" -> when that owner last confirmed it holds (or recovered) pid.
	owned map[string]time.Time
	// base is the context every recovery runs under (not an asker's: others may wait for the same
	// one); Stop cancels it and waits for the recoveries it started.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewRecoverer returns a Recoverer; Stop ends it.
func NewRecoverer(cfg RecovererConfig) *Recoverer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Errors == nil {
		cfg.Errors = func(err error) error { return err }
	}
	r := &Recoverer{cfg: cfg, calls: map[ans104.ID]*recoverCall{}, absent: map[ans104.ID]time.Time{}}
	r.base, r.cancel = context.WithCancel(context.Background())
	return r
}

// Stop cancels the recoveries in progress and waits for them to end (the node closes its store
// afterwards). A cancelled recovery leaves its process marked as recovering, and the next start
// resumes it. Nil-safe.
func (r *Recoverer) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// Ensure returns once pid is held locally (in a cluster: by its owner), or the gateway does not have
// it (the caller then answers "not found" as usual), or its recovery failed (ErrRecoveryFailed).
func (r *Recoverer) Ensure(ctx context.Context, pid ans104.ID) error {
	if r == nil {
		return nil
	}
	return r.cfg.Errors(r.ensureAt(ctx, pid, true))
}

// ensureLocal recovers pid on this node whoever owns it (the owner side of OpRecover).
func (r *Recoverer) ensureLocal(ctx context.Context, pid ans104.ID) error {
	return r.cfg.Errors(r.ensureAt(ctx, pid, false))
}

// ensureAt: with route, a process another member owns is recovered there.
func (r *Recoverer) ensureAt(ctx context.Context, pid ans104.ID, route bool) error {
	if _, err := r.cfg.Store.Process(pid); !errors.Is(err, persistence.ErrNotFound) {
		// Held, unless a recovery of it did not finish (then it is resumed below); a store error is
		// reported by the call itself.
		if unfinished, rerr := r.cfg.Store.Recovering(pid); err != nil || rerr != nil || !unfinished {
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
		return fmt.Errorf("waiting for the recovery of process %s from %s: %w", pid, r.cfg.Gateway, ctx.Err())
	}
}

type failedError struct{ err error }

func (e *failedError) Error() string   { return e.err.Error() }
func (e *failedError) Unwrap() []error { return []error{e.err, ErrRecoveryFailed} }

func (r *Recoverer) run(pid ans104.ID, c *recoverCall) {
	// Not the asker's context: a recovery others wait for must not stop when the first asker leaves.
	ctx, cancel := context.WithTimeout(r.base, r.cfg.Timeout)
	defer cancel()
	log := r.cfg.Logger
	log.Info("recovering process from the gateway", "process", pid, "gateway", r.cfg.Gateway)
	rep, err := recovery.Recover(ctx, r.cfg.Source, r.cfg.Store, pid, recovery.Options{Logger: log})
	switch {
	case err == nil:
		if !rep.ModuleVerified {
			log.Warn("recovered module could not be signature-checked; its data is trusted from the gateway",
				"process", pid, "module", rep.Module, "why", rep.ModuleNote)
		}
		if sched := rep.Scheduler; sched != "" && sched != r.cfg.Scheduler {
			log.Warn("recovered process names another scheduler: this node serves it but its new assignments will not verify against the process's Scheduler tag",
				"process", pid, "scheduler", sched, "node", r.cfg.Scheduler)
		}
	case errors.Is(err, recovery.ErrNotOnGateway):
		r.mu.Lock()
		r.absent[pid] = time.Now()
		r.mu.Unlock()
		err = nil
	case errors.Is(err, recovery.ErrAlreadyHeld):
		err = nil
	default:
		log.Error("recovery from the gateway failed", "process", pid, "gateway", r.cfg.Gateway, "err", err)
		err = &failedError{fmt.Errorf("process %s is not held here and recovering it from gateway %s failed: %w", pid, r.cfg.Gateway, err)}
	}
	r.mu.Lock()
	delete(r.calls, pid)
	r.mu.Unlock()
	c.err = err
	close(c.done)
}

// atOwner runs the recovery of pid at its owner when that is another member; done is false when
// this node owns pid (or runs alone) and must recover it itself.
func (r *Recoverer) atOwner(ctx context.Context, pid ans104.ID) (done bool, err error) {
	if r.cfg.Owner == nil {
		return false, nil
	}
	m, ok := r.cfg.Owner(ctx, pid)
	if !ok {
		return false, nil // no placement: recover here, as a single node would
	}
	key := m.Address + "/" + pid.String()
	r.mu.Lock()
	t, ok := r.owned[key]
	r.mu.Unlock()
	if ok && time.Since(t) < r.cfg.AbsentTTL {
		return true, nil // asked a moment ago: every request here would otherwise cost a round trip
	}
	if _, err := recoverOp(nil).Call(ctx, r.cfg.Forwarder, m, &clusterpb.StateRequest{Process: pid[:]}); err != nil {
		return true, fmt.Errorf("process %s is not held here; its owner %s could not make sure it is recovered: %w", pid, m.Address, err)
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

// recoverOp is the owner side of OpRecover (r nil: this node has no gateway, and answers that
// there is nothing to do).
func recoverOp(r *Recoverer) *awcluster.Op[*clusterpb.StateRequest, *clusterpb.Empty] {
	return &awcluster.Op[*clusterpb.StateRequest, *clusterpb.Empty]{Name: OpRecover,
		Serve: func(ctx context.Context, req *clusterpb.StateRequest) (*clusterpb.Empty, error) {
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
		}}
}

// ServeOwner registers the owner side of OpRecover on f (r nil: this node has no gateway, and
// answers that there is nothing to do).
func ServeOwner(f *awcluster.Forwarder, r *Recoverer) { recoverOp(r).Register(f) }
