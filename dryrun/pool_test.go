package dryrun

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// hold fills the pool: n calls of key that block until release is closed.
func hold(t *testing.T, p *Pool, key string, n int, release chan struct{}) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), key, func(ctx context.Context) error {
				started <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			})
		}()
	}
	for i := 0; i < min(n, p.cfg.Workers); i++ {
		<-started
	}
	return &wg
}

func TestPerProcessCap(t *testing.T) {
	p := New(Config{Workers: 4, Queue: 10, PerProcess: 2, Deadline: time.Minute})
	release := make(chan struct{})
	wg := hold(t, p, "X", 2, release)
	err := p.Do(context.Background(), "X", func(context.Context) error { return nil })
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third dry-run of X: %v, want ErrBusy", err)
	}
	// Another process is not held up by X's cap.
	if err := p.Do(context.Background(), "Y", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("dry-run of Y: %v", err)
	}
	close(release)
	wg.Wait()
}

func TestFullQueueRefusesAtOnce(t *testing.T) {
	p := New(Config{Workers: 1, Queue: 1, PerProcess: 10, Deadline: time.Minute})
	release := make(chan struct{})
	wg := hold(t, p, "A", 2, release) // one running, one queued
	for p.Stats().Waiting < 1 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	err := p.Do(context.Background(), "B", func(context.Context) error { return nil })
	if !errors.Is(err, ErrFull) || time.Since(start) > time.Second {
		t.Fatalf("full pool: %v after %s, want ErrFull at once", err, time.Since(start))
	}
	close(release)
	wg.Wait()
}

// A queued request whose caller has gone never runs.
func TestGoneCallerDropped(t *testing.T) {
	p := New(Config{Workers: 1, Queue: 5, PerProcess: 10, Deadline: time.Minute})
	release := make(chan struct{})
	wg := hold(t, p, "A", 1, release)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	errc := make(chan error, 1)
	go func() { errc <- p.Do(ctx, "B", func(context.Context) error { ran = true; return nil }) }()
	for p.Stats().Waiting < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("gone caller: %v", err)
	}
	close(release)
	wg.Wait()
	if ran || p.Stats().Waiting != 0 {
		t.Fatalf("ran %v, waiting %d", ran, p.Stats().Waiting)
	}
}

func TestDeadlineAndClose(t *testing.T) {
	p := New(Config{Workers: 1, Queue: 5, PerProcess: 10, Deadline: 50 * time.Millisecond})
	err := p.Do(context.Background(), "A", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	p = New(Config{Workers: 1, Queue: 5, PerProcess: 10, Deadline: time.Hour})
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- p.Do(context.Background(), "A", func(ctx context.Context) error { close(started); <-ctx.Done(); return ctx.Err() })
	}()
	<-started
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("running call after Close: %v", err)
	}
	if err := p.Do(context.Background(), "A", func(context.Context) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
