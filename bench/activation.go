package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"runtime/debug"
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
	// NodeConfig adjusts the in-process node.
	NodeConfig func(*node.Config)
	Progress   io.Writer
}

// DefaultActivationConfig: 10,000 processes, 1 s idle timeout, 1,000 woken.
func DefaultActivationConfig() ActivationConfig {
	return ActivationConfig{Processes: 10_000, Clients: 32, Wake: 1000, IdleTimeout: time.Second, Format: "wasm32-unknown-emscripten2"}
}

// RunActivation runs the scenario against an in-process node (it needs the node's activation count).
// Figures: spawns_per_sec, passivate_seconds, rss_passive, heap_bytes_per_idle_process (growth of the
// Go heap in use, after a GC, from before the spawns, divided by K: what an idle process costs in
// memory; it can come out negative on a tiny K), rss_bytes_per_idle_process
// (resident set growth from before the spawns, divided by K), pebble_bytes_per_process, and the
// wake latencies (wake_ack_*, wake_result_*, ms).
func RunActivation(ctx context.Context, cfg ActivationConfig) (*Report, error) {
	rep := NewReport("activation")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("processes", cfg.Processes, "")
	rep.Param("clients", cfg.Clients, "")
	rep.Param("wake", cfg.Wake, "")
	rep.Param("idle_timeout", cfg.IdleTimeout.String(), "")
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Wake < 0 {
		return nil, fmt.Errorf("bench: processes and clients must be positive, wake not negative")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tg, err := startTarget(ctx, "", "actorweave-bench-activation-", func(c *node.Config) {
		c.Actors.IdleTimeout = cfg.IdleTimeout
		if cfg.NodeConfig != nil {
			cfg.NodeConfig(c)
		}
	})
	if err != nil {
		return nil, err
	}
	defer tg.close()
	n := tg.node
	runtime.GC()
	debug.FreeOSMemory()
	rssBaseline := rss()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rep.Figure("rss_baseline", float64(rssBaseline), "bytes")
	rep.Figure("heap_baseline", float64(ms0.HeapInuse), "bytes")
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(tg.url, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return nil, err
	}
	pids := make([]ans104.ID, cfg.Processes)
	bar := StartProgress(progress, rep, "spawned", "processes", cfg.Processes)
	start := time.Now()
	err = parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		pids[i] = pid
		bar.Add(1)
		return err
	})
	bar.Stop()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	spawnSec := time.Since(start).Seconds()
	rep.Figure("spawn_seconds", spawnSec, "s")
	rep.Figure("spawns_per_sec", float64(cfg.Processes)/spawnSec, "processes/s")
	rep.Figure("peak_rss_spawning", float64(peakRSS()), "bytes")
	fmt.Fprintf(progress, "waiting for %d activations to passivate\n", n.ActiveProcesses())
	pstart := time.Now()
	for n.ActiveProcesses() > 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	rep.Figure("passivate_seconds", time.Since(pstart).Seconds(), "s")
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rssPassive := rss()
	rep.Figure("rss_passive", float64(rssPassive), "bytes")
	rep.Figure("heap_passive", float64(ms.HeapInuse), "bytes")
	rep.Figure("heap_bytes_per_idle_process", (float64(ms.HeapInuse)-float64(ms0.HeapInuse))/float64(cfg.Processes), "bytes")
	rep.Figure("rss_bytes_per_idle_process", (float64(rssPassive)-float64(rssBaseline))/float64(cfg.Processes), "bytes")
	pebble := dirSize(filepath.Join(n.DataDir(), "pebble"))
	rep.Figure("pebble_bytes_per_process", float64(pebble)/float64(cfg.Processes), "bytes")

	wake := min(cfg.Wake, cfg.Processes)
	ackLat := make([]time.Duration, wake)
	resLat := make([]time.Duration, wake)
	wbar := StartProgress(progress, rep, "woken", "processes", wake)
	err = parallel(cfg.Clients, wake, func(i int) error {
		pid := pids[i*cfg.Processes/wake]
		t0 := time.Now()
		id, err := c.Send(ctx, pid, []byte(programFor(cfg.Module).Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return err
		}
		ackLat[i] = time.Since(t0)
		if _, err := c.Result(ctx, pid, id); err != nil {
			return err
		}
		resLat[i] = time.Since(t0)
		wbar.Add(1)
		return nil
	})
	wbar.Stop()
	if err != nil {
		return nil, fmt.Errorf("wake: %w", err)
	}
	rep.Figure("woken", float64(wake), "processes")
	rep.AddLatency("wake_ack_", NewLatency("wake ack", ackLat))
	rep.AddLatency("wake_result_", NewLatency("wake result", resLat))
	return rep.Finish(), nil
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
