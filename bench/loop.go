package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// LoopConfig is the `loop` scenario: Ordinary processes answer a steady stream of Evals while,
// in the middle phase, one more process messages itself in a loop (held to --max-send-rate).
type LoopConfig struct {
	Ordinary int
	Rate     float64       // Evals per second offered to the ordinary processes (open loop)
	Phase    time.Duration // length of each phase: before, with the loop, after
	SendRate float64       // the node's MaxSendRate (per-process push quota)
	Module   []byte
	Format   string
	// NodeConfig, when set, adjusts the in-process node's configuration (flags of the verb).
	NodeConfig func(*node.Config)
	Progress   io.Writer
}

// DefaultLoopConfig: 100 ordinary processes, 50 Evals/s, 20 s phases, the node's default quota.
func DefaultLoopConfig() LoopConfig {
	return LoopConfig{Ordinary: 100, Rate: 50, Phase: 20 * time.Second, SendRate: 100, Format: "wasm32-unknown-emscripten2"}
}

// RunLoop runs the scenario against an in-process node. Per phase (prefix before_, with_loop_,
// after_): the ordinary processes' send-to-result latency p50/p90/p99/max (ms, from the scheduled
// send: open loop), requests, errors, loop_msgs_per_sec (the looping process's log growth),
// cpu_cores; and with_loop_p50_ratio, with_loop_p99_ratio (with the loop ÷ before).
func RunLoop(ctx context.Context, cfg LoopConfig) (*Report, error) {
	rep := NewReport("loop")
	prog := programFor(cfg.Module)
	rep.Param("program", prog.Name(), "")
	rep.Param("ordinary", cfg.Ordinary, "processes")
	rep.Param("rate", cfg.Rate, "Evals/s")
	rep.Param("phase", cfg.Phase.String(), "")
	rep.Param("max_send_rate", cfg.SendRate, "pushes/s")
	if cfg.Ordinary <= 0 || cfg.Rate <= 0 || cfg.Phase <= 0 {
		return nil, errors.New("bench: ordinary, rate and phase must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "actorweave-bench-loop-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ncfg := node.DefaultConfig()
	ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
	ncfg.Actors.MaxSendRate = cfg.SendRate
	if cfg.NodeConfig != nil {
		cfg.NodeConfig(&ncfg)
	}
	n, err := node.Start(ctx, ncfg)
	if err != nil {
		return nil, err
	}
	defer n.Close(context.Background())
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return nil, err
	}
	pids := make([]ans104.ID, cfg.Ordinary)
	if err := parallel(16, cfg.Ordinary, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		pids[i] = pid
		return err
	}); err != nil {
		return nil, err
	}
	loop, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		return nil, err
	}
	eval := []ans104.Tag{{Name: "Action", Value: "Eval"}}
	// Warm every ordinary process (activation, instance) so that the phases compare like with like.
	if err := parallel(16, cfg.Ordinary, func(i int) error {
		id, err := c.Send(ctx, pids[i], []byte(prog.Noop()), eval)
		if err == nil {
			_, err = c.Result(ctx, pids[i], id)
		}
		return err
	}); err != nil {
		return nil, err
	}
	phase := func(name, prefix string) *Latency {
		fmt.Fprintf(progress, "phase %q: %v at %.0f Evals/s\n", name, cfg.Phase, cfg.Rate)
		n0, cpu0, t0 := latestNonce(ctx, c, loop), cpuSeconds(), time.Now()
		var mu sync.Mutex
		var lat []time.Duration
		var errs int
		var firstErr string
		var wg sync.WaitGroup
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		every := time.Duration(float64(time.Second) / cfg.Rate)
		bar := StartProgress(progress, rep, "answered ("+name+")", "Evals", int(cfg.Phase.Seconds()*cfg.Rate))
		for at := t0; at.Before(t0.Add(cfg.Phase)); at = at.Add(every) {
			time.Sleep(time.Until(at))
			pid := pids[rng.Intn(len(pids))]
			wg.Add(1)
			go func(sched time.Time) {
				defer wg.Done()
				id, err := c.Send(ctx, pid, []byte(prog.Noop()), eval)
				if err == nil {
					_, err = c.Result(ctx, pid, id)
				}
				d := time.Since(sched)
				bar.Add(1)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					return
				}
				lat = append(lat, d)
			}(at)
		}
		wg.Wait()
		bar.Stop()
		el := time.Since(t0).Seconds()
		l := NewLatency("ordinary Eval send->result, "+name, lat)
		rep.AddLatency(prefix, l)
		rep.Figure(prefix+"requests", float64(len(lat)+errs), "")
		rep.Figure(prefix+"errors", float64(errs), "")
		rep.Figure(prefix+"loop_msgs_per_sec", float64(latestNonce(ctx, c, loop)-n0)/el, "msgs/s")
		rep.Figure(prefix+"cpu_cores", (cpuSeconds()-cpu0)/el, "cores")
		rep.Figure(prefix+"load_avg", loadAvg(), "")
		if firstErr != "" {
			rep.Note("first error (%s): %s", name, firstErr)
		}
		return l
	}
	before := phase("before", "before_")
	if _, err := c.Send(ctx, loop, []byte(prog.LoopStart()), eval); err != nil {
		return nil, err
	}
	with := phase("with loop", "with_loop_")
	id, err := c.Send(ctx, loop, []byte(prog.LoopStop()), eval)
	if err != nil {
		return nil, err
	}
	if _, err := c.Result(ctx, loop, id); err != nil {
		return nil, err
	}
	phase("after", "after_")
	if before.P50 > 0 {
		rep.Figure("with_loop_p50_ratio", with.P50/before.P50, "")
		rep.Figure("with_loop_p99_ratio", with.P99/max(before.P99, 1e-9), "")
		rep.Note("ordinary latency with the loop / before (same run): p50 %.2fx, p99 %.2fx", with.P50/before.P50, with.P99/max(before.P99, 1e-9))
	}
	rep.Note("the loop's log grew by %.0f msgs/s; --max-send-rate %.0f/s is a token bucket holding one second's worth, so a phase of T seconds can show up to (1 + 1/T) times the quota",
		rep.Figures.Float("with_loop_loop_msgs_per_sec"), cfg.SendRate)
	return rep.Finish(), nil
}

// latestNonce is the nonce of pid's last log entry.
func latestNonce(ctx context.Context, c *client.Client, pid ans104.ID) int64 {
	b, err := c.Raw(ctx, "/"+pid.String()+"/latest")
	if err != nil {
		return 0
	}
	var e struct {
		Assignment struct {
			Tags []ans104.Tag `json:"tags"`
		} `json:"assignment"`
	}
	if json.Unmarshal(b, &e) != nil {
		return 0
	}
	n, _ := strconv.ParseInt(ans104.Tags(e.Assignment.Tags).Value("Nonce"), 10, 64)
	return n
}
