package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/flush"
	"github.com/actorweave/actorweave/internal/bundlershim"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/persistence"
)

// gatewayProxy sits between the node and arlocal and can catch an upload in flight: in mode
// "hold" it keeps the next POST /tx from reaching arlocal; in mode "landed" it lets it reach
// arlocal but keeps the answer from the node. Either way it reports the catch and waits for the
// node to be killed.
type gatewayProxy struct {
	url    string
	srv    *http.Server
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	mode   string // "", "hold" or "landed"
	caught chan struct{}
	posts  int
}

func newGatewayProxy(t *testing.T, target string) *gatewayProxy {
	u, _ := url.Parse(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &gatewayProxy{url: "http://" + ln.Addr().String(), rp: httputil.NewSingleHostReverseProxy(u)}
	p.srv = &http.Server{Handler: p}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// arm makes the next POST /tx be caught in mode; the returned channel closes when it is.
func (p *gatewayProxy) arm(mode string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.caught = mode, make(chan struct{})
	return p.caught
}

func (p *gatewayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/tx" {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	mode, caught := p.mode, p.caught
	p.mode = ""
	p.posts++
	p.mu.Unlock()
	switch mode {
	case "hold":
		close(caught)
		<-r.Context().Done() // the node dies with the request open
	case "landed":
		rec := &discardWriter{h: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		close(caught)
		<-r.Context().Done()
	default:
		p.rp.ServeHTTP(w, r)
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(c int)           { d.code = c }

// TestKill9Flush: a node under load, flushing to arlocal, is killed with SIGKILL while an upload is
// in flight — alternately before the upload reached the gateway and after the gateway took it but
// before the node heard back — and restarted. After each restart the flush resumes (the in-flight
// upload is completed or re-posted as the same signed bytes); at the end every acknowledged
// message's assignment and message are on the gateway, batches are contiguous and never overlap,
// and no item id appears twice across all batches.
func TestKill9Flush(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill -9 test runs a child node")
	}
	for _, path := range []string{"l1", "bundler"} {
		t.Run(path, func(t *testing.T) { killFlush(t, path) })
	}
}

// killFlush runs the rounds through one upload path. On the bundler path the proxy sits between
// the node and the bundler (each item is one POST /tx), and the gateway answers whether an
// interrupted upload's items are all there.
func killFlush(t *testing.T, path string) {
	wasm := testutil.Module(t, "aoslike")
	rounds := 4
	if path == "bundler" {
		rounds = 2
	}
	if v := os.Getenv("AW_FLUSH_KILL_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	fcfg := flush.Config{Wallet: env.walletPath, MaxBytes: 32 << 10, Interval: 50 * time.Millisecond, RetryMax: time.Second}
	var proxy *gatewayProxy
	if path == "l1" {
		proxy = newGatewayProxy(t, env.ar.URL)
		fcfg.Gateway = proxy.url
	} else {
		shim, err := bundlershim.Start(env.ar.URL, env.wallet, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		defer shim.Close()
		proxy = newGatewayProxy(t, shim.URL)
		fcfg.Gateway, fcfg.Bundler = env.ar.URL, proxy.url
	}
	fjs, _ := json.Marshal(fcfg)
	childEnv := "AW_NODE_CHILD_FLUSH=" + string(fjs)
	dir := t.TempDir()

	child, nodeURL := startChild(t, dir, childEnv)
	defer func() { child.Process.Kill(); child.Wait() }()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(nodeURL, user) // setup: the first spawn compiles the module, slow under -race on a loaded machine
	sched, err := c.SchedulerAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.ar.Mint(ctx, sched); err != nil {
		t.Fatal(err)
	}
	env.mint(t, ctx, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	const procs = 6
	pids := make([]ans104.ID, procs)
	for i := range pids {
		if pids[i], err = c.Spawn(ctx, mod, "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	acked := map[ans104.ID]ans104.ID{} // message id -> process
	var mu sync.Mutex
	for r := 0; r < rounds; r++ {
		mode := []string{"hold", "landed"}[r%2]
		c = client.New(nodeURL, user)
		c.HTTP.Timeout = 10 * time.Second
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					src := (w + i) % procs
					lua := fmt.Sprintf("ao.send({Target = %q, Action = 'Note', Token = 'r%d-%d-%d'}); return 1", pids[(src+1)%procs].String(), r, w, i)
					item, err := c.MessageItem(pids[src], []byte(lua), []ans104.Tag{{Name: "Action", Value: "Eval"}})
					if err != nil {
						return
					}
					if _, err := c.PostItem(context.Background(), item); err == nil {
						mu.Lock()
						acked[item.ID()] = pids[src]
						mu.Unlock()
					}
				}
			}(w)
		}
		time.Sleep(300 * time.Millisecond) // let a backlog build, then catch the next upload
		caught := proxy.arm(mode)
		select {
		case <-caught:
		case <-time.After(30 * time.Second):
			_ = child.Process.Signal(syscall.SIGQUIT) // goroutine dump into the log
			time.Sleep(time.Second)
			t.Fatalf("round %d: no upload reached the gateway in 30 s; node log:\n%s", r, newestChildLog(t, dir))
		}
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
		close(stop)
		wg.Wait()
		child, nodeURL = startChild(t, dir, childEnv)
		// The restarted node finds the upload it was killed in and finishes it.
		want := map[string]string{"hold": "already_there=false", "landed": "already_there=true"}[mode]
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(newestChildLog(t, dir), "resuming the upload in flight") {
			if time.Now().After(deadline) {
				t.Fatalf("round %d (%s): the restarted node did not resume the upload in flight:\n%s", r, mode, newestChildLog(t, dir))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// (On the bundler path an upload of several items is only partly there after "landed".)
		if line := grepLine(newestChildLog(t, dir), "resuming the upload in flight"); path == "l1" && !strings.Contains(line, want) {
			t.Fatalf("round %d (%s): %s, want %s", r, mode, line, want)
		}
		t.Logf("round %d (%s): killed with an upload in flight; %d acknowledged so far; restart: %s", r, mode, len(acked), grepLine(newestChildLog(t, dir), "resuming the upload"))
	}

	// Drain: wait until every acknowledged message is on the gateway, then kill the node once more
	// and compare its store with the gateway.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		on := map[ans104.ID]bool{}
		for _, pid := range pids {
			got, _, err := env.gw.ReadLog(ctx, pid, sched)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got {
				if e.Message != nil {
					on[e.Message.ID()] = true
				}
			}
		}
		missing := 0
		for id := range acked {
			if !on[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flush did not drain: %d of %d acknowledged messages not on the gateway", missing, len(acked))
		}
		time.Sleep(300 * time.Millisecond)
	}
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	if err := env.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The last kill may again have hit an upload: what the gateway has beyond the flush cursor must
	// be exactly the in-flight record's range.
	inflight := map[ans104.ID]persistence.FlushRange{}
	if rec, ok, err := st.FlushInFlight(); err != nil {
		t.Fatal(err)
	} else if ok {
		for _, l := range rec.Logs {
			inflight[l.Process] = l
		}
	}

	seen := map[ans104.ID]int{} // every item id inside every batch
	onGateway := map[ans104.ID]ans104.ID{}
	entries := 0
	for _, pid := range pids {
		got, batches, err := env.gw.ReadLog(ctx, pid, sched)
		if err != nil {
			t.Fatal(err) // a gap, an overlap or a bad signature
		}
		head, _, _ := st.Head(pid)
		cur, _ := st.FlushCursor(pid)
		if l, ok := inflight[pid]; ok && uint64(len(got)) == l.To+1 && l.From == cur {
			cur = l.To + 1
		}
		if uint64(len(got)) != cur || len(got) == 0 {
			for _, b := range batches {
				t.Logf("batch %s %d..%d", b.ID, b.From, b.To)
			}
			t.Fatalf("process %s: %d entries on the gateway, flush cursor %d (log %d)", pid, len(got), cur, head.Nonce+1)
		}
		for _, e := range got {
			local, err := st.Entry(pid, e.Nonce)
			if err != nil || local.AssignmentID != e.Assignment.ID() {
				t.Fatalf("process %s nonce %d: assignment on the gateway is not the node's (%v)", pid, e.Nonce, err)
			}
			seen[e.Assignment.ID()]++
			if e.Message != nil {
				seen[e.Message.ID()]++
				onGateway[e.Message.ID()] = pid
			}
		}
		entries += len(got)
		_ = batches
	}
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("item %s is %d times in the batches on the gateway", id, n)
		}
	}
	missing := 0
	for id, pid := range acked {
		if onGateway[id] != pid {
			missing++
		}
	}
	// An acknowledged message is flushed only once the node flushed up to it; the drain above
	// waited for every entry the node had, so none may be missing.
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages are not on the gateway", missing, len(acked))
	}
	// The Log-Batch items themselves: one per range, none twice.
	all, err := env.gw.QueryAll(ctx, []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeLogBatch}}, {Name: arweave.TagProcess, Values: idStrings(pids)}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, tx := range all {
		if ids[tx.ID] {
			t.Fatalf("batch %s listed twice", tx.ID)
		}
		ids[tx.ID] = true
	}
	t.Logf("%s, %d rounds: %d acknowledged messages, %d entries in %d batches on the gateway, %d distinct items, %d POST /tx seen by the proxy",
		path, rounds, len(acked), entries, len(all), len(seen), proxy.posts)
}

// newestChildLog is the log of the latest child started in dir.
func newestChildLog(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "child-*.log"))
	if len(files) == 0 {
		return ""
	}
	sort.Strings(files)
	b, _ := os.ReadFile(files[len(files)-1])
	return string(b)
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
