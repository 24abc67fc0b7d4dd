package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// startNode starts a node in dir on a free loopback port.
func startNode(t *testing.T, dir string, mod func(*Config)) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Runtime.CacheDir = wasmcache.Dir(t) // the module compiled once per test binary, not in a request
	if mod != nil {
		mod(&cfg)
	}
	n, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func evalOutput(t *testing.T, r *client.Result) string {
	t.Helper()
	if len(r.Error) > 0 {
		t.Fatalf("result has an error: %s", r.Error)
	}
	var out struct {
		Data struct {
			Output json.RawMessage `json:"output"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return strings.Trim(string(out.Data.Output), `"`)
}

func TestSpawnMessageResultRestart(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	dir := t.TempDir()
	n := startNode(t, dir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)

	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: "counter"}})
	if err != nil {
		t.Fatal(err)
	}
	var last ans104.ID
	for i := 1; i <= 3; i++ {
		id, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Result(ctx, pid, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := evalOutput(t, r); got != string(rune('0'+i)) {
			t.Fatalf("message %d: output %q", i, got)
		}
		last = id
	}

	// A duplicate is refused and changes nothing.
	item, _ := c.MessageItem(pid, []byte("x = 100"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if _, err := c.PostItem(ctx, item); err != nil {
		t.Fatal(err)
	}
	var ce *client.Error
	if _, err := c.PostItem(ctx, item); !errors.As(err, &ce) || ce.Status != http.StatusConflict || !strings.Contains(ce.Message, "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	// Dry-run sees the state and leaves it unchanged.
	dr, err := c.DryRun(ctx, pid, "return x", []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.Error) > 0 {
		t.Fatalf("dry-run error %s", dr.Error)
	}
	// Unknown process, bad signature.
	if _, err := c.Send(ctx, ans104.ID{1}, []byte("x"), nil); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Fatalf("unknown process: %v", err)
	}
	bad, _ := c.MessageItem(pid, []byte("x"), nil)
	raw := append([]byte(nil), bad.Bytes()...)
	raw[len(raw)-1] ^= 1
	tampered, _ := ans104.Parse(raw, ans104.DefaultLimits())
	if _, err := c.PostItem(ctx, tampered); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Fatalf("bad signature: %v", err)
	}

	// Restart: the log and the memory survive (rebuilt from the log).
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, dir, nil)
	defer n.Close(context.Background())
	c = client.New(n.URL(), user)
	r, err := c.Result(ctx, pid, last)
	if err != nil || evalOutput(t, r) != "3" {
		t.Fatalf("result after restart: %v", err)
	}
	id, err := c.Send(ctx, pid, []byte("x = x + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err = c.Result(ctx, pid, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOutput(t, r); got != "101" {
		t.Fatalf("after restart: x = %q, want 101 (x = 100 was the 4th message)", got)
	}
}

// Close may be called twice (an explicit Close and a deferred one): the second is a no-op that
// returns the first's result instead of closing channels or the store again.
func TestCloseTwice(t *testing.T) {
	n := startNode(t, t.TempDir(), nil)
	ctx := context.Background()
	first := n.Close(ctx)
	if second := n.Close(ctx); second != first {
		t.Fatalf("second Close returned %v, first %v", second, first)
	}
}

// Close stops a recovery in progress: a gateway that never answers holds the recovery of an
// unknown process (started by a read nobody waits for any more), and closing the node cancels its
// request instead of leaving it running for the recovery timeout (10 minutes).
func TestCloseStopsRecovery(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	var once, onceDone sync.Once
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only then
		once.Do(func() { close(started) })
		<-r.Context().Done()
		onceDone.Do(func() { close(cancelled) })
	}))
	defer func() {
		gw.CloseClientConnections()
		gw.Close()
	}()
	n := startNode(t, t.TempDir(), func(c *Config) { c.Recovery.Gateway = gw.URL })
	pid, msg := ans104.ID{1, 2, 3}, ans104.ID{4, 5, 6}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/result/"+msg.String()+"?process-id="+pid.String(), nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the read of an unknown process did not start a recovery from the gateway")
	}
	closeStart := time.Now()
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
		t.Logf("closed in %s; the recovery's gateway request was cancelled", time.Since(closeStart).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the node closed but its recovery still waits on the gateway")
	}
}
