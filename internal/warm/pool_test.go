package warm

import (
	"sync"
	"testing"
	"time"
)

// TestParkedGoroutineRunsTheNext: once a function has returned, its goroutine parks and runs the
// next one; functions run one after another start one goroutine.
func TestParkedGoroutineRunsTheNext(t *testing.T) {
	p := New(time.Minute, 0)
	defer p.Stop()
	for i := range 100 {
		done := make(chan struct{})
		fn := func() { close(done) }
		if i == 0 {
			p.Go(fn)
		} else {
			// What Go tries first; it succeeds once the goroutine has parked.
			deadline := time.Now().Add(5 * time.Second)
			for !handTo(p, fn) {
				if time.Now().After(deadline) {
					t.Fatalf("function %d: no goroutine parked after the last one returned", i)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		<-done
	}
	if n := p.Started(); n != 1 {
		t.Fatalf("%d goroutines started for 100 functions run one after another, want 1", n)
	}
}

// handTo gives fn to a parked goroutine, if one waits now.
func handTo(p *Pool, fn func()) bool {
	select {
	case p.work <- fn:
		return true
	default:
		return false
	}
}

// parked reports whether a goroutine waits for work; it gives it nothing to do.
func parked(p *Pool) bool { return handTo(p, func() {}) }

// TestNeverQueues: functions that wait for each other all start at once, whatever number of
// goroutines are parked, so a pool cannot deadlock what it runs.
func TestNeverQueues(t *testing.T) {
	p := New(time.Minute, 0)
	defer p.Stop()
	const n = 200
	var all sync.WaitGroup
	all.Add(n)
	done := make(chan struct{})
	var finished sync.WaitGroup
	finished.Add(n)
	for range n {
		p.Go(func() {
			defer finished.Done()
			all.Done()
			all.Wait() // returns only once every function has started
		})
	}
	go func() { finished.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("functions waiting for each other did not all run: the pool queued them")
	}
}

// TestIdleAndStopRetire: a parked goroutine retires after the idle period; Stop retires the others
// and waits for running functions; Go still runs functions after Stop.
func TestIdleAndStopRetire(t *testing.T) {
	p := New(20*time.Millisecond, 0)
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	time.Sleep(200 * time.Millisecond) // past the idle period: retired
	if parked(p) {
		t.Fatal("a goroutine is still parked after the idle period")
	}
	p.Stop()
	p = New(time.Minute, 0)
	release := make(chan struct{})
	p.Go(func() { <-release })
	stopped := make(chan struct{})
	go func() { p.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a function was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-stopped
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Go after Stop did not run the function")
	}
}
