package node

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// refusingProxy is a real HTTP proxy in front of arlocal that, while refusing, answers every
// POST /tx with 400 (a gateway that refuses uploads for good) and passes everything else.
type refusingProxy struct {
	url    string
	refuse atomic.Bool
	posts  atomic.Int64
}

func newRefusingProxy(t *testing.T, target string) *refusingProxy {
	u, _ := url.Parse(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &refusingProxy{url: "http://" + ln.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/tx" && p.refuse.Load() {
			p.posts.Add(1)
			http.Error(w, "refused by the test", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

type healthz struct {
	code   int
	Status string `json:"status"`
	Flush  struct {
		Degraded         bool     `json:"degraded"`
		Refused          bool     `json:"refused"`
		RefusedProcesses []string `json:"refusedProcesses"`
		Reason           string   `json:"reason"`
	} `json:"flush"`
}

func getHealth(t *testing.T, base string) healthz {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h healthz
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/healthz: %s: %v", b, err)
	}
	h.code = resp.StatusCode
	return h
}

// The flusher is supervised: a gateway that refuses every upload with 400 is retried for ever;
// /healthz turns 503 degraded naming the refused processes and the refusals are counted; once the
// gateway takes uploads again every acknowledged entry reaches it and /healthz is 200 again.
func TestFlushRefusedThenHealed(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	proxy := newRefusingProxy(t, env.ar.URL)
	n := startNode(t, t.TempDir(), func(c *Config) {
		c.Flush.Gateway, c.Flush.Wallet, c.Flush.Interval = proxy.url, env.walletPath, 100*time.Millisecond
		c.Flush.RetryMax, c.Flush.DegradedAfter = 500*time.Millisecond, time.Second
		c.API.RequestTimeout = time.Minute
	})
	defer n.Close(ctx)
	env.mint(t, ctx, n.sched)
	user, _ := ans104.GenerateEd25519Signer()
	env.mint(t, ctx, user)
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	waitQueueEmpty(t, n, time.Minute)
	if h := getHealth(t, n.URL()); h.code != http.StatusOK || h.Status != "ok" {
		t.Fatalf("/healthz before the refusal: %d %+v", h.code, h)
	}

	proxy.refuse.Store(true)
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	var h healthz
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		h = getHealth(t, n.URL())
		if h.code == http.StatusServiceUnavailable && h.Status == "degraded" && h.Flush.Refused && len(h.Flush.RefusedProcesses) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz while the gateway refuses: %d %+v", h.code, h)
		}
	}
	if h.Flush.RefusedProcesses[0] != pid.String() {
		t.Fatalf("refused processes %v, want %s", h.Flush.RefusedProcesses, pid)
	}
	if m := metric(t, n.URL(), "actorweave_flush_refusals_total"); m < 1 {
		t.Fatalf("actorweave_flush_refusals_total %v", m)
	}
	t.Logf("degraded: %s (%d refused posts)", h.Flush.Reason, proxy.posts.Load())
	before := proxy.posts.Load()
	time.Sleep(1500 * time.Millisecond)
	if proxy.posts.Load() == before {
		t.Fatal("the flusher stopped trying while the gateway refused")
	}

	proxy.refuse.Store(false)
	waitFlushed(t, n, []ans104.ID{pid}, 2*time.Minute)
	if got := checkOnGateway(t, ctx, env.gw, n, []ans104.ID{pid}); got != 6 {
		t.Fatalf("%d entries on the gateway, want 6", got)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		h = getHealth(t, n.URL())
		if h.code == http.StatusOK && h.Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz after healing: %d %+v", h.code, h)
		}
	}
}

// A graceful stop drains the flush: entries acknowledged just before Close, which the interval
// would upload only much later, are on the gateway when Close returns.
func TestFlushDrainOnClose(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	n := startNode(t, t.TempDir(), func(c *Config) {
		c.Flush.Gateway, c.Flush.Wallet, c.Flush.Interval = env.ar.URL, env.walletPath, time.Hour
		c.DrainTimeout = time.Minute
		c.API.RequestTimeout = time.Minute
	})
	env.mint(t, ctx, n.sched)
	user, _ := ans104.GenerateEd25519Signer()
	env.mint(t, ctx, user)
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	n.Flusher().Kick() // the module alone first (one large upload)
	waitQueueEmpty(t, n, time.Minute)
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := c.Send(ctx, pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	batches, err := env.gw.ListBatches(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	top := -1
	for _, b := range batches {
		top = max(top, int(b.To))
	}
	if top != 4 {
		t.Fatalf("after a graceful stop the gateway has nonces up to %d, want 4", top)
	}
}
