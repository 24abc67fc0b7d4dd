package ondemand

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
)

// emptyGateway is an HTTP gateway that holds nothing (every GraphQL query has no edges), counting
// the queries it answers; hold, while non-nil, keeps each request waiting until it is closed.
type emptyGateway struct {
	*httptest.Server
	queries atomic.Int64
	mu      sync.Mutex
	hold    chan struct{}
}

func newEmptyGateway(t *testing.T) *emptyGateway {
	g := &emptyGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		g.queries.Add(1)
		g.mu.Lock()
		hold := g.hold
		g.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"transactions":{"pageInfo":{"hasNextPage":false},"edges":[]}}}`)
	}))
	t.Cleanup(func() { g.CloseClientConnections(); g.Close() })
	return g
}

func (g *emptyGateway) setHold(c chan struct{}) { g.mu.Lock(); g.hold = c; g.mu.Unlock() }

// perRecovery is the gateway queries of one recovery of a process the gateway does not have: its
// checkpoints, then its log batches.
const perRecovery = 2

func newTestRecoverer(t *testing.T, g *emptyGateway, cfg RecovererConfig) *Recoverer {
	t.Helper()
	st, err := persistence.Open(filepath.Join(t.TempDir(), "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Source = recovery.Gateway(arweave.NewGateway(g.URL), arweave.Retry{Attempts: 1}, 1<<20)
	cfg.Store, cfg.Gateway, cfg.Timeout = st, g.URL, time.Minute
	if cfg.AbsentTTL == 0 {
		cfg.AbsentTTL = time.Minute
	}
	r := NewRecoverer(cfg)
	t.Cleanup(r.Stop)
	return r
}

// TestRecovererSingleFlight: concurrent askers of one unknown process share one recovery; the
// gateway's "not here" is remembered for AbsentTTL; an asker that leaves does not stop the
// recovery others wait for; Stop cancels the one in progress.
func TestRecovererSingleFlight(t *testing.T) {
	g := newEmptyGateway(t)
	r := newTestRecoverer(t, g, RecovererConfig{})
	pid := ans104.ID{1, 2, 3}

	hold := make(chan struct{})
	g.setHold(hold)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Ensure(context.Background(), pid)
		}()
	}
	// One asker gives up; the recovery goes on for the others.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if err := r.Ensure(ctx, pid); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an asker that gave up: %v, want its deadline", err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for g.queries.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	g.setHold(nil)
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a process the gateway does not have: %v, want nil (the caller answers not found)", err)
		}
	}
	if q := g.queries.Load(); q != perRecovery {
		t.Fatalf("%d gateway queries for 9 concurrent askers, want one recovery's %d", q, perRecovery)
	}
	if err := r.Ensure(context.Background(), pid); err != nil || g.queries.Load() != perRecovery {
		t.Fatalf("asked again within AbsentTTL: %v, %d queries; want nil and no new query", err, g.queries.Load())
	}

	// Stop cancels a recovery in progress rather than waiting for the gateway.
	g.setHold(make(chan struct{}))
	go func() { _ = r.Ensure(context.Background(), ans104.ID{4, 5, 6}) }()
	for g.queries.Load() <= perRecovery {
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { r.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop waited for the gateway instead of cancelling the recovery")
	}
}

// TestRecovererFailure: a gateway that fails makes the recovery fail with ErrRecoveryFailed (after
// the node's error mapping), and nothing is remembered: the next asker tries again.
func TestRecovererFailure(t *testing.T) {
	g := newEmptyGateway(t)
	g.Close() // refused connections
	mapped := errors.New("mapped")
	r := newTestRecoverer(t, g, RecovererConfig{Errors: func(err error) error {
		if err == nil {
			return nil
		}
		return errors.Join(mapped, err)
	}})
	for range 2 {
		err := r.Ensure(context.Background(), ans104.ID{7})
		if !errors.Is(err, ErrRecoveryFailed) || !errors.Is(err, mapped) {
			t.Fatalf("recovery from a dead gateway: %v, want ErrRecoveryFailed through Errors", err)
		}
	}
}

// TestRecovererAtOwner: a process another member owns is recovered by that owner (OpRecover over
// the forwarder), not here; the owner's answer is remembered for AbsentTTL.
func TestRecovererAtOwner(t *testing.T) {
	system := actor.NewActorSystem()
	f, err := awcluster.NewForwarder(system, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	ownerGW, askerGW := newEmptyGateway(t), newEmptyGateway(t)
	owner := newTestRecoverer(t, ownerGW, RecovererConfig{})
	ServeOwner(f, owner)
	m := awcluster.Member{ID: "owner-1", Name: "owner", Address: system.Address()}
	asked := atomic.Int64{}
	asker := newTestRecoverer(t, askerGW, RecovererConfig{Forwarder: f, Owner: func(context.Context, ans104.ID) (awcluster.Member, bool) {
		asked.Add(1)
		return m, true
	}})
	pid := ans104.ID{9, 9}
	for range 3 {
		if err := asker.Ensure(context.Background(), pid); err != nil {
			t.Fatal(err)
		}
	}
	if askerGW.queries.Load() != 0 || ownerGW.queries.Load() != perRecovery {
		t.Fatalf("gateway queries: asker %d, owner %d; want the owner's one recovery only", askerGW.queries.Load(), ownerGW.queries.Load())
	}

	// An owner without a gateway answers that there is nothing to do.
	ServeOwner(f, nil)
	if err := asker.Ensure(context.Background(), ans104.ID{9, 8}); err != nil {
		t.Fatalf("an owner without a gateway: %v", err)
	}
	if askerGW.queries.Load() != 0 {
		t.Fatal("the asker recovered a process another member owns")
	}
}
