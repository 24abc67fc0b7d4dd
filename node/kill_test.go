package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestKillNodeChild is not a test: TestKill9Node re-executes the test binary with AW_NODE_CHILD_DIR
// set to run a node in a child process that it can kill -9.
func TestKillNodeChild(t *testing.T) {
	dir := os.Getenv("AW_NODE_CHILD_DIR")
	if dir == "" {
		t.Skip("helper process of TestKill9Node")
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	// The parent's shared compilation cache (wasmcache).
	cfg.Runtime.CacheDir = os.Getenv("AW_NODE_CHILD_CACHE")
	if v := os.Getenv("AW_NODE_CHILD_FLUSH"); v != "" { // TestKill9Flush: the flush settings
		if err := json.Unmarshal([]byte(v), &cfg.Flush); err != nil {
			fmt.Fprintln(os.Stderr, "child node: AW_NODE_CHILD_FLUSH:", err)
			os.Exit(3)
		}
		cfg.API.RequestTimeout = time.Minute // module compilation under -race on a loaded machine
	}
	if v := os.Getenv("AW_NODE_CHILD_CATCHUP"); v != "" { // TestCronKill9
		p, err := cron.ParsePolicy(v)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(3)
		}
		cfg.Actors.CronCatchUp = p
		cfg.API.RequestTimeout = time.Minute // the first spawn compiles the module, on a loaded machine
	}
	n, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child node:", err)
		os.Exit(3)
	}
	addr := filepath.Join(dir, "addr")
	_ = os.WriteFile(addr+".tmp", []byte(n.URL()), 0o600)
	_ = os.Rename(addr+".tmp", addr)
	select {} // until killed
}

func startChild(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	_ = os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNodeChild$", "-test.v=false")
	// The test module is compiled once per test binary (wasmcache), not in the child's first spawn,
	// which is bounded by the node's 10 s request timeout and outlasted it on a loaded machine.
	cmd.Env = append(append(os.Environ(), "AW_NODE_CHILD_DIR="+dir, "AW_NODE_CHILD_CACHE="+wasmcache.Dir(t)), env...)
	logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", time.Now().UnixNano())))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			return cmd, string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("child node did not start")
	return nil, ""
}

// TestKill9Node: a node under load is killed with SIGKILL at a random moment and restarted on the
// same data folder. Every acknowledged message must be in its process's log and get its result, and
// every outbox message the evaluations produced must be delivered exactly once.
func TestKill9Node(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill -9 test runs a child node")
	}
	wasm := testutil.Module(t, "aoslike")
	rounds := 3
	if v := os.Getenv("AW_NODE_KILL_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	for r := 0; r < rounds; r++ {
		t.Run(fmt.Sprintf("round%d", r), func(t *testing.T) { killRound(t, wasm, int64(r)) })
	}
}

func killRound(t *testing.T, wasm []byte, seed int64) {
	rng := rand.New(rand.NewSource(time.Now().UnixNano() + seed))
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	child, url := startChild(t, dir)
	defer func() { child.Process.Kill(); child.Wait() }()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(url, user)
	c.HTTP.Timeout = 10 * time.Second
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	const procs = 8
	pids := make([]ans104.ID, procs)
	for i := range pids {
		if pids[i], err = c.Spawn(ctx, mod, "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Each process forwards a uniquely tagged message to the next one for every Eval it runs.
	var mu sync.Mutex
	acked := map[ans104.ID]ans104.ID{} // message id -> process
	tokens := map[string]ans104.ID{}   // token -> the process it must reach
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
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
				dst := pids[(src+1)%procs]
				token := fmt.Sprintf("t-%d-%d-%d", seed, w, i)
				lua := fmt.Sprintf("ao.send({Target = %q, Action = 'Note', Token = %q}); return 1", dst.String(), token)
				item, err := c.MessageItem(pids[src], []byte(lua), []ans104.Tag{{Name: "Action", Value: "Eval"}})
				if err != nil {
					return
				}
				if _, err := c.PostItem(context.Background(), item); err == nil {
					mu.Lock()
					acked[item.ID()] = pids[src]
					tokens[token] = dst
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(time.Duration(300+rng.Intn(1500)) * time.Millisecond)
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}

	child, url = startChild(t, dir)
	c = client.New(url, user)
	// Every acknowledged message is in its log and gets its result.
	for id, pid := range acked {
		if _, err := c.Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			t.Fatalf("acknowledged message %s missing from process %s after kill -9: %v", id, pid, err)
		}
		r, err := c.Result(ctx, pid, id)
		if err != nil {
			t.Fatalf("result of %s: %v", id, err)
		}
		if len(r.Error) > 0 {
			t.Fatalf("result of %s has an error: %s", id, r.Error)
		}
	}
	// Every token reaches its target exactly once (pushes are delivered after the restart too).
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[string]int{}
		for _, pid := range pids {
			for _, tok := range logTokens(t, ctx, c, pid) {
				seen[tok]++
			}
		}
		missing, dup := 0, ""
		for tok := range tokens {
			if seen[tok] == 0 {
				missing++
			}
		}
		for tok, n := range seen {
			if n > 1 {
				dup = tok
			}
		}
		if dup != "" {
			t.Fatalf("outbox message %s delivered %d times", dup, seen[dup])
		}
		if missing == 0 {
			t.Logf("kill -9 after %d acknowledged messages: all present, evaluated, and their %d pushes delivered once", len(acked), len(tokens))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d outbox messages never delivered", missing, len(tokens))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logTokens reads a process's whole log through the SU API and returns the Token tag of each
// message in it.
func logTokens(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID) []string {
	t.Helper()
	var out []string
	from := "-1"
	for {
		b, err := c.Raw(ctx, "/"+pid.String()+"?from-nonce="+from+"&limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			PageInfo struct {
				HasNextPage bool `json:"has_next_page"`
			} `json:"page_info"`
			Edges []struct {
				Cursor string `json:"cursor"`
				Node   struct {
					Message *struct {
						Tags []ans104.Tag `json:"tags"`
					} `json:"message"`
				} `json:"node"`
			} `json:"edges"`
		}
		if err := json.NewDecoder(bufio.NewReader(strings.NewReader(string(b)))).Decode(&page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Edges {
			if e.Node.Message != nil {
				if v := ans104.Tags(e.Node.Message.Tags).Value("Token"); v != "" {
					out = append(out, v)
				}
			}
			from = e.Cursor
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return out
		}
	}
}
