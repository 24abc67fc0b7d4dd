package node

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestRunKeepsHTTPAcrossRestart: when the cluster fences a node, Run restarts it under a new member
// identity; meanwhile its HTTP port stays open and answers (503 with Retry-After while the new
// incarnation starts), so no client ever finds the port refused. Before, the port was closed for
// the whole restart (up to ~23 s seen in a partition test).
func TestRunKeepsHTTPAcrossRestart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Runtime.CacheDir = wasmcache.Dir(t)
	key := filepath.Join(t.TempDir(), "cluster.key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Cluster = ClusterConfig{Listen: "127.0.0.1:0", KeyFile: key, Capacity: 1}
	cfg.DrainTimeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	incarnations := make(chan *Node, 4)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, func(n *Node) { incarnations <- n }) }()
	var first *Node
	select {
	case first = <-incarnations:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	url := first.URL()
	var mu sync.Mutex
	statuses := map[int]int{}
	var refused []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := cl.Get(url + "/healthz")
			mu.Lock()
			if err != nil {
				refused = append(refused, err)
			} else {
				statuses[resp.StatusCode]++
				resp.Body.Close()
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	first.fenced("test: the cluster removed this member")
	var second *Node
	select {
	case second = <-incarnations:
	case err := <-done:
		t.Fatalf("Run stopped instead of restarting: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no second incarnation within 60 s")
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if second.URL() != url {
		t.Fatalf("restarted on %s, want the same port %s", second.URL(), url)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) > 0 {
		t.Fatalf("%d requests failed at the transport during the restart (first: %v); statuses %v", len(refused), refused[0], statuses)
	}
	if statuses[http.StatusOK] == 0 {
		t.Fatalf("no request answered 200: %v", statuses)
	}
	t.Logf("answers during the restart: %v", statuses)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}
