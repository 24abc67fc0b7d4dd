package actors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

// slowHandover is a Replication whose hand-over waits for the test (or the host's stop) and then
// fails as a backup out of reach would.
type slowHandover struct {
	deaf    bool // the hand-over does not heed its context (only release ends it)
	calls   atomic.Int32
	started chan struct{} // one send per call
	release chan struct{} // closed: hand-overs end
}

func (s *slowHandover) Activate(ctx context.Context, _ persistence.ID) error {
	s.calls.Add(1)
	s.started <- struct{}{}
	if s.deaf {
		<-s.release
		return errors.New("backup out of reach")
	}
	select {
	case <-s.release:
		return errors.New("backup out of reach")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slowHandover) Replicate(context.Context, persistence.ID, uint64, []persistence.Entry) error {
	return nil
}
func (s *slowHandover) Forget(persistence.ID)                         {}
func (s *slowHandover) CatchUp(context.Context, persistence.ID) error { return nil }

func startTestHost(t *testing.T, cfg Config, r Replication, with ...func(*Deps)) *Host {
	t.Helper()
	st, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	signer, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Store: st, Signer: signer, Registerer: prometheus.NewRegistry(),
		Clock: func() int64 { return time.Now().UnixMilli() }, BlockHeight: func() uint64 { return 1 }}
	for _, w := range with {
		w(&deps)
	}
	h, err := Start(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.SetReplication(r)
	return h
}

// The real-component version of these two tests is node's TestClusterHandoverWithFrozenBackup (a
// backup frozen with SIGSTOP holds a real hand-over open). These keep a scripted Replication for
// what only it can show: one hand-over for all the requests that waited, and Stop waiting for a
// hand-over that does not end by itself.

// TestHandoverOffTheMailbox: while an activation's hand-over runs, its grain keeps answering:
// requests beyond MaxPending are refused with ErrBusy at once, the others wait and, when the
// hand-over fails, are answered with its error without trying it again for each; a new request
// asks for one more try.
func TestHandoverOffTheMailbox(t *testing.T) {
	r := &slowHandover{started: make(chan struct{}, 8), release: make(chan struct{})}
	h := startTestHost(t, Config{MaxPending: 2, IdleTimeout: time.Hour}, r)
	defer h.Stop(context.Background())
	pid := ans104.ID{1, 2, 3}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := h.lookup.acquire(ctx, pid.String())
	if err != nil {
		t.Fatal(err)
	}
	defer h.lookup.release(a)
	<-r.started // the hand-over runs
	// From one goroutine, so the grain receives them in this order.
	f1 := h.system.Root.RequestFuture(a.pid, &stateRequest{}, 20*time.Second)
	f2 := h.system.Root.RequestFuture(a.pid, &tickRequest{}, 20*time.Second)
	f3 := h.system.Root.RequestFuture(a.pid, &stateRequest{}, 20*time.Second)
	res, err := f3.Result()
	if err != nil || !errors.Is(replyError(res), ErrBusy) {
		t.Fatalf("third request during the hand-over: %v, %v; want ErrBusy", res, err)
	}
	close(r.release)
	for i, f := range []interface{ Result() (any, error) }{f1, f2} {
		res, err := f.Result()
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if e := replyError(res); e == nil || !strings.Contains(e.Error(), "replicas cannot be reached: backup out of reach") {
			t.Fatalf("request %d: %v; want the hand-over's failure", i+1, e)
		}
	}
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("%d hand-overs for the requests that waited; want 1", n)
	}
	// A new request tries once more (and fails the same way).
	res, err = h.system.Root.RequestFuture(a.pid, &stateRequest{}, 20*time.Second).Result()
	if err != nil || replyError(res) == nil {
		t.Fatalf("new request: %v, %v", res, err)
	}
	if n := r.calls.Load(); n != 2 {
		t.Fatalf("%d hand-overs after a new request; want 2", n)
	}
}

// TestStopDuringHandover: a host stopping while a hand-over runs answers what waits for it with
// ErrStopping (nothing is left without a reply), and waits for the hand-over to end.
func TestStopDuringHandover(t *testing.T) {
	r := &slowHandover{deaf: true, started: make(chan struct{}, 8), release: make(chan struct{})}
	h := startTestHost(t, Config{IdleTimeout: time.Hour}, r)
	pid := ans104.ID{4, 5, 6}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.requestGrain(ctx, pid, &stateRequest{})
			if err == nil {
				err = replyError(res)
			}
			errs <- err
		}()
	}
	<-r.started
	time.Sleep(50 * time.Millisecond) // let the requests reach the grain
	time.AfterFunc(500*time.Millisecond, func() { close(r.release) })
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.release:
	default:
		t.Fatal("Stop returned before the hand-over ended")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrStopping) {
			t.Fatalf("request during a stopping hand-over: %v; want ErrStopping", err)
		}
	}
}

// replyError is the refusal a grain's reply carries (nil for none).
func replyError(res any) error {
	if r, ok := res.(grainReply); ok {
		return r.failure()
	}
	return nil
}
