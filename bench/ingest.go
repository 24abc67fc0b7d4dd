package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// IngestConfig is the `ingest` scenario: concurrent HTTP clients posting signed messages to P
// processes of a node, the acknowledgement path measured per request.
type IngestConfig struct {
	// Node is the URL of a running node; empty starts one in-process in a temporary folder.
	Node      string
	Processes int
	Clients   int
	Messages  int // total messages posted
	// Module is the wasm of the process module and Format its Module-Format.
	Module []byte
	Format string
	// Data is the Eval each message carries (empty: the module's counter, Program.Counter).
	Data string
	// WaitEvaluated waits, after the last acknowledgement, until every message is evaluated.
	WaitEvaluated bool
	// LazyEval starts the in-process node with lazy evaluation: the acknowledgement path is then
	// measured alone, and evaluation happens when the results are asked for afterwards.
	LazyEval bool
	// NoFsync runs the in-process node without fsync: a baseline that shows what durability costs
	// (it breaks docs/design.md invariant 1; never run a node like this).
	NoFsync bool
	// WALMinSyncInterval overrides the in-process node's default when >= 0.
	WALMinSyncInterval time.Duration
	// NodeConfig adjusts the in-process node.
	NodeConfig func(*node.Config)
	Progress   io.Writer
}

// DefaultIngestConfig: 100 processes, 64 clients, 20,000 messages.
func DefaultIngestConfig() IngestConfig {
	return IngestConfig{Processes: 100, Clients: 64, Messages: 20_000, Format: "wasm32-unknown-emscripten2",
		WaitEvaluated: true, WALMinSyncInterval: -1}
}

// RunIngest runs the scenario. Messages are signed before the clock starts, so that the figures
// are the node's, not the clients' ed25519 signing (which shares the machine's cores in-process).
// Figures: acked, errors, acked_per_sec, p50/p90/p99/max (acknowledgement latency, ms), evaluated,
// evaluated_per_sec, ack_cpu_ms_per_msg, cpu (seconds), cpu_cores, rss (peak resident bytes).
func RunIngest(ctx context.Context, cfg IngestConfig) (*Report, error) {
	rep := NewReport("ingest")
	cfg.Data = evalData(programFor(cfg.Module), cfg.Data)
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("processes", cfg.Processes, "")
	rep.Param("clients", cfg.Clients, "")
	rep.Param("messages", cfg.Messages, "")
	rep.Param("lazy_eval", cfg.LazyEval, "")
	rep.Param("no_fsync", cfg.NoFsync, "")
	rep.Param("node", cmp.Or(cfg.Node, "in-process"), "")
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Messages <= 0 {
		return nil, fmt.Errorf("bench: processes, clients and messages must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tg, err := startTarget(ctx, cfg.Node, "actorweave-bench-ingest-", func(ncfg *node.Config) {
		ncfg.Actors.LazyEval = cfg.LazyEval
		ncfg.Store.NoSync = cfg.NoFsync
		if cfg.WALMinSyncInterval >= 0 {
			ncfg.Store.WALMinSyncInterval = cfg.WALMinSyncInterval
		}
		if cfg.NodeConfig != nil {
			cfg.NodeConfig(ncfg)
		}
	})
	if err != nil {
		return nil, err
	}
	defer tg.close()
	if tg.node == nil {
		rep.Note("remote node: cpu and rss are this load generator's only")
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return nil, err
	}
	c := client.New(tg.url, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return nil, fmt.Errorf("bench: publish module: %w", err)
	}
	fmt.Fprintf(progress, "spawning %d processes\n", cfg.Processes)
	pids := make([]ans104.ID, cfg.Processes)
	if err := parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("bench-%d", i)}})
		pids[i] = pid
		return err
	}); err != nil {
		return nil, fmt.Errorf("bench: spawn: %w", err)
	}
	fmt.Fprintf(progress, "signing %d messages\n", cfg.Messages)
	items := make([]*ans104.DataItem, cfg.Messages)
	if err := parallel(8, cfg.Messages, func(i int) error {
		it, err := c.MessageItem(pids[i%cfg.Processes], []byte(cfg.Data), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		items[i] = it
		return err
	}); err != nil {
		return nil, err
	}

	mem := startMemSampler()
	cpu0 := cpuSeconds()
	lat := make([]time.Duration, cfg.Messages)
	ok := make([]bool, cfg.Messages)
	var next, errs atomic.Int64
	var firstErr atomic.Value
	bar := StartProgress(progress, rep, "acked", "msgs", cfg.Messages)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Messages || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := c.PostItem(ctx, items[i])
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok[i] = true
				}
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	ackDur := time.Since(start)
	ackCPU := cpuSeconds() - cpu0
	bar.Stop()
	var good []time.Duration
	for i, l := range lat {
		if ok[i] {
			good = append(good, l)
		}
	}
	acked := len(good)
	rep.Figure("acked", float64(acked), "msgs")
	rep.Figure("errors", float64(errs.Load()), "msgs")
	if v := firstErr.Load(); v != nil {
		rep.Note("first error: %s", v.(string))
	}
	rep.Figure("ack_seconds", ackDur.Seconds(), "s")
	rep.Figure("acked_per_sec", float64(acked)/ackDur.Seconds(), "msgs/s")
	rep.AddLatency("", NewLatency("ack", good))
	rep.Figure("ack_cpu_ms_per_msg", ackCPU*1000/float64(max(1, acked)), "ms")

	evaluated := 0
	if cfg.WaitEvaluated {
		// Each process evaluates in log order: when the last message sent to it has a result,
		// all of them have. Only acknowledged messages count.
		last := make(map[ans104.ID]ans104.ID, cfg.Processes)
		perProcess := make(map[ans104.ID]int, cfg.Processes)
		for i, it := range items {
			if ok[i] {
				last[it.TargetID()] = it.ID()
				perProcess[it.TargetID()]++
			}
		}
		fmt.Fprintf(progress, "waiting for %d processes to evaluate\n", len(last))
		evalStart := time.Now()
		pairs := make([][2]ans104.ID, 0, len(last))
		for p, m := range last {
			pairs = append(pairs, [2]ans104.ID{p, m})
		}
		// With eager evaluation most of the work is done by now: its series would show a burst
		// of cached results, not an evaluation rate, so it stays out of the report.
		erep := rep
		if !cfg.LazyEval {
			erep = &Report{}
		}
		ebar := StartProgress(progress, erep, "evaluated", "msgs", acked)
		if err := parallel(cfg.Clients, len(pairs), func(i int) error {
			for {
				rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				_, err := c.Result(rctx, pairs[i][0], pairs[i][1])
				cancel()
				if err == nil {
					ebar.Add(perProcess[pairs[i][0]])
				}
				if err == nil || ctx.Err() != nil {
					return err
				}
			}
		}); err != nil {
			ebar.Stop()
			return nil, fmt.Errorf("bench: waiting for results: %w", err)
		}
		ebar.Stop()
		// Eager evaluation runs alongside acknowledgement: its rate counts from the first post.
		evalDur := time.Since(start)
		if cfg.LazyEval {
			evalDur = time.Since(evalStart)
		}
		evaluated = acked
		rep.Figure("eval_seconds", evalDur.Seconds(), "s")
		rep.Figure("evaluated_per_sec", float64(evaluated)/evalDur.Seconds(), "msgs/s")
	}
	rep.Figure("evaluated", float64(evaluated), "msgs")
	cpu := cpuSeconds() - cpu0
	rep.Figure("cpu", cpu, "s")
	rep.Figure("cpu_cores", cpu/time.Since(start).Seconds(), "cores")
	if evaluated > 0 {
		evaluationCeiling(ctx, rep, tg.url, cpu, evaluated, tg.node != nil)
	}
	heap, _ := mem.stop()
	rep.Figure("rss", float64(peakRSS()), "bytes")
	rep.Figure("heap", float64(heap), "bytes")
	return rep.Finish(), nil
}

// evaluationCeiling reports how close the node came to evaluating at the speed of the module
// itself. The module's own cost per message is the CPU time the node's evaluating threads spent
// in the module's handle calls (actorweave_evaluation_cpu_seconds_total over
// actorweave_evaluations_total: these very messages, their JSON, env and memory, unlike `bench
// eval`'s minimal message); the ceiling is every core of this machine doing nothing else. With an
// in-process node the CPU per message also holds the benchmark's own HTTP clients, so
// node_overhead_of_module is an upper bound.
func evaluationCeiling(ctx context.Context, rep *Report, url string, cpu float64, evaluated int, inProcess bool) {
	const moduleCPU, count = "actorweave_evaluation_cpu_seconds_total", "actorweave_evaluations_total"
	m, err := scrapeMetrics(ctx, url, moduleCPU, count)
	if err != nil || m[count] == 0 || m[moduleCPU] == 0 {
		rep.Note("evaluation ceiling not reported: the node's %s is unavailable (%v)", moduleCPU, err)
		return
	}
	module := m[moduleCPU] / m[count]
	ceiling := float64(goruntime.NumCPU()) / module
	rep.Figure("module_cpu_ms_per_msg", module*1000, "ms")
	rep.Figure("eval_ceiling_per_sec", ceiling, "msgs/s")
	rep.Figure("evaluated_of_ceiling", rep.Figures.Float("evaluated_per_sec")/ceiling, "x")
	if inProcess {
		perMsg := cpu / float64(evaluated)
		rep.Figure("cpu_ms_per_msg", perMsg*1000, "ms")
		rep.Figure("node_overhead_of_module", (perMsg-module)/module, "x")
		rep.Note("eval_ceiling_per_sec: %d cores / the module's CPU per message (the node's actorweave_evaluation_cpu_seconds_total); node_overhead_of_module: (CPU per message - module CPU) / module CPU, with this benchmark's HTTP clients in the same process", goruntime.NumCPU())
	}
}

// parallel runs f(0..n-1) on `workers` goroutines and returns the first error.
func parallel(workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// RunIngestBaseline runs the scenario as configured, then again without fsync (the baseline) on a
// fresh node, and reports the first with the baseline as its one run and the ratios between them:
// fsync_ratio_acked_per_sec (durable ÷ no-fsync throughput) and fsync_ratio_cpu_per_msg. The two
// share the machine's conditions more closely than two separate commands.
func RunIngestBaseline(ctx context.Context, cfg IngestConfig) (*Report, error) {
	rep, err := RunIngest(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Node != "" || cfg.NoFsync {
		return nil, fmt.Errorf("bench: --baseline needs an in-process node with fsync on")
	}
	bcfg := cfg
	bcfg.NoFsync = true
	base, err := RunIngest(ctx, bcfg)
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	rep.Runs = append(rep.Runs, base)
	b := base.Figures
	rep.Figure("baseline_acked_per_sec", b.Float("acked_per_sec"), "msgs/s")
	rep.Figure("baseline_ack_cpu_ms_per_msg", b.Float("ack_cpu_ms_per_msg"), "ms")
	rep.Figure("baseline_p50", b.Float("p50"), "ms")
	rep.Figure("baseline_p99", b.Float("p99"), "ms")
	if v := b.Float("acked_per_sec"); v > 0 {
		rep.Figure("fsync_ratio_acked_per_sec", rep.Figures.Float("acked_per_sec")/v, "x")
	}
	if v := b.Float("ack_cpu_ms_per_msg"); v > 0 {
		rep.Figure("fsync_ratio_cpu_per_msg", rep.Figures.Float("ack_cpu_ms_per_msg")/v, "x")
	}
	rep.Note("baseline: the same run on a fresh node without fsync (not durable), right after")
	return rep.Finish(), nil
}
