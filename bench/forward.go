package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// ForwardConfig is the `forward` scenario: clusters of 1, 3 and 5 in-process nodes on loopback
// (memberlist over UDP/TCP, Proto.Actor remote over gRPC with mutual TLS), measuring
//   - the latency of an acknowledgement sent to the process's owner against the same request sent
//     to another member, which forwards it (alternating, same processes, same run);
//   - the throughput of concurrent clients posting through random members, per cluster size;
//   - what crosses between nodes per acknowledged message (Call/Reply count and bytes, counted
//     in the forwarder: protobuf payloads, not gRPC/TLS framing).
type ForwardConfig struct {
	Sizes     []int // cluster sizes for the throughput runs
	Processes int
	Clients   int
	Messages  int // per throughput run
	Latency   int // sequential messages per path (local, forwarded) in the latency run
	Module    []byte
	Format    string
	Data      string
	// LazyEval starts the nodes with lazy evaluation, so the throughput runs measure the
	// acknowledgement path (where forwarding happens) rather than Lua evaluation.
	LazyEval bool
	Progress io.Writer
}

// DefaultForwardConfig: sizes 1, 3, 5; 30 processes; 32 clients; 3,000 messages; 300 latency samples.
func DefaultForwardConfig() ForwardConfig {
	return ForwardConfig{Sizes: []int{1, 3, 5}, Processes: 30, Clients: 32, Messages: 3000, Latency: 300,
		Format: "wasm32-unknown-emscripten2", LazyEval: true}
}

// ForwardReport holds the figures of one run.
type ForwardReport struct {
	LocalP50ms     float64 `json:"local_ack_p50_ms"`
	LocalP99ms     float64 `json:"local_ack_p99_ms"`
	ForwardedP50ms float64 `json:"forwarded_ack_p50_ms"`
	ForwardedP99ms float64 `json:"forwarded_ack_p99_ms"`
	// RatioP50 is forwarded p50 / local p50.
	RatioP50         float64      `json:"ratio_p50"`
	RatioP99         float64      `json:"ratio_p99"`
	LocalResultP50ms float64      `json:"local_result_p50_ms"`
	ForwardResultP50 float64      `json:"forwarded_result_p50_ms"`
	RatioResultP50   float64      `json:"ratio_result_p50"`
	Throughput       []ForwardRun `json:"throughput"`
	Machine          Machine      `json:"machine"`
}

// ForwardRun is one cluster size's throughput run.
type ForwardRun struct {
	Nodes       int     `json:"nodes"`
	Acked       int     `json:"acked"`
	Errors      int     `json:"errors"`
	AckedPerSec float64 `json:"acked_per_sec"`
	// VsOneNode is AckedPerSec over the 1-node run's.
	VsOneNode float64 `json:"vs_one_node"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	// Per acknowledged message, between nodes (all members summed, both directions).
	CallsPerAck float64 `json:"calls_per_ack"`
	BytesPerAck float64 `json:"bytes_per_ack"`
	FirstError  string  `json:"first_error,omitempty"`
}

// startCluster starts n in-process nodes sharing a fresh key; close stops them.
func startCluster(ctx context.Context, n int, dir string, lazy bool) (nodes []*node.Node, closeAll func(), err error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	keyFile := filepath.Join(dir, "cluster.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, nil, err
	}
	closeAll = func() {
		for _, nd := range nodes {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = nd.Close(cctx)
			cancel()
		}
	}
	for i := 0; i < n; i++ {
		cfg := node.DefaultConfig()
		cfg.DataDir = filepath.Join(dir, fmt.Sprint("node", i))
		cfg.Listen = "127.0.0.1:0"
		cfg.API.RequestTimeout = time.Minute
		cfg.Logger = quietLogger()
		cfg.Actors.LazyEval = lazy
		if n > 1 {
			cfg.Cluster = node.ClusterConfig{Listen: "127.0.0.1:0", KeyFile: keyFile, Capacity: 1, Resync: 200 * time.Millisecond}
			if i > 0 {
				cfg.Cluster.Join = []string{nodes[0].ClusterProvider().GossipAddr()}
			}
		}
		nd, err := node.Start(ctx, cfg)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		nodes = append(nodes, nd)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, nd := range nodes {
		for len(nd.Members().View().Members) != n {
			if time.Now().After(deadline) {
				closeAll()
				return nil, nil, fmt.Errorf("bench: %d-node cluster did not converge", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes, closeAll, nil
}

// RunForward runs the scenario.
func RunForward(ctx context.Context, cfg ForwardConfig) (*ForwardReport, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	cfg.Data = evalData(programFor(cfg.Module), cfg.Data)
	rep := &ForwardReport{Machine: ThisMachine()}
	if err := forwardLatency(ctx, cfg, rep); err != nil {
		return nil, err
	}
	var one float64
	for _, n := range cfg.Sizes {
		run, err := forwardThroughput(ctx, cfg, n)
		if err != nil {
			return nil, err
		}
		if n == 1 {
			one = run.AckedPerSec
		}
		if one > 0 {
			run.VsOneNode = run.AckedPerSec / one
		}
		rep.Throughput = append(rep.Throughput, *run)
	}
	return rep, nil
}

func forwardLatency(ctx context.Context, cfg ForwardConfig, rep *ForwardReport) error {
	dir, err := os.MkdirTemp("", "actorweave-bench-forward-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	nodes, closeAll, err := startCluster(ctx, 2, dir, cfg.LazyEval)
	if err != nil {
		return err
	}
	defer closeAll()
	user, _ := ans104.GenerateEd25519Signer()
	a, b := client.New(nodes[0].URL(), user), client.New(nodes[1].URL(), user)
	mod, err := a.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return err
	}
	// A process owned by node 0: node 0 is the local path, node 1 the forwarded one.
	var pid ans104.ID
	for {
		if pid, err = a.Spawn(ctx, mod, "", nil, nil); err != nil {
			return err
		}
		v := nodes[0].Members().View()
		if m, _ := v.Owner(pid.String(), nil); v.IsSelf(m) {
			break
		}
	}
	fmt.Fprintf(cfg.Progress, "latency: %d acknowledgements per path on 2 nodes\n", cfg.Latency)
	var local, fwd, localRes, fwdRes []time.Duration
	tags := []ans104.Tag{{Name: "Action", Value: "Eval"}}
	for i := 0; i < cfg.Latency; i++ {
		for _, path := range []struct {
			c        *client.Client
			ack, res *[]time.Duration
		}{{a, &local, &localRes}, {b, &fwd, &fwdRes}} {
			start := time.Now()
			id, err := path.c.Send(ctx, pid, []byte(cfg.Data), tags)
			if err != nil {
				return err
			}
			*path.ack = append(*path.ack, time.Since(start))
			// The result once evaluated: both paths ask for the same kind of already-computed result.
			if _, err := path.c.Result(ctx, pid, id); err != nil {
				return err
			}
			start = time.Now()
			if _, err := path.c.Result(ctx, pid, id); err != nil {
				return err
			}
			*path.res = append(*path.res, time.Since(start))
		}
	}
	rep.LocalP50ms, rep.LocalP99ms = pctOf(local, 0.5), pctOf(local, 0.99)
	rep.ForwardedP50ms, rep.ForwardedP99ms = pctOf(fwd, 0.5), pctOf(fwd, 0.99)
	rep.RatioP50, rep.RatioP99 = rep.ForwardedP50ms/rep.LocalP50ms, rep.ForwardedP99ms/rep.LocalP99ms
	rep.LocalResultP50ms, rep.ForwardResultP50 = pctOf(localRes, 0.5), pctOf(fwdRes, 0.5)
	rep.RatioResultP50 = rep.ForwardResultP50 / rep.LocalResultP50ms
	return nil
}

// pctOf is pct of an unsorted sample.
func pctOf(ds []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return pct(s, p)
}

func forwardThroughput(ctx context.Context, cfg ForwardConfig, n int) (*ForwardRun, error) {
	dir, err := os.MkdirTemp("", "actorweave-bench-forward-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	nodes, closeAll, err := startCluster(ctx, n, dir, cfg.LazyEval)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	user, _ := ans104.GenerateEd25519Signer()
	clients := make([]*client.Client, n)
	for i, nd := range nodes {
		clients[i] = client.New(nd.URL(), user)
	}
	mod, err := clients[0].PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return nil, err
	}
	pids := make([]ans104.ID, cfg.Processes)
	for i := range pids {
		if pids[i], err = clients[i%n].Spawn(ctx, mod, "", nil, nil); err != nil {
			return nil, err
		}
	}
	before := wire(nodes)
	fmt.Fprintf(cfg.Progress, "throughput: %d nodes, %d clients, %d messages\n", n, cfg.Clients, cfg.Messages)
	var next, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr string
	var wg sync.WaitGroup
	tags := []ans104.Tag{{Name: "Action", Value: "Eval"}}
	start := time.Now()
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(n)))
			var mine []time.Duration
			for next.Add(1) <= int64(cfg.Messages) {
				c, pid := clients[rng.IntN(n)], pids[rng.IntN(len(pids))]
				t := time.Now()
				if _, err := c.Send(ctx, pid, []byte(cfg.Data), tags); err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err.Error()
						mu.Unlock()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := wire(nodes)
	run := &ForwardRun{Nodes: n, Acked: len(lat), Errors: int(errs.Load()), AckedPerSec: float64(len(lat)) / elapsed.Seconds(),
		P50ms: pctOf(lat, 0.5), P99ms: pctOf(lat, 0.99), FirstError: firstErr}
	if len(lat) > 0 {
		run.CallsPerAck = float64(after.calls-before.calls) / float64(len(lat))
		run.BytesPerAck = float64(after.bytes-before.bytes) / float64(len(lat))
	}
	return run, nil
}

type wireTotals struct{ calls, bytes int64 }

// wire sums the forwarders' counters over all nodes: calls sent, and bytes of calls sent and replies
// received (so each exchange is counted once, from its caller's side).
func wire(nodes []*node.Node) wireTotals {
	var t wireTotals
	for _, nd := range nodes {
		calls, bytes := nd.Wire()
		t.calls += calls
		t.bytes += bytes
	}
	return t
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
