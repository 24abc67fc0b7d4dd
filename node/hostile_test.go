package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/dryrun"
	"github.com/actorweave/actorweave/internal/testutil"
)

// spawnEval starts a node with mod applied and spawns an aos-like process on it.
func spawnEval(t *testing.T, mod func(*Config)) (*Node, *client.Client, ans104.ID) {
	t.Helper()
	n := startNode(t, t.TempDir(), mod)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	m, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "aoslike"), Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, m, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n, c, pid
}

// Invariant "nobody acts for another": anyone's dry-runs cannot delay a process's own messages.
// Dry-runs that loop until their deadline are running and queued; the owner's message is
// evaluated and its result read while they still run, and dry-runs beyond the per-process cap
// are refused at once with 429.
func TestDryRunsDoNotDelayMessages(t *testing.T) {
	n, c, pid := spawnEval(t, func(cfg *Config) {
		cfg.Actors.DryRun = dryrun.Config{Workers: 2, Queue: 8, PerProcess: 3, Deadline: 20 * time.Second}
	})
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var finished, refused atomic.Int32
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dr, err := c.DryRun(ctx, pid, "while true do end", []ans104.Tag{{Name: "Action", Value: "Eval"}})
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status == http.StatusTooManyRequests {
				refused.Add(1)
				return
			}
			finished.Add(1)
			t.Logf("a looping dry-run ended: %v %+v", err, dr)
		}()
	}
	time.Sleep(500 * time.Millisecond)
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	id, err := c.Send(rctx, pid, []byte("return 6 * 7"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Result(rctx, pid, id)
	if err != nil {
		t.Fatalf("the owner's message while dry-runs loop: %v", err)
	}
	if got := evalOutput(t, r); got != "42" {
		t.Fatalf("output %q", got)
	}
	if finished.Load() != 0 {
		t.Fatalf("%d looping dry-runs finished before the message's result: the message waited for them", finished.Load())
	}
	if refused.Load() != 3 {
		t.Fatalf("%d dry-runs refused with 429, want 3 (--dry-run-per-process 3)", refused.Load())
	}
	wg.Wait()
}

// Closing a node while dry-runs and a looping message are evaluated and queued used to unmap the
// memory under running WebAssembly (SIGSEGV). It must return, and the node restart on the data.
func TestCloseWithEvaluationsQueued(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	m, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "aoslike"), Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pids := make([]ans104.ID, 2)
	for i := range pids {
		if pids[i], err = c.Spawn(ctx, m, "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(pid ans104.ID) {
			defer wg.Done()
			_, _ = c.DryRun(ctx, pid, "while true do end", []ans104.Tag{{Name: "Action", Value: "Eval"}})
		}(pids[i%2])
	}
	if _, err := c.Send(ctx, pids[0], []byte("while true do end"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	start := time.Now()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	took := time.Since(start)
	t.Logf("closed in %s", took)
	// The looping message is cut short, not waited for until it runs out of gas or time (12 s here
	// before evaluations were cancelled at stop): it is evaluated again at the next start. Close
	// takes the HTTP grace and a little more.
	if limit := shutdownGrace + 6*time.Second; took > limit {
		t.Fatalf("close took %s with a looping message evaluating (more than %s): it waited for the message to end", took, limit)
	}
	wg.Wait()
	n = startNode(t, dir, nil)
	defer n.Close(context.Background())
	c = client.New(n.URL(), user)
	id, err := c.Send(ctx, pids[1], []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Result(ctx, pids[1], id); err != nil || evalOutput(t, r) != "1" {
		t.Fatalf("after restart: %v", err)
	}
}

// controlStatus sends body to method /monitor/pid and returns the status and answer.
func controlStatus(t *testing.T, base, method string, pid ans104.ID, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+"/monitor/"+pid.String(), bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Invariant "nobody acts for another": monitor and unmonitor need a fresh item of the owner,
// made for the request, used once. The owner's public Process item and Eval message (anyone
// reads them from GET /{pid}) and a replay of the owner's own control item are refused (403).
func TestMonitorReplayRefused(t *testing.T) {
	_, c, mod, ctx := slowNode(t, nil)
	sched, _ := c.SchedulerAddress(ctx)
	procItem, _ := c.Sign([]byte(" "), nil, nil, append(cronTags("1-second"),
		ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Variant", Value: "ao.TN.1"},
		ans104.Tag{Name: "Type", Value: "Process"}, ans104.Tag{Name: "Module", Value: mod.String()},
		ans104.Tag{Name: "Scheduler", Value: sched}))
	pid, err := c.PostItem(ctx, procItem)
	if err != nil {
		t.Fatal(err)
	}
	if st, msg := controlStatus(t, c.Base, http.MethodDelete, pid, procItem.Bytes()); st != http.StatusForbidden {
		t.Fatalf("the public Process item as unmonitor: %d %s", st, msg)
	}
	msgItem, _ := c.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if _, err := c.PostItem(ctx, msgItem); err != nil {
		t.Fatal(err)
	}
	if st, msg := controlStatus(t, c.Base, http.MethodDelete, pid, msgItem.Bytes()); st != http.StatusForbidden {
		t.Fatalf("the owner's message as unmonitor: %d %s", st, msg)
	}
	ctl, _ := c.Sign([]byte(" "), &pid, nil, []ans104.Tag{{Name: "Action", Value: "Unmonitor"}, {Name: "Timestamp", Value: strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	if st, msg := controlStatus(t, c.Base, http.MethodPost, pid, ctl.Bytes()); st != http.StatusForbidden || !strings.Contains(msg, "action") {
		t.Fatalf("an Unmonitor item on POST: %d %s", st, msg)
	}
	if st, msg := controlStatus(t, c.Base, http.MethodDelete, pid, ctl.Bytes()); st != http.StatusOK {
		t.Fatalf("the owner's fresh unmonitor: %d %s", st, msg)
	}
	if st, msg := controlStatus(t, c.Base, http.MethodDelete, pid, ctl.Bytes()); st != http.StatusForbidden || !strings.Contains(msg, "replay") {
		t.Fatalf("replayed unmonitor: %d %s", st, msg)
	}
	old, _ := c.Sign([]byte(" "), &pid, nil, []ans104.Tag{{Name: "Action", Value: "Monitor"}, {Name: "Timestamp", Value: strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10)}})
	if st, msg := controlStatus(t, c.Base, http.MethodPost, pid, old.Bytes()); st != http.StatusForbidden {
		t.Fatalf("an hour-old monitor item: %d %s", st, msg)
	}
}

// A body trickled slower than the floor is cut off: slow uploads cannot hold memory or a
// connection indefinitely (main only bounded the headers).
func TestSlowBodyCutOff(t *testing.T) {
	n := startNode(t, t.TempDir(), func(cfg *Config) {
		cfg.API.Server.BodyGrace = time.Second
		cfg.API.Server.MinBodyRate = 1000
	})
	defer n.Close(context.Background())
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\nContent-Type: application/octet-stream\r\n\r\n")
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		b := make([]byte, 256)
		k, _ := conn.Read(b)
		answered <- string(b[:k])
	}()
	for {
		select {
		case a := <-answered:
			if time.Since(start) > 10*time.Second || (a != "" && !strings.Contains(a, " 408 ")) {
				t.Fatalf("after %s: %q", time.Since(start), a)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if time.Since(start) > 20*time.Second {
				t.Fatal("a body trickled at 5 bytes/s is still being read after 20 s")
			}
			conn.Write([]byte("x"))
		}
	}
}

// An output over --max-result-bytes is recorded as an Error, not stored and served.
func TestResultSizeLimit(t *testing.T) {
	n, c, pid := spawnEval(t, func(cfg *Config) { cfg.Actors.MaxResultBytes = 64 << 10 })
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := c.Send(ctx, pid, []byte("return string.rep('x', 1000000)"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.ResultJSON(ctx, pid, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 64<<10 || !strings.Contains(string(raw), "over the 65536-byte limit") {
		t.Fatalf("a 1 MB output: %d bytes: %.300s", len(raw), raw)
	}
	id, _ = c.Send(ctx, pid, []byte("return 7"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if r, err := c.Result(ctx, pid, id); err != nil || evalOutput(t, r) != "7" {
		t.Fatalf("next message: %v", err)
	}
}

func postGraphQL(t *testing.T, base, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// One GraphQL request cannot cost gigabytes: aliased transactions(first: 1000) are refused with
// 400 naming the budget before the items are loaded; an ordinary query is answered.
func TestGraphQLBudget(t *testing.T) {
	n, c, pid := spawnEval(t, nil)
	defer n.Close(context.Background())
	q := fmt.Sprintf(`{ transactions(ids: [%q]) { edges { node { id owner { address } tags { name value } } } } }`, pid.String())
	if st, b := postGraphQL(t, c.Base, q); st != http.StatusOK || !strings.Contains(b, pid.String()) {
		t.Fatalf("ordinary query: %d %s", st, b)
	}
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, " a%d: transactions(first: 1000) { edges { node { id data { size } tags { name value } } } }", i)
	}
	sb.WriteString("}")
	if st, b := postGraphQL(t, c.Base, sb.String()); st != http.StatusBadRequest || !strings.Contains(b, "budget of 20000") {
		t.Fatalf("100 aliases of first 1000: %d %.300s", st, b)
	}
	if st, b := postGraphQL(t, c.Base, "{"+strings.Repeat(" transactions { edges { cursor } }", 1000)+"}"); st != http.StatusBadRequest {
		t.Fatalf("a 33 KB query: %d %.300s", st, b)
	}
}

// GET /cluster/status shows anonymous callers names, weights and counts, but not where members
// listen (gossip, gRPC) nor their incarnation ids; a caller with the cluster key sees them.
func TestClusterStatusAnonymous(t *testing.T) {
	t.Parallel()
	c := startMemberlistCluster(t, 1)
	m := c.members[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get := func(key string) ClusterStatus {
		resp, err := http.DefaultClient.Do(statusRequest(ctx, m.url, key))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st ClusterStatus
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.Members) != 1 {
			t.Fatalf("status: %v %+v", err, st)
		}
		return st
	}
	anon := get("")
	if x := anon.Members[0]; x.Address != "" || x.Gossip != "" || x.ID != "" || anon.Node != "" || x.Name != m.name {
		t.Fatalf("anonymous status shows %+v", anon)
	}
	if x := get(m.key).Members[0]; x.Address != m.remote || x.Gossip == "" {
		t.Fatalf("status with the cluster key: %+v", x)
	}
}
