package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// CronConfig is the `cron` scenario: N processes with one time cron each on one node, ticking for
// Duration; optionally the node is killed with SIGKILL part-way and restarted.
type CronConfig struct {
	Processes int
	Interval  string // the Cron-Interval of every process, e.g. "1-second"
	Duration  time.Duration
	Clients   int  // concurrent spawns
	LazyEval  bool // ticks appended but evaluated only on demand (no module instances)
	MaxActive int  // the node's --max-active (0: its default)
	Sample    int  // processes whose logs are read back for exact lateness and continuity
	// KillAfter > 0 runs the node as a child process (Binary node ...) and kills it with SIGKILL
	// this far into the measured window, restarting it after Down.
	KillAfter time.Duration
	Down      time.Duration
	CatchUp   string // the node's --cron-catch-up
	Binary    string // the actorweave binary for the child node (default: this executable)
	Module    []byte
	Format    string
	Progress  io.Writer
}

// DefaultCronConfig: 10,000 processes with a 1-second cron for 60 s, lazily evaluated.
func DefaultCronConfig() CronConfig {
	return CronConfig{Processes: 10_000, Interval: "1-second", Duration: 60 * time.Second, Clients: 32, LazyEval: true,
		Sample: 200, Down: 5 * time.Second, CatchUp: "all", Format: "wasm32-unknown-emscripten2"}
}

// cronNode is the node under test: in this process, or a child process that can be killed.
type cronNode struct {
	url   string
	inner *node.Node
	cmd   *exec.Cmd
	dir   string
	args  []string
	bin   string
	cpu0  float64 // CPU of earlier incarnations (child mode)
	peak  uint64
}

func startCronNode(ctx context.Context, cfg CronConfig, dir string) (*cronNode, error) {
	cn := &cronNode{dir: dir}
	if cfg.KillAfter <= 0 {
		ncfg := node.DefaultConfig()
		ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
		ncfg.Actors.LazyEval = cfg.LazyEval
		if cfg.MaxActive > 0 {
			ncfg.Actors.MaxActive = cfg.MaxActive
		}
		ncfg.API.RequestTimeout = time.Minute
		n, err := node.Start(ctx, ncfg)
		if err != nil {
			return nil, err
		}
		cn.inner, cn.url = n, n.URL()
		return cn, nil
	}
	cn.bin = cfg.Binary
	if cn.bin == "" {
		var err error
		if cn.bin, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	cn.args = []string{"node", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "warn",
		"--cron-catch-up", cfg.CatchUp, "--request-timeout", "1m", fmt.Sprintf("--lazy-eval=%t", cfg.LazyEval)}
	if cfg.MaxActive > 0 {
		cn.args = append(cn.args, "--max-active", strconv.Itoa(cfg.MaxActive))
	}
	return cn, cn.spawnChild()
}

func (cn *cronNode) spawnChild() error {
	cmd := exec.Command(cn.bin, cn.args...)
	logf, err := os.OpenFile(filepath.Join(cn.dir, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("child node did not start (see %s): %w", logf.Name(), err)
	}
	// "actorweave node listening on http://... (scheduler ...)"
	f := strings.Fields(line)
	for _, w := range f {
		if strings.HasPrefix(w, "http://") {
			cn.url = w
		}
	}
	if cn.url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("child node printed %q", line)
	}
	cn.cmd = cmd
	return nil
}

// kill9 kills the child with SIGKILL (its CPU time so far is kept).
func (cn *cronNode) kill9() {
	cn.cpu0 += cn.cpu()
	cn.sampleMem()
	_ = cn.cmd.Process.Signal(syscall.SIGKILL)
	_ = cn.cmd.Wait()
}

func (cn *cronNode) close() {
	if cn.inner != nil {
		cn.inner.Close(context.Background())
		return
	}
	if cn.cmd != nil {
		_ = cn.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cn.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cn.cmd.Process.Kill()
			<-done
		}
	}
}

// cpu is the node's CPU seconds (this process's when in-process).
func (cn *cronNode) cpu() float64 {
	if cn.inner != nil {
		return cpuSeconds()
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cn.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func (cn *cronNode) rss() uint64 {
	if cn.inner != nil {
		return rss()
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cn.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (cn *cronNode) sampleMem() { cn.peak = max(cn.peak, cn.rss()) }

// RunCron runs the scenario. Figures over the measured window: ticks, ticks_per_sec, late_p50 and
// late_p99 (ms, assignment timestamp − due, every tick, from the node's histograms: ±12 % bucket
// resolution), eval_late_p50/p99 (end of evaluation − due, eager evaluation only), skipped,
// activations, activations_per_sec; from the logs of the sample (exact): sample_late_p50/p90/p99/max,
// sample_ticks, sample_due, sample_duplicates, sample_gaps; the node's node_cpu_seconds, cpu_cores,
// rss_end, peak_rss; spawn_seconds, window_seconds, killed (1 when the node was killed).
func RunCron(ctx context.Context, cfg CronConfig) (*Report, error) {
	rep := NewReport("cron")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("processes", cfg.Processes, "")
	rep.Param("interval", cfg.Interval, "")
	rep.Param("duration", cfg.Duration.String(), "")
	rep.Param("lazy_eval", cfg.LazyEval, "")
	if cfg.MaxActive > 0 {
		rep.Param("max_active", cfg.MaxActive, "")
	}
	rep.Param("sample", min(cfg.Sample, cfg.Processes), "processes")
	if cfg.KillAfter > 0 {
		rep.Param("kill_after", cfg.KillAfter.String(), "")
		rep.Param("down", cfg.Down.String(), "")
		rep.Param("cron_catch_up", cfg.CatchUp, "")
	}
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("bench: processes, clients and duration must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "actorweave-bench-cron-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cn, err := startCronNode(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	defer func() { cn.close() }()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(cn.url, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return nil, err
	}
	tags := []ans104.Tag{{Name: "Cron-Interval", Value: cfg.Interval}, {Name: "Cron-Tag-Action", Value: "Tick"}}
	pids := make([]ans104.ID, cfg.Processes)
	bar := StartProgress(progress, rep, "spawned", "processes", cfg.Processes)
	start := time.Now()
	err = parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, tags)
		pids[i] = pid
		bar.Add(1)
		return err
	})
	bar.Stop()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	rep.Figure("spawn_seconds", time.Since(start).Seconds(), "s")

	// The measured window: the node's counters and CPU at its start and end.
	h0, err := scrapeCron(ctx, c)
	if err != nil {
		return nil, err
	}
	cpu0 := cn.cpu()
	wstart := time.Now()
	fmt.Fprintf(progress, "%d processes ticking every %s; measuring %v\n", cfg.Processes, cfg.Interval, cfg.Duration)
	// The ticks series: the node's tick counter scraped once a second (a restarted node counts
	// from zero again: its count then adds to the first incarnation's).
	var cur atomic.Pointer[client.Client]
	cur.Store(c)
	ticksBar := StartProgress(progress, rep, "ticks", "ticks", 0)
	var memStop, memDone chan struct{}
	last, base := h0.late.count, 0.0 // one watcher at a time uses them
	watch := func() {
		memStop, memDone = make(chan struct{}), make(chan struct{})
		go func(stop <-chan struct{}, done chan<- struct{}) {
			defer close(done)
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-t.C:
					cn.sampleMem()
					if i%2 == 1 {
						if h, err := scrapeCron(ctx, cur.Load()); err == nil {
							if h.late.count < last-base { // restarted
								base = last
							}
							if n := base + h.late.count; n > last {
								ticksBar.Add(int(n - last))
								last = n
							}
						}
					}
				}
			}
		}(memStop, memDone)
	}
	watch()
	var hKill *cronScrape
	killed := false
	if cfg.KillAfter > 0 && cfg.KillAfter < cfg.Duration {
		_ = sleepCtx(ctx, cfg.KillAfter)
		if hk, err := scrapeCron(ctx, c); err == nil {
			hKill = hk
		}
		close(memStop)
		<-memDone
		fmt.Fprintf(progress, "kill -9 the node; restarting in %v\n", cfg.Down)
		cn.kill9()
		killed = true
		_ = sleepCtx(ctx, cfg.Down)
		if err := cn.spawnChild(); err != nil {
			ticksBar.Stop()
			return nil, fmt.Errorf("restart: %w", err)
		}
		c = client.New(cn.url, user)
		cur.Store(c)
		watch()
		_ = sleepCtx(ctx, cfg.Duration-cfg.KillAfter-cfg.Down)
	} else {
		_ = sleepCtx(ctx, cfg.Duration)
	}
	close(memStop)
	<-memDone
	ticksBar.Stop()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	h1, err := scrapeCron(ctx, c)
	if err != nil {
		return nil, err
	}
	window := time.Since(wstart).Seconds()
	nodeCPU := cn.cpu0 + cn.cpu() - cpu0
	cn.sampleMem()
	rep.Figure("window_seconds", window, "s")
	rep.Figure("node_cpu_seconds", nodeCPU, "s")
	rep.Figure("cpu_cores", nodeCPU/window, "cores")
	rep.Figure("rss_end", float64(cn.rss()), "bytes")
	rep.Figure("peak_rss", float64(cn.peak), "bytes")
	// Histograms over the window (the child's restart resets them: the two incarnations add up).
	late, evalLate := h1.late.minus(h0.late), h1.evalLate.minus(h0.evalLate)
	var skipped, activations float64
	if hKill != nil {
		late = hKill.late.minus(h0.late).plus(h1.late)
		evalLate = hKill.evalLate.minus(h0.evalLate).plus(h1.evalLate)
		skipped = h1.skipped
		activations = hKill.activations - h0.activations + h1.activations
	} else {
		skipped = h1.skipped - h0.skipped
		activations = h1.activations - h0.activations
	}
	rep.Figure("ticks", late.count, "ticks")
	rep.Figure("ticks_per_sec", late.count/window, "ticks/s")
	rep.Figure("late_p50", late.quantile(0.5)*1000, "ms")
	rep.Figure("late_p99", late.quantile(0.99)*1000, "ms")
	rep.Figure("eval_late_p50", evalLate.quantile(0.5)*1000, "ms")
	rep.Figure("eval_late_p99", evalLate.quantile(0.99)*1000, "ms")
	rep.Figure("skipped", skipped, "ticks")
	rep.Figure("activations", activations, "")
	rep.Figure("activations_per_sec", activations/window, "/s")
	if killed {
		rep.Figure("killed", 1, "")
	} else {
		rep.Figure("killed", 0, "")
	}

	// The sample: exact lateness of the window's ticks and continuity of each log.
	end := time.Now().UnixMilli()
	rng := rand.New(rand.NewSource(1))
	var lates []time.Duration
	var sampleTicks, sampleDue, dups, gaps int
	var mu sync.Mutex
	sample := min(cfg.Sample, cfg.Processes)
	perm := rng.Perm(cfg.Processes)[:sample]
	err = parallel(8, sample, func(i int) error {
		pid := pids[perm[i]]
		ticks, origin, every, err := sampleLog(ctx, c, pid)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		seen := map[uint64]bool{}
		var maxSeq uint64
		for _, t := range ticks {
			if seen[t.seq] {
				dups++
				continue
			}
			seen[t.seq] = true
			maxSeq = max(maxSeq, t.seq)
			if t.due >= wstart.UnixMilli() {
				lates = append(lates, time.Duration(t.ts-t.due)*time.Millisecond)
			}
		}
		sampleTicks += len(seen)
		for s := uint64(1); s <= maxSeq; s++ {
			if !seen[s] {
				gaps++
			}
		}
		if every > 0 {
			sampleDue += int((end/1000 - origin/1000) / every)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading sample logs: %w", err)
	}
	rep.AddLatency("sample_late_", NewLatency("sample tick lateness (assignment - due)", lates))
	rep.Figure("sample_ticks", float64(sampleTicks), "ticks")
	rep.Figure("sample_due", float64(sampleDue), "ticks")
	rep.Figure("sample_duplicates", float64(dups), "ticks")
	rep.Figure("sample_gaps", float64(gaps), "ticks")
	if due := float64(cfg.Processes) * window / cronSeconds(cfg.Interval); due > 0 {
		rep.Note("ticks in the window / due: %.2f (below 1: the node falls behind; the sampled logs hold %d of %d due)", late.count/due, sampleTicks, sampleDue)
	}
	if cfg.LazyEval {
		rep.Note("lazy evaluation: ticks are appended, not evaluated (eval_late is 0)")
	}
	return rep.Finish(), nil
}

// cronSeconds is the period of a "N-second(s)"/"N-minute(s)" Cron-Interval in seconds (0 when
// not one of those).
func cronSeconds(interval string) float64 {
	n, unit, ok := strings.Cut(interval, "-")
	v, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil {
		return 0
	}
	switch strings.TrimSuffix(unit, "s") {
	case "second":
		return v
	case "minute":
		return v * 60
	case "hour":
		return v * 3600
	}
	return 0
}

type sampleTick struct {
	seq     uint64
	due, ts int64
}

// sampleLog reads a process's log and returns its ticks, its timestamp and its interval (s).
func sampleLog(ctx context.Context, c *client.Client, pid ans104.ID) ([]sampleTick, int64, int64, error) {
	b, err := c.Raw(ctx, "/processes/"+pid.String())
	if err != nil {
		return nil, 0, 0, err
	}
	var p struct {
		Timestamp int64        `json:"timestamp"`
		Tags      []ans104.Tag `json:"tags"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, 0, 0, err
	}
	var every int64
	if v := ans104.Tags(p.Tags).Value("Cron-Interval"); strings.HasSuffix(v, "-second") || strings.HasSuffix(v, "-seconds") {
		every, _ = strconv.ParseInt(strings.SplitN(v, "-", 2)[0], 10, 64)
	}
	var out []sampleTick
	from := "-1"
	for {
		b, err := c.Raw(ctx, "/"+pid.String()+"?from-nonce="+from+"&limit=1000")
		if err != nil {
			return nil, 0, 0, err
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
					Assignment struct {
						Tags []ans104.Tag `json:"tags"`
					} `json:"assignment"`
				} `json:"node"`
			} `json:"edges"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, 0, 0, err
		}
		for _, e := range page.Edges {
			from = e.Cursor
			if e.Node.Message == nil {
				continue
			}
			mt := ans104.Tags(e.Node.Message.Tags)
			if mt.Value("Cron-Seq") == "" {
				continue
			}
			var t sampleTick
			t.seq, _ = strconv.ParseUint(mt.Value("Cron-Seq"), 10, 64)
			t.due, _ = strconv.ParseInt(mt.Value("Cron-Due"), 10, 64)
			t.ts, _ = strconv.ParseInt(ans104.Tags(e.Node.Assignment.Tags).Value("Timestamp"), 10, 64)
			out = append(out, t)
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return out, p.Timestamp, every, nil
		}
	}
}

// histogram is a Prometheus histogram as scraped: cumulative counts per upper bound.
type histogram struct {
	bounds []float64
	counts []float64
	count  float64
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts)), count: h.count - o.count}
	for i := range h.counts {
		out.counts[i] = h.counts[i]
		if i < len(o.counts) {
			out.counts[i] -= o.counts[i]
		}
	}
	return out
}

func (h histogram) plus(o histogram) histogram {
	out := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts)), count: h.count + o.count}
	for i := range h.counts {
		out.counts[i] = h.counts[i]
		if i < len(o.counts) {
			out.counts[i] += o.counts[i]
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket holding q.
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 {
		return 0
	}
	rank := q * h.count
	prevB, prevC := 0.0, 0.0
	for i, b := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(b, 1) {
				return prevB
			}
			if h.counts[i] == prevC {
				return b
			}
			return prevB + (b-prevB)*(rank-prevC)/(h.counts[i]-prevC)
		}
		prevB, prevC = b, h.counts[i]
	}
	return prevB
}

type cronScrape struct {
	late, evalLate histogram
	skipped        float64
	activations    float64
}

// scrapeCron reads the node's cron histograms from /metrics.
func scrapeCron(ctx context.Context, c *client.Client) (*cronScrape, error) {
	b, err := c.Raw(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	s := &cronScrape{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, x := range []struct {
			name string
			h    *histogram
		}{{"actorweave_cron_tick_lateness_seconds", &s.late}, {"actorweave_cron_tick_eval_lateness_seconds", &s.evalLate}} {
			if rest, ok := strings.CutPrefix(line, x.name+`_bucket{le="`); ok {
				le, v, _ := strings.Cut(rest, `"} `)
				bound, err1 := strconv.ParseFloat(le, 64)
				n, err2 := strconv.ParseFloat(v, 64)
				if err1 != nil || err2 != nil {
					return nil, errors.New("bad histogram line " + line)
				}
				x.h.bounds = append(x.h.bounds, bound)
				x.h.counts = append(x.h.counts, n)
			} else if v, ok := strings.CutPrefix(line, x.name+"_count "); ok {
				x.h.count, _ = strconv.ParseFloat(v, 64)
			}
		}
		if v, ok := strings.CutPrefix(line, "actorweave_cron_ticks_skipped_total "); ok {
			s.skipped, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "actorweave_activations_total "); ok {
			s.activations, _ = strconv.ParseFloat(v, 64)
		}
	}
	return s, sc.Err()
}
