package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
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
	// Data is the Eval each message carries.
	Data string
	// WaitEvaluated waits, after the last acknowledgement, until every message is evaluated.
	WaitEvaluated bool
	// LazyEval starts the in-process node with lazy evaluation: the acknowledgement path is then
	// measured alone, and evaluation happens when the results are asked for afterwards.
	LazyEval bool
	// NoFsync runs the in-process node without fsync: a baseline that shows what durability costs
	// (it breaks DESIGN.md invariant 1; never run a node like this).
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
		Data: "x = (x or 0) + 1; return x", WaitEvaluated: true, WALMinSyncInterval: -1}
}

// IngestReport holds every figure of one run.
type IngestReport struct {
	Processes       int     `json:"processes"`
	Clients         int     `json:"clients"`
	Messages        int     `json:"messages"`
	Acked           int     `json:"acked"`
	Errors          int     `json:"errors"`
	AckSeconds      float64 `json:"ack_seconds"`
	AckedPerSec     float64 `json:"acked_per_sec"`
	P50ms           float64 `json:"p50"`
	P90ms           float64 `json:"p90"`
	P99ms           float64 `json:"p99"`
	MaxMs           float64 `json:"max"`
	Evaluated       int     `json:"evaluated"`
	EvalSeconds     float64 `json:"eval_seconds"`
	EvaluatedPerSec float64 `json:"evaluated_per_sec"`
	// AckCPUms is the CPU time (node and clients, in-process) per message during the
	// acknowledgement phase: unlike a rate, it does not depend on what else the machine runs.
	AckCPUms      float64 `json:"ack_cpu_ms_per_msg"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUCores      float64 `json:"cpu_cores"`
	RSSBytes      uint64  `json:"rss"`
	HeapBytes     uint64  `json:"heap"`
	InProcessNode bool    `json:"in_process_node"`
	LazyEval      bool    `json:"lazy_eval"`
	NoFsync       bool    `json:"no_fsync,omitempty"`
	FirstError    string  `json:"first_error,omitempty"`
}

// RunIngest runs the scenario. Messages are signed before the clock starts, so that the figures
// are the node's, not the clients' ed25519 signing (which shares the machine's cores in-process).
func RunIngest(ctx context.Context, cfg IngestConfig) (IngestReport, error) {
	rep := IngestReport{Processes: cfg.Processes, Clients: cfg.Clients, Messages: cfg.Messages, LazyEval: cfg.LazyEval, NoFsync: cfg.NoFsync}
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Messages <= 0 {
		return rep, fmt.Errorf("bench: processes, clients and messages must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	url := cfg.Node
	if url == "" {
		dir, err := os.MkdirTemp("", "actorweave-bench-ingest-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
		ncfg := node.DefaultConfig()
		ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
		ncfg.Actors.LazyEval = cfg.LazyEval
		ncfg.Store.NoSync = cfg.NoFsync
		if cfg.WALMinSyncInterval >= 0 {
			ncfg.Store.WALMinSyncInterval = cfg.WALMinSyncInterval
		}
		if cfg.NodeConfig != nil {
			cfg.NodeConfig(&ncfg)
		}
		n, err := node.Start(ctx, ncfg)
		if err != nil {
			return rep, err
		}
		defer n.Close(context.Background())
		url = n.URL()
		rep.InProcessNode = true
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return rep, err
	}
	c := client.New(url, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return rep, fmt.Errorf("bench: publish module: %w", err)
	}
	fmt.Fprintf(progress, "spawning %d processes\n", cfg.Processes)
	pids := make([]ans104.ID, cfg.Processes)
	if err := parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("bench-%d", i)}})
		pids[i] = pid
		return err
	}); err != nil {
		return rep, fmt.Errorf("bench: spawn: %w", err)
	}
	fmt.Fprintf(progress, "signing %d messages\n", cfg.Messages)
	items := make([]*ans104.DataItem, cfg.Messages)
	if err := parallel(8, cfg.Messages, func(i int) error {
		it, err := c.MessageItem(pids[i%cfg.Processes], []byte(cfg.Data), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		items[i] = it
		return err
	}); err != nil {
		return rep, err
	}

	mem := startMemSampler()
	cpu0 := cpuSeconds()
	lat := make([]time.Duration, cfg.Messages)
	ok := make([]bool, cfg.Messages)
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	stopBar := startBar(progress, "acked", cfg.Messages, &done)
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
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	ackDur := time.Since(start)
	rep.AckCPUms = (cpuSeconds() - cpu0) * 1000 / float64(max(1, cfg.Messages))
	stopBar()
	var good []time.Duration
	for i, l := range lat {
		if ok[i] {
			good = append(good, l)
		}
	}
	sort.Slice(good, func(i, j int) bool { return good[i] < good[j] })
	rep.Acked, rep.Errors = len(good), int(errs.Load())
	if v := firstErr.Load(); v != nil {
		rep.FirstError = v.(string)
	}
	rep.AckSeconds = ackDur.Seconds()
	rep.AckedPerSec = float64(rep.Acked) / ackDur.Seconds()
	rep.P50ms, rep.P90ms, rep.P99ms = pct(good, 0.50), pct(good, 0.90), pct(good, 0.99)
	if len(good) > 0 {
		rep.MaxMs = float64(good[len(good)-1].Microseconds()) / 1000
	}

	if cfg.WaitEvaluated {
		// Each process evaluates in log order: when the last message sent to it has a result,
		// all of them have. Only acknowledged messages count.
		last := make(map[ans104.ID]ans104.ID, cfg.Processes)
		for i, it := range items {
			if ok[i] {
				last[it.TargetID()] = it.ID()
			}
		}
		fmt.Fprintf(progress, "waiting for %d processes to evaluate\n", len(last))
		evalStart := time.Now()
		pairs := make([][2]ans104.ID, 0, len(last))
		for p, m := range last {
			pairs = append(pairs, [2]ans104.ID{p, m})
		}
		if err := parallel(cfg.Clients, len(pairs), func(i int) error {
			for {
				rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				_, err := c.Result(rctx, pairs[i][0], pairs[i][1])
				cancel()
				if err == nil || ctx.Err() != nil {
					return err
				}
			}
		}); err != nil {
			return rep, fmt.Errorf("bench: waiting for results: %w", err)
		}
		evalDur := time.Since(start)
		if cfg.LazyEval {
			evalDur = time.Since(evalStart)
		}
		rep.Evaluated = rep.Acked
		rep.EvalSeconds = evalDur.Seconds()
		rep.EvaluatedPerSec = float64(rep.Evaluated) / evalDur.Seconds()
	}
	rep.CPUSeconds = cpuSeconds() - cpu0
	rep.CPUCores = rep.CPUSeconds / time.Since(start).Seconds()
	rep.HeapBytes, rep.RSSBytes = mem.stop()
	return rep, nil
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

// startBar draws a one-line progress bar on w until the returned func is called.
func startBar(w io.Writer, what string, total int, done *atomic.Int64) func() {
	if w == io.Discard {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	draw := func() {
		d := int(done.Load())
		frac := float64(d) / float64(total)
		filled := int(frac * 30)
		bar := make([]byte, 30)
		for i := range bar {
			bar[i] = '.'
			if i < filled {
				bar[i] = '#'
			}
		}
		rate := float64(d) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(w, "\r[%s] %d/%d %s  %.0f/s \x1b[K", bar, d, total, what, rate)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-finished }
}
