package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// ActivationConfig is the `activation` scenario: spawn K processes, let them passivate, wake them.
type ActivationConfig struct {
	Processes   int
	Clients     int
	Wake        int // processes woken afterwards (a sample of the K)
	IdleTimeout time.Duration
	Module      []byte
	Format      string
	Progress    io.Writer
}

// DefaultActivationConfig: 10,000 processes, 1 s idle timeout, 1,000 woken.
func DefaultActivationConfig() ActivationConfig {
	return ActivationConfig{Processes: 10_000, Clients: 32, Wake: 1000, IdleTimeout: time.Second, Format: "wasm32-unknown-emscripten2"}
}

// ActivationReport holds the figures.
type ActivationReport struct {
	Processes        int     `json:"processes"`
	SpawnSeconds     float64 `json:"spawn_seconds"`
	SpawnsPerSec     float64 `json:"spawns_per_sec"`
	PassivateSeconds float64 `json:"passivate_seconds"`
	RSSPassive       uint64  `json:"rss_passive"`
	HeapPassive      uint64  `json:"heap_passive"`
	BytesPerIdle     float64 `json:"heap_bytes_per_idle_process"`
	PebbleBytes      int64   `json:"pebble_bytes"`
	PebblePerProcess float64 `json:"pebble_bytes_per_process"`
	Woken            int     `json:"woken"`
	WakeAckP50ms     float64 `json:"wake_ack_p50"`
	WakeAckP99ms     float64 `json:"wake_ack_p99"`
	WakeResultP50ms  float64 `json:"wake_result_p50"`
	WakeResultP99ms  float64 `json:"wake_result_p99"`
	RSSBaseline      uint64  `json:"rss_baseline"`
	PeakRSS          uint64  `json:"peak_rss"`
}

// RunActivation runs the scenario against an in-process node (it needs the node's activation count).
func RunActivation(ctx context.Context, cfg ActivationConfig) (ActivationReport, error) {
	rep := ActivationReport{Processes: cfg.Processes}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "actorweave-bench-activation-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	ncfg := node.DefaultConfig()
	ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
	ncfg.Actors.IdleTimeout = cfg.IdleTimeout
	n, err := node.Start(ctx, ncfg)
	if err != nil {
		return rep, err
	}
	defer n.Close(context.Background())
	runtime.GC()
	rep.RSSBaseline = rss()
	mem := startMemSampler()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return rep, err
	}
	pids := make([]ans104.ID, cfg.Processes)
	var done atomic.Int64
	stopBar := startBar(progress, "spawned", cfg.Processes, &done)
	start := time.Now()
	err = parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		pids[i] = pid
		done.Add(1)
		return err
	})
	stopBar()
	if err != nil {
		return rep, fmt.Errorf("spawn: %w", err)
	}
	rep.SpawnSeconds = time.Since(start).Seconds()
	rep.SpawnsPerSec = float64(cfg.Processes) / rep.SpawnSeconds
	fmt.Fprintf(progress, "waiting for %d activations to passivate\n", n.ActiveProcesses())
	pstart := time.Now()
	for n.ActiveProcesses() > 0 {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.PassivateSeconds = time.Since(pstart).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapPassive, rep.RSSPassive = ms.HeapInuse, rss()
	rep.BytesPerIdle = float64(int64(ms.HeapInuse)) / float64(cfg.Processes)
	rep.PebbleBytes = dirSize(filepath.Join(dir, "pebble"))
	rep.PebblePerProcess = float64(rep.PebbleBytes) / float64(cfg.Processes)

	wake := min(cfg.Wake, cfg.Processes)
	ackLat := make([]time.Duration, wake)
	resLat := make([]time.Duration, wake)
	fmt.Fprintf(progress, "waking %d processes\n", wake)
	err = parallel(cfg.Clients, wake, func(i int) error {
		pid := pids[i*cfg.Processes/wake]
		t0 := time.Now()
		id, err := c.Send(ctx, pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return err
		}
		ackLat[i] = time.Since(t0)
		if _, err := c.Result(ctx, pid, id); err != nil {
			return err
		}
		resLat[i] = time.Since(t0)
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("wake: %w", err)
	}
	sort.Slice(ackLat, func(i, j int) bool { return ackLat[i] < ackLat[j] })
	sort.Slice(resLat, func(i, j int) bool { return resLat[i] < resLat[j] })
	rep.Woken = wake
	rep.WakeAckP50ms, rep.WakeAckP99ms = pct(ackLat, 0.5), pct(ackLat, 0.99)
	rep.WakeResultP50ms, rep.WakeResultP99ms = pct(resLat, 0.5), pct(resLat, 0.99)
	_, rep.PeakRSS = mem.stop()
	return rep, nil
}

func dirSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}
