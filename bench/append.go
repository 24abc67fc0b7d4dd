package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/persistence"
)

// AppendConfig describes one `bench append` run: every combination of Fsync × Commit × Writers is
// measured on a fresh store.
type AppendConfig struct {
	Writers   []int         // concurrent writers; each owns a disjoint share of the processes
	Processes int           // processes registered per run
	Duration  time.Duration // measured time per combination
	Dir       string        // parent directory for the stores; "" means a temporary directory
	Fsync     []bool        // true = durable appends; false = the no-fsync baseline
	Commit    []persistence.CommitMode
	// Entry sizes: an ed25519-signed assignment item is ~500-700 bytes, a message item ~1 KiB.
	AssignmentBytes int
	MessageBytes    int
	Logger          *slog.Logger
	// Rate, when > 0, makes the run open-loop: the writers together offer Rate appends/s, each on a
	// fixed schedule, and latency is measured from the scheduled time (so a stall counts against every
	// append it delays: no coordinated omission). 0 is closed-loop: each writer appends again as soon
	// as its previous append returns, which measures the maximum throughput; its mean latency is then
	// writers / throughput by Little's law.
	Rate float64
	// Store tweaks the store's options (cache, memtable...) before each run; nil keeps the defaults.
	Store func(*persistence.Options)
}

// DefaultAppendConfig is the configuration the issue asks for.
func DefaultAppendConfig() AppendConfig {
	return AppendConfig{
		Writers:         []int{1, 16, 256},
		Processes:       1000,
		Duration:        10 * time.Second,
		Fsync:           []bool{true, false},
		Commit:          []persistence.CommitMode{persistence.CommitPipeline},
		AssignmentBytes: 600,
		MessageBytes:    1024,
	}
}

// AppendResult is one measured combination.
type AppendResult struct {
	Writers       int     `json:"writers"`
	OfferedRate   float64 `json:"offered_rate,omitempty"` // open-loop target appends/s; 0 = closed loop
	Processes     int     `json:"processes"`
	Fsync         bool    `json:"fsync"`
	Commit        string  `json:"commit"`
	Appends       int64   `json:"appends"`
	Errors        int64   `json:"errors"`
	Seconds       float64 `json:"seconds"`
	AppendsPerSec float64 `json:"appends_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// WALSyncs is the number of WAL fsyncs during the run; AppendsPerSync shows the group commit.
	WALSyncs       int64   `json:"wal_syncs"`
	AppendsPerSync float64 `json:"appends_per_sync"`
	// Memory, sampled every 100 ms: peak Go heap in use and peak resident set of the process.
	PeakHeapBytes uint64 `json:"peak_heap_bytes"`
	PeakRSSBytes  uint64 `json:"peak_rss_bytes"`
	FirstError    string `json:"first_error,omitempty"`
	// Pebble write stalls during the run (flushes/compactions lagging): the usual source of the tail.
	WriteStalls    int64   `json:"write_stalls"`
	WriteStallsSec float64 `json:"write_stalls_sec"`
	// LoadAvg is /proc/loadavg's 1-minute load at the end of the run: this benchmark shares the
	// machine, and a load above the CPU count means the numbers understate the store.
	LoadAvg float64 `json:"load_avg_1m"`
	// CPUPerAppendUs is this process's CPU time (user+system, including Pebble's background flushes
	// and compactions and the benchmark's own entry building) per successful append, in µs: unlike
	// throughput it barely depends on what else runs on the machine.
	CPUPerAppendUs float64 `json:"cpu_per_append_us"`
}

// AppendReport is the whole run, written as JSON by `actorweave bench append --out`.
type AppendReport struct {
	Started         time.Time      `json:"started"`
	GoVersion       string         `json:"go_version"`
	NumCPU          int            `json:"num_cpu"`
	GOMAXPROCS      int            `json:"gomaxprocs"`
	DurationPerRun  string         `json:"duration_per_run"`
	AssignmentBytes int            `json:"assignment_bytes"`
	MessageBytes    int            `json:"message_bytes"`
	Machine         Machine        `json:"machine"`
	Results         []AppendResult `json:"results"`
}

// RunAppend measures durable append throughput and latency. It returns an error only when the
// benchmark could not run; append failures are counted in the results.
func RunAppend(ctx context.Context, cfg AppendConfig) (AppendReport, error) {
	d := DefaultAppendConfig()
	if cfg.Processes <= 0 {
		cfg.Processes = d.Processes
	}
	if cfg.Duration <= 0 {
		cfg.Duration = d.Duration
	}
	if len(cfg.Writers) == 0 {
		cfg.Writers = d.Writers
	}
	if len(cfg.Fsync) == 0 {
		cfg.Fsync = d.Fsync
	}
	if len(cfg.Commit) == 0 {
		cfg.Commit = d.Commit
	}
	if cfg.AssignmentBytes <= 0 {
		cfg.AssignmentBytes = d.AssignmentBytes
	}
	if cfg.MessageBytes <= 0 {
		cfg.MessageBytes = d.MessageBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, w := range cfg.Writers {
		if w <= 0 || w > cfg.Processes {
			return AppendReport{}, fmt.Errorf("bench: %d writers for %d processes: each process has one writer (docs/design.md invariant 2), so writers must be 1..processes", w, cfg.Processes)
		}
	}
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "actorweave-bench-")
		if err != nil {
			return AppendReport{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	rep := AppendReport{
		Started: time.Now().UTC(), GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), DurationPerRun: cfg.Duration.String(),
		AssignmentBytes: cfg.AssignmentBytes, MessageBytes: cfg.MessageBytes, Machine: ThisMachine(),
	}
	for _, fsync := range cfg.Fsync {
		for _, mode := range cfg.Commit {
			for _, w := range cfg.Writers {
				if err := ctx.Err(); err != nil {
					return rep, err
				}
				runDir := filepath.Join(dir, fmt.Sprintf("fsync-%t-%s-w%d", fsync, mode, w))
				r, err := runAppendOnce(ctx, cfg, runDir, fsync, mode, w)
				os.RemoveAll(runDir)
				if err != nil {
					return rep, err
				}
				cfg.Logger.Info("bench append", "fsync", fsync, "commit", mode.String(), "writers", w,
					"appends_per_sec", int(r.AppendsPerSec), "p50_ms", r.P50Ms, "p99_ms", r.P99Ms)
				rep.Results = append(rep.Results, r)
			}
		}
	}
	return rep, nil
}

// procState is the scheduler state a writer keeps for each process it owns.
type procState struct {
	pid   persistence.ID
	nonce uint64
	hc    persistence.ID
	asg   persistence.ID
}

func runAppendOnce(ctx context.Context, cfg AppendConfig, dir string, fsync bool, mode persistence.CommitMode, writers int) (AppendResult, error) {
	fs := persistence.NewSyncCountingFS(nil)
	o := persistence.DefaultOptions()
	if cfg.Store != nil {
		cfg.Store(&o)
	}
	o.NoSync, o.Commit, o.FS, o.Logger = !fsync, mode, fs, cfg.Logger
	st, err := persistence.Open(dir, o)
	if err != nil {
		return AppendResult{}, err
	}
	defer st.Close()
	procs, err := registerProcesses(ctx, st, cfg.Processes)
	if err != nil {
		return AppendResult{}, err
	}

	res := AppendResult{Writers: writers, Processes: cfg.Processes, Fsync: fsync, Commit: mode.String(), OfferedRate: cfg.Rate}
	var interval time.Duration // per writer, open loop only
	if cfg.Rate > 0 {
		interval = time.Duration(float64(writers) / cfg.Rate * float64(time.Second))
	}
	runtime.GC()
	sampler := startMemSampler()
	var errCount atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, writers)
	syncsBefore, stallsBefore, cpuBefore := fs.WALSyncs(), st.Stats(), cpuSeconds()
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var mine []*procState
			for i := w; i < len(procs); i += writers {
				mine = append(mine, procs[i])
			}
			asg := make([]byte, cfg.AssignmentBytes)
			msg := make([]byte, cfg.MessageBytes)
			_, _ = rand.Read(asg)
			_, _ = rand.Read(msg)
			l := make([]time.Duration, 0, 1<<14)
			// Open loop: writer w's k-th append is due at start + phase + k*interval.
			phase := time.Duration(int64(interval) * int64(w) / int64(writers))
			for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				p := mine[i%len(mine)]
				e := nextEntry(p, asg, msg)
				t0 := time.Now()
				if interval > 0 {
					due := start.Add(phase + time.Duration(i)*interval)
					if !due.Before(deadline) {
						break
					}
					time.Sleep(time.Until(due))
					t0 = due
				}
				err := st.Append(ctx, e)
				l = append(l, time.Since(t0))
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				p.nonce, p.hc, p.asg = e.Nonce+1, e.HashChain, e.AssignmentID
			}
			lats[w] = l
		}(w)
	}
	wg.Wait()
	elapsed, cpuUsed := time.Since(start), cpuSeconds()-cpuBefore
	res.PeakHeapBytes, res.PeakRSSBytes = sampler.stop()
	res.WALSyncs = fs.WALSyncs() - syncsBefore
	res.LoadAvg = loadAvg()
	stalls := st.Stats()
	res.WriteStalls = stalls.WriteStalls - stallsBefore.WriteStalls
	res.WriteStallsSec = (stalls.WriteStallDuration - stallsBefore.WriteStallDuration).Seconds()

	all := slices.Concat(lats...)
	slices.Sort(all)
	res.Errors = errCount.Load()
	if v := firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	}
	res.Appends = int64(len(all)) - res.Errors
	if res.Appends > 0 {
		res.CPUPerAppendUs = cpuUsed / float64(res.Appends) * 1e6
	}
	res.Seconds = elapsed.Seconds()
	res.AppendsPerSec = float64(res.Appends) / elapsed.Seconds()
	res.P50Ms, res.P99Ms, res.MaxMs = pct(all, 0.50), pct(all, 0.99), pct(all, 1)
	if res.WALSyncs > 0 {
		res.AppendsPerSync = float64(res.Appends) / float64(res.WALSyncs)
	}
	return res, nil
}

// nextEntry builds p's next entry. The assignment and message buffers are stamped with the process
// and nonce so every id is distinct; the store copies the bytes, so the buffers are reused.
func nextEntry(p *procState, asg, msg []byte) persistence.Entry {
	stamp := func(b []byte) {
		copy(b, p.pid[:16])
		binary.BigEndian.PutUint64(b[16:], p.nonce)
	}
	stamp(asg)
	stamp(msg)
	msg[24] ^= 0xff // a message never hashes like its assignment
	e := persistence.Entry{
		Process:      p.pid,
		Nonce:        p.nonce,
		Timestamp:    time.Now().UnixMilli(),
		BlockHeight:  1_500_000,
		AssignmentID: sha256.Sum256(asg),
		Assignment:   asg,
		MessageID:    sha256.Sum256(msg),
		Message:      msg,
	}
	if p.nonce == 0 {
		e.HashChain = persistence.FirstHashChain(p.pid)
	} else {
		e.HashChain = persistence.NextHashChain(p.asg, p.hc)
	}
	return e
}

func registerProcesses(ctx context.Context, st *persistence.Store, n int) ([]*procState, error) {
	procs := make([]*procState, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range procs {
		p := persistence.Process{Item: make([]byte, 900), Owner: make([]byte, 32),
			Tags: []persistence.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"}}}
		_, _ = rand.Read(p.ID[:])
		_, _ = rand.Read(p.Item)
		procs[i] = &procState{pid: p.ID}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := st.PutProcess(ctx, p); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("bench: register processes: %w", err)
	}
	return procs, nil
}

func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// memSampler records the peak Go heap and resident set size while a run is in progress.
type memSampler struct {
	stopc    chan struct{}
	done     chan struct{}
	heap, rs uint64
}

func startMemSampler() *memSampler {
	m := &memSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = max(m.heap, ms.HeapInuse)
	m.rs = max(m.rs, rss())
}

func (m *memSampler) stop() (heap, rss uint64) {
	close(m.stopc)
	<-m.done
	m.sample()
	return m.heap, m.rs
}

// rss reads VmRSS from /proc (Linux); 0 elsewhere.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
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

// loadAvg reads the 1-minute load average (Linux); 0 elsewhere.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
