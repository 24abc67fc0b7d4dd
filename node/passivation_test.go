package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// Requests racing with passivation are never lost: with a 30 ms idle timeout, processes passivate
// and reactivate constantly while messages keep arriving at random intervals, and every message is
// acknowledged, evaluated once and in order.
func TestRequestsRacingPassivation(t *testing.T) {
	_, c, mod, ctx := nodeWithModule(t, func(c *Config) {
		c.Actors.IdleTimeout = 30 * time.Millisecond
		c.Actors.CheckpointEvery = 7 // checkpoints and replays both happen
		c.Actors.CheckpointOnPassivate = 3
	})
	const procs, perProc = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(p)))
			pid, err := c.Spawn(ctx, mod, "", nil, nil)
			if err != nil {
				errs <- err
				return
			}
			var last ans104.ID
			for i := 1; i <= perProc; i++ {
				time.Sleep(time.Duration(rng.Intn(60)) * time.Millisecond)
				id, err := c.Send(ctx, pid, []byte("n = (n or 0) + 1; return n"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
				if err != nil {
					errs <- fmt.Errorf("process %d message %d: %w", p, i, err)
					return
				}
				last = id
				if rng.Intn(3) == 0 {
					r, err := c.Result(ctx, pid, id)
					if err != nil {
						errs <- err
						return
					}
					if got := evalOutput(t, r); got != fmt.Sprint(i) {
						errs <- fmt.Errorf("process %d message %d: n = %s", p, i, got)
						return
					}
				}
			}
			r, err := c.Result(ctx, pid, last)
			if err != nil {
				errs <- err
				return
			}
			if got := evalOutput(t, r); got != fmt.Sprint(perProc) {
				errs <- fmt.Errorf("process %d: n = %s after %d messages", p, got, perProc)
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	metrics, err := c.Raw(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"actorweave_passivations_total", "actorweave_checkpoints_total", "actorweave_acked_total", "actorweave_http_requests_total", "actorweave_passive_processes", "actorweave_active_processes"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if strings.Contains(string(metrics), "actorweave_passivations_total 0\n") {
		t.Error("no process passivated: the test did not exercise the race")
	}
}

// With lazy evaluation a process is evaluated only when asked, can passivate with unevaluated
// entries, and evaluates them all when a result is asked for after reactivation.
func TestLazyEvaluation(t *testing.T) {
	n, c, mod, ctx := nodeWithModule(t, func(c *Config) {
		c.Actors.LazyEval = true
		c.Actors.IdleTimeout = 30 * time.Millisecond
	})
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last ans104.ID
	for i := 0; i < 5; i++ {
		if last, err = c.Send(ctx, pid, []byte("n = (n or 0) + 1; return n"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	for n.ActiveProcesses() > 0 {
		if ctx.Err() != nil {
			t.Fatal("the process never passivated with unevaluated entries")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := n.store.Result(pid, 1); err == nil {
		t.Fatal("lazy evaluation evaluated without being asked")
	}
	r, err := c.Result(ctx, pid, last)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOutput(t, r); got != "5" {
		t.Fatalf("n = %s after 5 messages", got)
	}
}

// The number of live activations is bounded by MaxActive whatever the idle timeout, and a process
// refuses submits beyond MaxPending with 503 instead of queueing without bound.
func TestBoundedActivationsAndMailboxes(t *testing.T) {
	n, c, mod, ctx := nodeWithModule(t, func(c *Config) {
		c.Actors.IdleTimeout = time.Hour
		c.Actors.MaxActive = 3
		c.Actors.MaxPending = 1
	})
	var pids []ans104.ID
	for i := 0; i < 8; i++ {
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	for n.ActiveProcesses() > 3 {
		if ctx.Err() != nil {
			t.Fatalf("%d live activations, MaxActive is 3", n.ActiveProcesses())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	acked, busy := 0, 0
	var ackedIDs []ans104.ID
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.Send(ctx, pids[0], []byte("n = (n or 0) + 1; return n"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			mu.Lock()
			defer mu.Unlock()
			var ce *client.Error
			switch {
			case err == nil:
				acked++
				ackedIDs = append(ackedIDs, id)
			case errors.As(err, &ce) && ce.Status == http.StatusServiceUnavailable && strings.Contains(ce.Message, "busy"):
				busy++
			default:
				t.Errorf("submit: %v", err)
			}
		}()
	}
	wg.Wait()
	if busy == 0 {
		t.Fatal("50 concurrent submits to one process with MaxPending 1: none refused")
	}
	// Every acknowledged submit is in the log, and only those: their results count 1..acked.
	seen := map[string]bool{}
	for _, id := range ackedIDs {
		r, err := c.Result(ctx, pids[0], id)
		if err != nil {
			t.Fatal(err)
		}
		seen[evalOutput(t, r)] = true
	}
	for i := 1; i <= acked; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("%d acknowledged, %d refused, but no result counted %d: %v", acked, busy, i, seen)
		}
	}
}

// nodeWithModule starts a node (adjusted by mod) that the test closes at its end, and publishes the
// aos-like test module through a client of a fresh ed25519 wallet.
func nodeWithModule(t *testing.T, mod func(*Config)) (*Node, *client.Client, ans104.ID, context.Context) {
	t.Helper()
	wasm := testutil.Module(t, "aoslike")
	n := startNode(t, t.TempDir(), mod)
	t.Cleanup(func() { n.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	m, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2"})
	if err != nil {
		t.Fatal(err)
	}
	return n, c, m, ctx
}
