package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
)

// FailoverConfig is the `failover` scenario: a cluster of three `actorweave node` child processes
// (memberlist, replication factor 2) holding Processes processes; Kills times over, a member that
// owns processes is killed with SIGKILL and the clock runs from the kill until each of its
// processes acknowledges a new message again, sent through the surviving members; the killed
// member is then restarted on its data and the cluster left to settle before the next kill. Each
// mode in Modes runs on a fresh cluster: "signal" with the nodes' default failure detection,
// "baseline" with --failure-timeout 0 (memberlist's detection alone, the behaviour before the
// failure signal). It reports; it never fails on a number.
type FailoverConfig struct {
	Exe       string
	Env       []string
	Modes     []string // "signal", "baseline"
	Kills     int      // per mode
	Processes int
	// NodeArgs are added to every node's command line in every mode (e.g. --failure-timeout 2s).
	NodeArgs []string
	// Bound is how long a process may take to answer after a kill before it counts as not failed
	// over (the round goes on; the report says how many).
	Bound time.Duration
	// Rest is how long the cluster runs after a restarted member has settled before the next
	// kill: a member first heard less than 30 s ago has a doubled failure timeout (a newcomer,
	// cluster/failure.go), which a shorter rest would measure instead of the steady state.
	Rest     time.Duration
	Module   []byte
	Format   string
	Progress io.Writer
}

// DefaultFailoverConfig: both modes, 20 kills each, 12 processes.
func DefaultFailoverConfig() FailoverConfig {
	return FailoverConfig{Modes: []string{"signal", "baseline"}, Kills: 20, Processes: 12, Bound: time.Minute,
		Rest: 32 * time.Second, Format: "wasm32-unknown-emscripten2"}
}

// failoverModeArgs are each mode's node flags.
var failoverModeArgs = map[string][]string{"signal": nil, "baseline": {"--failure-timeout", "0"}}

// RunFailover runs the scenario. Per mode, prefixed MODE_: p50/p90/p99/max of kill -9 to the first
// acknowledgement of each of the killed member's processes (ms), the same for the last of a kill's
// processes (MODE_kill_*: when every process of the killed member serves again), and
// MODE_processes_measured, MODE_not_failed_over, MODE_kills.
func RunFailover(ctx context.Context, cfg FailoverConfig) (*Report, error) {
	rep := NewReport("failover")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("modes", fmt.Sprint(cfg.Modes), "")
	rep.Param("kills", cfg.Kills, "per mode")
	rep.Param("processes", cfg.Processes, "")
	rep.Param("node_args", fmt.Sprint(cfg.NodeArgs), "")
	rep.Param("rest", cfg.Rest.String(), "between a restart and the next kill")
	if cfg.Kills <= 0 || cfg.Processes <= 0 || cfg.Exe == "" || len(cfg.Modes) == 0 {
		return nil, errors.New("bench: failover needs modes, positive kills and processes, and the binary")
	}
	for _, m := range cfg.Modes {
		if _, ok := failoverModeArgs[m]; !ok {
			return nil, fmt.Errorf("bench: failover mode %q (signal or baseline)", m)
		}
	}
	if cfg.Bound <= 0 {
		cfg.Bound = time.Minute
	}
	progress := orDiscard(cfg.Progress)
	rep.Table = &Table{Columns: []string{"mode", "kills", "processes", "p50 s", "p90 s", "p99 s", "max s", "all of a kill: p50 s", "p99 s", "max s", "not failed over", "load"}}
	for _, mode := range cfg.Modes {
		res, err := runFailoverMode(ctx, cfg, mode, progress)
		if err != nil {
			return nil, fmt.Errorf("bench: failover %s: %w", mode, err)
		}
		per := NewLatency("kill -9 to serving, per process, "+mode, res.perProcess)
		all := NewLatency("kill -9 to serving, all of a kill's processes, "+mode, res.perKill)
		rep.AddLatency(mode+"_", per)
		rep.Latencies = append(rep.Latencies, all)
		rep.Figure(mode+"_kill_p50", all.P50, "ms")
		rep.Figure(mode+"_kill_p99", all.P99, "ms")
		rep.Figure(mode+"_kill_max", all.Max, "ms")
		rep.Figure(mode+"_kills", float64(res.kills), "kills")
		rep.Figure(mode+"_processes_measured", float64(len(res.perProcess)), "processes")
		rep.Figure(mode+"_not_failed_over", float64(res.failed), "processes")
		s := func(ms float64) string { return fmt.Sprintf("%.2f", ms/1000) }
		rep.Table.Rows = append(rep.Table.Rows, []string{mode, strconv.Itoa(res.kills), strconv.Itoa(len(res.perProcess)),
			s(per.P50), s(per.P90), s(per.P99), s(per.Max), s(all.P50), s(all.P99), s(all.Max), strconv.Itoa(res.failed), fmt.Sprintf("%.2f", res.load)})
		if res.firstErr != "" {
			rep.Note("%s: first refusal while failing over: %s", mode, res.firstErr)
		}
	}
	rep.Note("three child nodes (lazy evaluation, replication factor 2); per kill the member owning processes is chosen at random, killed with SIGKILL, and every one of its processes is sent a new message through the surviving members, retried every 50 ms, until acknowledged; the figure is kill to acknowledgement; the member is then restarted on its data, every process acknowledges a message, and the cluster runs for the rest time before the next kill")
	rep.Note("signal: the nodes' defaults (the failure signal, --failure-timeout); baseline: --failure-timeout 0 (memberlist's failure detection and the death grace alone)")
	return rep.Finish(), nil
}

type failoverResult struct {
	perProcess, perKill []time.Duration
	kills, failed       int
	firstErr            string
	load                float64
}

func runFailoverMode(ctx context.Context, cfg FailoverConfig, mode string, progress io.Writer) (*failoverResult, error) {
	dir, err := os.MkdirTemp("", "actorweave-bench-failover-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := append(append([]string(nil), cfg.NodeArgs...), failoverModeArgs[mode]...)
	ccfg := ClusterConfig{Exe: cfg.Exe, Env: cfg.Env, LazyEval: true, RequestTimeout: time.Minute, NodeArgs: args}
	fmt.Fprintf(progress, "%s: starting 3 nodes %v\n", mode, args)
	nodes, err := startClusterNodes(ctx, ccfg, 3, dir)
	defer func() { endAll(nodes, (*childNode).kill) }()
	if err != nil {
		return nil, err
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return nil, err
	}
	// Members by placement name (stable across restarts: the node key is in the data folder).
	names := make([]string, len(nodes))
	gossip := make([]string, len(nodes))
	for i, cn := range nodes {
		self, err := cn.self(ctx)
		if err != nil {
			return nil, err
		}
		names[i], gossip[i] = self.Name, self.Gossip
	}
	owner := func(pid ans104.ID) int {
		var ms []awcluster.Member
		for _, n := range names {
			ms = append(ms, awcluster.Member{Name: n, Capacity: 1})
		}
		return slices.Index(names, awcluster.Rank(pid.String(), ms, nil)[0].Name)
	}
	var mod ans104.ID
	if err := retry(ctx, func() error {
		var err error
		mod, err = client.New(nodes[0].url, user).PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
		return err
	}); err != nil {
		return nil, fmt.Errorf("publish module: %w", err)
	}
	fmt.Fprintf(progress, "%s: spawning %d processes\n", mode, cfg.Processes)
	pids := make([]ans104.ID, cfg.Processes)
	if err := parallel(4, cfg.Processes, func(i int) error {
		return retry(ctx, func() error {
			var err error
			pids[i], err = client.New(nodes[i%3].url, user).Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("failover-%d", i)}})
			return err
		})
	}); err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	// send posts a new message to pid through node via, once.
	send := func(ctx context.Context, via *childNode, pid ans104.ID) error {
		c := client.New(via.url, user)
		item, err := c.MessageItem(pid, []byte(programFor(cfg.Module).Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return err
		}
		_, err = c.PostItem(ctx, item)
		return err
	}
	// settle: every process acknowledges a message through some member (hand-overs done).
	settle := func() error {
		return parallel(4, len(pids), func(i int) error {
			return retry(ctx, func() error { return send(ctx, nodes[i%3], pids[i]) })
		})
	}
	if err := settle(); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	rest := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(cfg.Rest):
			return nil
		}
	}
	if err := rest(); err != nil {
		return nil, err
	}
	res := &failoverResult{}
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := 0; k < cfg.Kills; k++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		byOwner := map[int][]ans104.ID{}
		for _, pid := range pids {
			o := owner(pid)
			byOwner[o] = append(byOwner[o], pid)
		}
		var owners []int
		for o := range byOwner {
			owners = append(owners, o)
		}
		slices.Sort(owners)
		v := owners[rng.IntN(len(owners))]
		moved := byOwner[v]
		var survivors []*childNode
		for i, cn := range nodes {
			if i != v {
				survivors = append(survivors, cn)
			}
		}
		killedAt := time.Now()
		nodes[v].kill()
		took := make([]time.Duration, len(moved))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for j, pid := range moved {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for try := 0; ; try++ {
					if time.Since(killedAt) > cfg.Bound || ctx.Err() != nil {
						took[j] = -1
						return
					}
					rctx, cancel := context.WithTimeout(ctx, cfg.Bound)
					err := send(rctx, survivors[(j+try)%len(survivors)], pid)
					cancel()
					if err == nil {
						took[j] = time.Since(killedAt)
						return
					}
					mu.Lock()
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		var last time.Duration
		for _, d := range took {
			if d < 0 {
				res.failed++
				continue
			}
			res.perProcess = append(res.perProcess, d)
			last = max(last, d)
		}
		res.perKill = append(res.perKill, last)
		res.kills++
		fmt.Fprintf(progress, "%s: kill %d/%d: member %d owned %d processes; all serving again %v after the kill\n",
			mode, k+1, cfg.Kills, v, len(moved), last.Round(time.Millisecond))
		// Restart the killed member on its data, joining through a survivor, and let the cluster
		// settle: three members in every view, every process acknowledging again.
		var join string
		for i := range nodes {
			if i != v {
				join = gossip[i]
				break
			}
		}
		rargs := append([]string{fmt.Sprintf("--lazy-eval=%t", ccfg.LazyEval), "--request-timeout", ccfg.RequestTimeout.String(),
			"--cluster-listen", "127.0.0.1:0", "--cluster-key", filepath.Join(dir, "cluster.key"), "--join", join}, args...)
		cn, err := startChildNode(cfg.Exe, cfg.Env, nodes[v].dir, rargs...)
		if err != nil {
			return nil, fmt.Errorf("restart member %d: %w", v, err)
		}
		cn.adminKey = nodes[v].adminKey
		nodes[v] = cn
		if err := waitViews(ctx, nodes, 3, 2*time.Minute); err != nil {
			return nil, err
		}
		self, err := cn.self(ctx)
		if err != nil {
			return nil, err
		}
		gossip[v] = self.Gossip
		if err := settle(); err != nil {
			return nil, fmt.Errorf("after restarting member %d: %w", v, err)
		}
		if k < cfg.Kills-1 {
			if err := rest(); err != nil {
				return nil, err
			}
		}
	}
	res.load = loadAvg()
	return res, nil
}

// waitViews waits until every node's view holds exactly n members.
func waitViews(ctx context.Context, nodes []*childNode, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, cn := range nodes {
		for {
			self, err := cn.self(ctx)
			if err == nil && self.ViewSize == n {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("views did not converge to %d members within %v (%s: %v, %v)", n, within, cn.url, self, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
