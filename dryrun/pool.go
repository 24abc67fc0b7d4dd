package dryrun

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Config bounds the pool. Every field has a default (DefaultConfig) and a flag on `actorweave node`.
type Config struct {
	Workers    int           // evaluations running at once, node-wide
	Queue      int           // evaluations waiting for a worker, node-wide; more are refused (ErrFull)
	PerProcess int           // evaluations of one process queued or running; more are refused (ErrBusy)
	Deadline   time.Duration // wall-clock bound of one dry-run, queueing included
}

// DefaultConfig: two workers (a dry-run is one core's work), 64 waiting, 4 per process, 5 s.
func DefaultConfig() Config {
	return Config{Workers: 2, Queue: 64, PerProcess: 4, Deadline: 5 * time.Second}
}

var (
	// ErrFull: every worker is busy and the queue is full (HTTP 503: try later).
	ErrFull = errors.New("dry-run pool full")
	// ErrBusy: the process already has its share of dry-runs queued or running (HTTP 429).
	ErrBusy = errors.New("too many dry-runs of this process")
	// ErrClosed: the node is shutting down.
	ErrClosed = errors.New("dry-run pool closed")
)

// Pool runs functions with bounded concurrency. The zero value is not usable: use New.
type Pool struct {
	cfg     Config
	slots   chan struct{}
	mu      sync.Mutex
	closed  bool
	waiting int
	perKey  map[string]int
	running sync.WaitGroup
	stop    context.Context
	stopNow context.CancelFunc
}

// New makes a pool; zero fields of cfg take DefaultConfig's values.
func New(cfg Config) *Pool {
	d := DefaultConfig()
	if cfg.Workers <= 0 {
		cfg.Workers = d.Workers
	}
	if cfg.Queue < 0 {
		cfg.Queue = 0
	}
	if cfg.PerProcess <= 0 {
		cfg.PerProcess = d.PerProcess
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = d.Deadline
	}
	stop, stopNow := context.WithCancel(context.Background())
	return &Pool{cfg: cfg, slots: make(chan struct{}, cfg.Workers), perKey: map[string]int{}, stop: stop, stopNow: stopNow}
}

// Config returns the pool's bounds, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// Do runs fn in the pool on behalf of key (a process id). It returns at once with ErrBusy or
// ErrFull when the bounds are reached, waits for a worker otherwise (giving up, without running
// fn, when ctx ends), and runs fn with a context that ends at the pool's deadline, when ctx ends
// or when the pool closes. fn runs on the caller's goroutine.
func (p *Pool) Do(ctx context.Context, key string, fn func(context.Context) error) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.perKey[key] >= p.cfg.PerProcess:
		p.mu.Unlock()
		return fmt.Errorf("%w: %d queued or running (--dry-run-per-process %d)", ErrBusy, p.perKey[key], p.cfg.PerProcess)
	case p.waiting >= p.cfg.Queue && len(p.slots) == cap(p.slots):
		p.mu.Unlock()
		return fmt.Errorf("%w: %d running, %d waiting (--dry-run-workers %d, --dry-run-queue %d)", ErrFull, cap(p.slots), p.waiting, p.cfg.Workers, p.cfg.Queue)
	}
	p.perKey[key]++
	p.waiting++
	p.running.Add(1)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.perKey[key]--; p.perKey[key] == 0 {
			delete(p.perKey, key)
		}
		p.mu.Unlock()
		p.running.Done()
	}()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Deadline)
	defer cancel()
	defer context.AfterFunc(p.stop, cancel)()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		// The caller went away (or waited its whole deadline): nothing is run for it.
		p.dequeued()
		if p.stop.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("dry-run not started: %w", context.Cause(ctx))
	}
	p.dequeued()
	defer func() { <-p.slots }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dry-run not started: %w", err)
	}
	return fn(ctx)
}

func (p *Pool) dequeued() {
	p.mu.Lock()
	p.waiting--
	p.mu.Unlock()
}

// Close refuses new work, cancels what waits or runs, and waits for it to return (bounded by ctx).
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stopNow()
	done := make(chan struct{})
	go func() { p.running.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dry-run pool: evaluations still running: %w", ctx.Err())
	}
}

// Stats is a snapshot of the pool's occupancy.
type Stats struct{ Running, Waiting int }

// Stats returns how many evaluations run and wait now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Running: len(p.slots), Waiting: p.waiting}
}
