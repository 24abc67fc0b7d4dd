package warm

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs functions on parked goroutines (see the package doc). Use New; a Pool also serves as
// a Proto.Actor dispatcher (Schedule, Throughput).
type Pool struct {
	work       chan func() // unbuffered: a send succeeds only into a parked goroutine
	stop       chan struct{}
	stopOnce   sync.Once
	idle       time.Duration
	throughput int
	running    sync.WaitGroup
	started    atomic.Int64
}

// New returns a pool whose goroutines retire after idle without work. throughput is what
// Throughput reports (Proto.Actor's messages per mailbox run before it yields).
func New(idle time.Duration, throughput int) *Pool {
	return &Pool{work: make(chan func()), stop: make(chan struct{}), idle: idle, throughput: throughput}
}

// Go runs fn on a parked goroutine, or on a new one when none is parked. After Stop it runs fn on
// a new goroutine that does not park.
func (p *Pool) Go(fn func()) {
	select {
	case p.work <- fn:
		return
	default:
	}
	p.running.Add(1)
	p.started.Add(1)
	go p.loop(fn)
}

// Started counts the goroutines the pool started (the rest of the functions ran on parked ones).
func (p *Pool) Started() int64 { return p.started.Load() }

// Schedule is Go, as a Proto.Actor dispatcher.
func (p *Pool) Schedule(fn func()) { p.Go(fn) }

// Throughput is Proto.Actor's messages per mailbox run.
func (p *Pool) Throughput() int { return p.throughput }

func (p *Pool) loop(fn func()) {
	defer p.running.Done()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		fn()
		t.Reset(p.idle)
		select {
		case fn = <-p.work:
		case <-t.C:
			return
		case <-p.stop:
			return
		}
	}
}

// Stop retires the parked goroutines and waits for the running functions to return. Functions
// given to Go later run on goroutines of their own.
func (p *Pool) Stop() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.running.Wait()
}
