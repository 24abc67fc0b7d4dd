package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
)

// ClusterConfig is the `cluster` scenario: for each cluster size in Nodes, in turn, a fresh cluster
// of `actorweave node` child processes on loopback (memberlist, Proto.Actor remote with mutual TLS,
// one shared cluster key; a size of 1 is a node alone, as a user runs it without a cluster), and
// Clients concurrent HTTP clients posting Messages signed messages through random members to
// Processes processes. All nodes share this machine's cores: the sizes show the cluster's overhead
// per acknowledged message, not scale-out.
type ClusterConfig struct {
	Exe string   // the actorweave binary the nodes run (os.Executable())
	Env []string // added to the nodes' environment
	// Baseline, when set, is a second node binary (an older build, "before") run at every size too,
	// just before Exe's point of the same size, with the same flags: its figures are prefixed
	// before_, and nodesN_vs_before_* are Exe's ÷ Baseline's of the same command.
	Baseline string
	// Nodes are the cluster sizes, one point each.
	Nodes     []int
	Processes int
	Clients   int
	Messages  int // measured messages per point
	// LazyEval starts the nodes with --lazy-eval: the acknowledgement path (where forwarding and
	// replication happen) is measured, not Lua evaluation.
	LazyEval bool
	// ReplicationFactor is the nodes' --replication-factor; 0 leaves the default (2 in a cluster).
	ReplicationFactor int
	// RequestTimeout is the nodes' --request-timeout (0: the node's default).
	RequestTimeout time.Duration
	// NodeArgs are added to every node's command line.
	NodeArgs []string
	// ProfileDir, when set, has every node write a CPU profile of its whole life there
	// (nodes<N>-node<I>.prof).
	ProfileDir string
	Module     []byte
	Format     string
	Data       string
	Progress   io.Writer

	label string // "before_" while the baseline binary runs
}

// DefaultClusterConfig: 1, 3 and 5 nodes; 100 processes; 32 clients; 5,000 messages; lazy evaluation.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Nodes: []int{1, 3, 5}, Processes: 100, Clients: 32, Messages: 5000, LazyEval: true,
		RequestTimeout: time.Minute, Format: "wasm32-unknown-emscripten2"}
}

// The node counters read before and after each point's measured window (see node/wiremetrics.go
// and registerReplicationMetrics): protobuf payload bytes, without gRPC and TLS framing.
const (
	mFwdCalls      = "actorweave_cluster_forward_calls_sent_total"
	mFwdCallBytes  = "actorweave_cluster_forward_call_bytes_sent_total"
	mFwdReplyBytes = "actorweave_cluster_forward_reply_bytes_received_total"
	mReplRequests  = "actorweave_replication_requests_total"
	mReplSent      = "actorweave_replication_bytes_sent_total"
	mReplReceived  = "actorweave_replication_bytes_received_total"
	mReplAcked     = "actorweave_replication_entries_acknowledged_total"
)

var clusterCounters = []string{mFwdCalls, mFwdCallBytes, mFwdReplyBytes, mReplRequests, mReplSent, mReplReceived, mReplAcked}

// RunCluster runs the scenario. Per point, prefixed nodesN_: acked, errors, acked_per_sec, p50/p90/
// p99/max (acknowledgement latency, ms), node_cpu_ms_per_msg (CPU of all node processes in the
// measured window ÷ acknowledged), node_cores, peak_rss (sum of the nodes' VmHWM), and between
// nodes per acknowledged message: forward_calls_per_ack, forward_bytes_per_ack (Calls and their
// Replies), repl_requests_per_ack, repl_bytes_per_ack (requests and replies), repl_entries_per_ack,
// wire_bytes_per_ack (both); with the ratios to the 1-node point of the same command
// (vs_one_node_acked_per_sec, vs_one_node_cpu_per_msg, vs_one_node_p50).
func RunCluster(ctx context.Context, cfg ClusterConfig) (*Report, error) {
	rep := NewReport("cluster")
	cfg.Data = evalData(programFor(cfg.Module), cfg.Data)
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("nodes", fmt.Sprint(cfg.Nodes), "")
	rep.Param("processes", cfg.Processes, "")
	rep.Param("clients", cfg.Clients, "")
	rep.Param("messages", cfg.Messages, "per point")
	rep.Param("lazy_eval", cfg.LazyEval, "")
	rf := "default (2 in a cluster)"
	if cfg.ReplicationFactor > 0 {
		rf = strconv.Itoa(cfg.ReplicationFactor)
	}
	rep.Param("replication_factor", rf, "")
	if len(cfg.Nodes) == 0 || cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Messages <= 0 || cfg.Exe == "" {
		return nil, errors.New("bench: cluster needs node counts, positive processes, clients and messages, and the binary")
	}
	for _, n := range cfg.Nodes {
		if n <= 0 {
			return nil, fmt.Errorf("bench: cluster size %d", n)
		}
	}
	progress := orDiscard(cfg.Progress)
	rep.Table = &Table{Columns: []string{"nodes", "acked/s", "÷ 1 node", "p50 ms", "p90 ms", "p99 ms", "node CPU ms/msg", "÷ 1 node",
		"node cores", "peak RSS MiB (sum)", "fwd calls/msg", "fwd B/msg", "repl reqs/msg", "repl B/msg", "errors", "load"}}
	type binary struct{ label, exe string }
	bins := []binary{{"", cfg.Exe}}
	if cfg.Baseline != "" {
		rep.Param("baseline", cfg.Baseline, "")
		bins = []binary{{"before_", cfg.Baseline}, {"", cfg.Exe}}
	}
	ones := map[string]*clusterPoint{}
	rates := map[string]float64{} // label+size → acked/s, for the before/after ratios
	cpus := map[string]float64{}
	for _, n := range cfg.Nodes {
		for _, b := range bins {
			bcfg := cfg
			bcfg.Exe, bcfg.label = b.exe, b.label
			if b.label != "" {
				fmt.Fprintf(progress, "baseline binary %s\n", b.exe)
			}
			pt, err := runClusterPoint(ctx, bcfg, n, rep, progress)
			if err != nil {
				return nil, fmt.Errorf("bench: %s%d nodes: %w", b.label, n, err)
			}
			if n == 1 && ones[b.label] == nil {
				ones[b.label] = pt
			}
			rate, cpuPer := recordClusterPoint(rep, b.label, n, pt, ones[b.label])
			rates[b.label+strconv.Itoa(n)], cpus[b.label+strconv.Itoa(n)] = rate, cpuPer
			if b.label == "" && cfg.Baseline != "" {
				k := fmt.Sprintf("nodes%d_vs_before_", n)
				if br := rates["before_"+strconv.Itoa(n)]; br > 0 {
					rep.Figure(k+"acked_per_sec", rate/br, "x")
				}
				if bc := cpus["before_"+strconv.Itoa(n)]; bc > 0 {
					rep.Figure(k+"cpu_per_msg", cpuPer/bc, "x")
				}
			}
		}
	}
	one := ones[""]
	if one == nil {
		rep.Note("no 1-node point: no ratios")
	}
	rep.Note("nodes are child processes (actorweave node) on this machine's cores: the sizes show the cluster's overhead per message, not scale-out; 1 node runs alone (no cluster flags, replication factor 1)")
	rep.Note("per point, before the clock: spawn, then one message per process through every member (activation, first sync with its backup, placement labels cached on every member: warmup_forward_calls_per_msg); node CPU and wire counters are the deltas over the measured window; bytes are protobuf payloads without gRPC/TLS framing; peak RSS is each node's VmHWM over its life")
	return rep.Finish(), nil
}

// recordClusterPoint records one point's figures, prefixed label+"nodesN_", and its table row;
// one is the 1-node point of the same binary (nil: no ratios). It returns acked/s and CPU ms per
// message.
func recordClusterPoint(rep *Report, label string, n int, pt, one *clusterPoint) (rate, cpuPer float64) {
	k := fmt.Sprintf("%snodes%d_", label, n)
	acked := float64(max(pt.acked, 1))
	rate = float64(pt.acked) / pt.elapsed.Seconds()
	cpuPer = pt.cpu * 1000 / acked
	rep.Figure(k+"acked", float64(pt.acked), "msgs")
	rep.Figure(k+"errors", float64(pt.errors), "msgs")
	rep.Figure(k+"acked_per_sec", rate, "msgs/s")
	rep.AddLatency(k, NewLatency(fmt.Sprintf("ack, %s%d nodes", label, n), pt.lat))
	rep.Figure(k+"node_cpu_ms_per_msg", cpuPer, "ms")
	rep.Figure(k+"node_cores", pt.cpu/pt.elapsed.Seconds(), "cores")
	rep.Figure(k+"idle_node_cores", pt.idleCores, "cores")
	rep.Figure(k+"client_cpu_ms_per_msg", pt.clientCPU*1000/acked, "ms")
	rep.Figure(k+"peak_rss", float64(pt.rss), "bytes")
	d := pt.delta
	fwdBytes := d[mFwdCallBytes] + d[mFwdReplyBytes]
	replBytes := d[mReplSent] + d[mReplReceived]
	rep.Figure(k+"forward_calls_per_ack", d[mFwdCalls]/acked, "calls")
	rep.Figure(k+"forward_bytes_per_ack", fwdBytes/acked, "bytes")
	rep.Figure(k+"repl_requests_per_ack", d[mReplRequests]/acked, "requests")
	rep.Figure(k+"repl_bytes_per_ack", replBytes/acked, "bytes")
	rep.Figure(k+"repl_entries_per_ack", d[mReplAcked]/acked, "entries")
	rep.Figure(k+"wire_bytes_per_ack", (fwdBytes+replBytes)/acked, "bytes")
	rep.Figure(k+"warmup_forward_calls_per_msg", pt.warmCalls, "calls")
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	var vsRate, vsCPU float64
	if one != nil {
		oneAcked := float64(max(one.acked, 1))
		vsRate = ratio(rate, float64(one.acked)/one.elapsed.Seconds())
		vsCPU = ratio(cpuPer, one.cpu*1000/oneAcked)
		rep.Figure(k+"vs_one_node_acked_per_sec", vsRate, "x")
		rep.Figure(k+"vs_one_node_cpu_per_msg", vsCPU, "x")
		rep.Figure(k+"vs_one_node_p50", ratio(NewLatency("", pt.lat).P50, NewLatency("", one.lat).P50), "x")
	}
	l := NewLatency("", pt.lat)
	orDash := func(v float64) string {
		if one == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f", v)
	}
	name := strconv.Itoa(n)
	if label != "" {
		name = strings.TrimSuffix(label, "_") + " " + name
	}
	rep.Table.Rows = append(rep.Table.Rows, []string{name, fmt.Sprintf("%.0f", rate), orDash(vsRate),
		fmt.Sprintf("%.2f", l.P50), fmt.Sprintf("%.2f", l.P90), fmt.Sprintf("%.2f", l.P99), fmt.Sprintf("%.3f", cpuPer), orDash(vsCPU),
		fmt.Sprintf("%.2f", pt.cpu/pt.elapsed.Seconds()), fmt.Sprintf("%.0f", float64(pt.rss)/(1<<20)),
		fmt.Sprintf("%.2f", d[mFwdCalls]/acked), fmt.Sprintf("%.0f", fwdBytes/acked),
		fmt.Sprintf("%.2f", d[mReplRequests]/acked), fmt.Sprintf("%.0f", replBytes/acked),
		strconv.Itoa(pt.errors), fmt.Sprintf("%.2f", pt.load)})
	if pt.firstErr != "" {
		rep.Note("%s%d nodes: first error: %s", label, n, pt.firstErr)
	}
	return rate, cpuPer
}

type clusterPoint struct {
	acked, errors int
	firstErr      string
	lat           []time.Duration
	elapsed       time.Duration
	cpu           float64 // all node processes, measured window
	clientCPU     float64 // this process (the load generator), measured window
	rss           uint64  // sum of the nodes' peak RSS
	delta         map[string]float64
	load          float64
	warmCalls     float64 // forwarding Calls per warm-up message (first message per process and member)
	idleCores     float64 // all nodes' CPU with no requests
}

// IdleWindow is how long each point measures the nodes' CPU with no requests.
var IdleWindow = 2 * time.Second

func runClusterPoint(ctx context.Context, cfg ClusterConfig, n int, rep *Report, progress io.Writer) (*clusterPoint, error) {
	dir, err := os.MkdirTemp("", "actorweave-bench-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(progress, "%d nodes: starting\n", n)
	nodes, err := startClusterNodes(ctx, cfg, n, dir)
	defer func() { endAll(nodes, (*childNode).stop) }()
	if err != nil {
		return nil, err
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return nil, err
	}
	clients := make([]*client.Client, n)
	for i, cn := range nodes {
		clients[i] = client.New(cn.url, user)
	}
	var mod ans104.ID
	if err := retry(ctx, func() error {
		var err error
		mod, err = clients[0].PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
		return err
	}); err != nil {
		return nil, fmt.Errorf("publish module: %w", err)
	}
	fmt.Fprintf(progress, "%d nodes: spawning %d processes\n", n, cfg.Processes)
	pids := make([]ans104.ID, cfg.Processes)
	if err := parallel(cfg.Clients, cfg.Processes, func(i int) error {
		return retry(ctx, func() error {
			var err error
			pids[i], err = clients[i%n].Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("bench-%d", i)}})
			return err
		})
	}); err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	warm := cfg.Processes * n
	fmt.Fprintf(progress, "%d nodes: signing %d messages\n", n, warm+cfg.Messages)
	tags := []ans104.Tag{{Name: "Action", Value: "Eval"}}
	items := make([]*ans104.DataItem, warm+cfg.Messages)
	if err := parallel(8, len(items), func(i int) error {
		var err error
		items[i], err = clients[0].MessageItem(pids[i%cfg.Processes], []byte(cfg.Data), tags)
		return err
	}); err != nil {
		return nil, err
	}
	// Warm-up, outside the window: one message per process through every member, so that every
	// process is active on its owner and synced with its backup, and every member has cached its
	// placement labels (a member that does not hold a process asks all others for them once),
	// before the clock starts. What that costs between nodes is reported as warmup_*.
	w0, err := readCounters(ctx, nodes)
	if err != nil {
		return nil, err
	}
	if err := parallel(cfg.Clients, warm, func(i int) error {
		return retry(ctx, func() error {
			_, err := clients[(i/cfg.Processes)%n].PostItem(ctx, items[i])
			if ce := (*client.Error)(nil); errors.As(err, &ce) && ce.Status == http.StatusConflict {
				return nil // an earlier attempt was appended after all
			}
			return err
		})
	}); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	items = items[warm:]

	before, err := readCounters(ctx, nodes)
	if err != nil {
		return nil, err
	}
	warmCalls := (before[mFwdCalls] - w0[mFwdCalls]) / float64(warm)
	// The nodes' background (memberlist probes and gossip, view resync, timers) for IdleWindow with
	// no requests: how much of the CPU per message is not the messages'.
	idle0, idleT := nodesCPU(nodes), time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(IdleWindow):
	}
	idleCores := (nodesCPU(nodes) - idle0) / time.Since(idleT).Seconds()
	before, err = readCounters(ctx, nodes)
	if err != nil {
		return nil, err
	}
	cpu0 := nodesCPU(nodes)
	client0 := cpuSeconds()
	lat := make([]time.Duration, len(items))
	ok := make([]bool, len(items))
	var next, errs atomic.Int64
	var firstErr atomic.Value
	bar := StartProgress(progress, rep, fmt.Sprintf("acked, %d nodes", n), "msgs", len(items))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(n)))
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := clients[rng.IntN(n)].PostItem(ctx, items[i])
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok[i] = true
				}
				bar.Add(1)
			}
		}(w)
	}
	wg.Wait()
	pt := &clusterPoint{elapsed: time.Since(start), cpu: nodesCPU(nodes) - cpu0, clientCPU: cpuSeconds() - client0, errors: int(errs.Load()),
		warmCalls: warmCalls, idleCores: idleCores}
	bar.Stop()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	after, err := readCounters(ctx, nodes)
	if err != nil {
		return nil, err
	}
	pt.delta = map[string]float64{}
	for _, k := range clusterCounters {
		pt.delta[k] = after[k] - before[k]
	}
	for i, l := range lat {
		if ok[i] {
			pt.lat = append(pt.lat, l)
		}
	}
	pt.acked = len(pt.lat)
	if v := firstErr.Load(); v != nil {
		pt.firstErr = v.(string)
	}
	for _, cn := range nodes {
		pt.rss += cn.peakRSS()
	}
	pt.load = loadAvg()
	return pt, nil
}

// startClusterNodes starts n child nodes: alone for n == 1, otherwise a cluster whose members join
// the first; it returns once every member sees all n.
func startClusterNodes(ctx context.Context, cfg ClusterConfig, n int, dir string) ([]*childNode, error) {
	// --drain-timeout 0: at the end of a point every member gets SIGTERM at once, and members
	// handing their processes to each other outlast stop's 30 s and are killed, losing the CPU
	// profile they write at exit.
	common := []string{fmt.Sprintf("--lazy-eval=%t", cfg.LazyEval), "--drain-timeout", "0"}
	profile := func(args []string, i int) []string {
		if cfg.ProfileDir == "" {
			return args
		}
		return append(append([]string(nil), args...), "--cpuprofile", filepath.Join(cfg.ProfileDir, fmt.Sprintf("%snodes%d-node%d.prof", cfg.label, n, i)))
	}
	if cfg.RequestTimeout > 0 {
		common = append(common, "--request-timeout", cfg.RequestTimeout.String())
	}
	common = append(common, cfg.NodeArgs...)
	if n == 1 {
		cn, err := startChildNode(cfg.Exe, cfg.Env, filepath.Join(dir, "node0"), profile(common, 0)...)
		if err != nil {
			return nil, err
		}
		return []*childNode{cn}, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "cluster.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, err
	}
	common = append(common, "--cluster-listen", "127.0.0.1:0", "--cluster-key", keyFile)
	sec, err := awcluster.LoadSecurity(keyFile)
	if err != nil {
		return nil, err
	}
	if cfg.ReplicationFactor > 0 {
		common = append(common, "--replication-factor", strconv.Itoa(cfg.ReplicationFactor))
	}
	var nodes []*childNode
	var seed string
	for i := 0; i < n; i++ {
		args := common
		if seed != "" {
			args = append(append([]string(nil), common...), "--join", seed)
		}
		cn, err := startChildNode(cfg.Exe, cfg.Env, filepath.Join(dir, fmt.Sprint("node", i)), profile(args, i)...)
		if err != nil {
			return nodes, fmt.Errorf("node %d: %w", i, err)
		}
		cn.adminKey = sec.AdminKey
		nodes = append(nodes, cn)
		if i == 0 {
			self, err := cn.self(ctx)
			if err != nil {
				return nodes, err
			}
			if seed = self.Gossip; seed == "" {
				return nodes, errors.New("the first node's status has no gossip address")
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, cn := range nodes {
		for {
			self, err := cn.self(ctx)
			if err == nil && self.ViewSize == n {
				break
			}
			if time.Now().After(deadline) {
				return nodes, fmt.Errorf("the cluster did not converge to %d members within 60 s (%s: %v, %v); its log:\n%s", n, cn.url, self, err, cn.logTail())
			}
			select {
			case <-ctx.Done():
				return nodes, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nodes, nil
}

// retry runs f until it succeeds, up to 20 times 250 ms apart: a member that just joined may not
// serve its forwarder yet (dead letters at join), which only set-up steps tolerate.
func retry(ctx context.Context, f func() error) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = f(); err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

func nodesCPU(nodes []*childNode) float64 {
	var s float64
	for _, cn := range nodes {
		s += cn.cpu()
	}
	return s
}

// readCounters sums the wire counters over the nodes.
func readCounters(ctx context.Context, nodes []*childNode) (map[string]float64, error) {
	sum := map[string]float64{}
	for _, cn := range nodes {
		m, err := cn.metrics(ctx, clusterCounters...)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}
