package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"sort"
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
	Progress io.Writer
}

// DefaultLoopConfig: 100 ordinary processes, 50 Evals/s, 20 s phases, the node's default quota.
func DefaultLoopConfig() LoopConfig {
	return LoopConfig{Ordinary: 100, Rate: 50, Phase: 20 * time.Second, SendRate: 100, Format: "wasm32-unknown-emscripten2"}
}

// LoopPhase is one phase's figures: the ordinary processes' send-to-result latency.
type LoopPhase struct {
	Name        string  `json:"name"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
	LoopPerSec  float64 `json:"loop_messages_per_sec"`
	CPUCores    float64 `json:"cpu_cores"`
	FirstError  string  `json:"first_error,omitempty"`
	LoadAverage float64 `json:"load_avg"`
}

// LoopReport holds the three phases.
type LoopReport struct {
	Ordinary int         `json:"ordinary"`
	Rate     float64     `json:"rate"`
	SendRate float64     `json:"send_rate"`
	Phases   []LoopPhase `json:"phases"`
}

// RunLoop runs the scenario against an in-process node.
func RunLoop(ctx context.Context, cfg LoopConfig) (LoopReport, error) {
	rep := LoopReport{Ordinary: cfg.Ordinary, Rate: cfg.Rate, SendRate: cfg.SendRate}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "actorweave-bench-loop-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	ncfg := node.DefaultConfig()
	ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
	ncfg.Actors.MaxSendRate = cfg.SendRate
	n, err := node.Start(ctx, ncfg)
	if err != nil {
		return rep, err
	}
	defer n.Close(context.Background())
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return rep, err
	}
	pids := make([]ans104.ID, cfg.Ordinary)
	if err := parallel(16, cfg.Ordinary, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		pids[i] = pid
		return err
	}); err != nil {
		return rep, err
	}
	loop, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		return rep, err
	}
	eval := []ans104.Tag{{Name: "Action", Value: "Eval"}}
	// Warm every ordinary process (activation, instance) so that the phases compare like with like.
	if err := parallel(16, cfg.Ordinary, func(i int) error {
		id, err := c.Send(ctx, pids[i], []byte("return 0"), eval)
		if err == nil {
			_, err = c.Result(ctx, pids[i], id)
		}
		return err
	}); err != nil {
		return rep, err
	}
	phase := func(name string) LoopPhase {
		fmt.Fprintf(progress, "phase %q: %v at %.0f Evals/s\n", name, cfg.Phase, cfg.Rate)
		ph := LoopPhase{Name: name}
		n0, cpu0, t0 := latestNonce(ctx, c, loop), cpuSeconds(), time.Now()
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		every := time.Duration(float64(time.Second) / cfg.Rate)
		for at := t0; at.Before(t0.Add(cfg.Phase)); at = at.Add(every) {
			time.Sleep(time.Until(at))
			pid := pids[rng.Intn(len(pids))]
			wg.Add(1)
			go func(sched time.Time) {
				defer wg.Done()
				id, err := c.Send(ctx, pid, []byte("return 1"), eval)
				if err == nil {
					_, err = c.Result(ctx, pid, id)
				}
				d := time.Since(sched)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ph.Errors++
					if ph.FirstError == "" {
						ph.FirstError = err.Error()
					}
					return
				}
				lat = append(lat, d)
			}(at)
		}
		wg.Wait()
		el := time.Since(t0).Seconds()
		ph.LoopPerSec = float64(latestNonce(ctx, c, loop)-n0) / el
		ph.CPUCores = (cpuSeconds() - cpu0) / el
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ph.Requests = len(lat) + ph.Errors
		ph.P50ms, ph.P99ms = pct(lat, 0.5), pct(lat, 0.99)
		if len(lat) > 0 {
			ph.Maxms = float64(lat[len(lat)-1].Microseconds()) / 1000
		}
		ph.LoadAverage = loadAvg()
		return ph
	}
	rep.Phases = append(rep.Phases, phase("before"))
	start := `Handlers.Loop = function(msg) ao.send({Target = ao.id, Action = 'Loop'}) end
ao.send({Target = ao.id, Action = 'Loop'}); return 'looping'`
	if _, err := c.Send(ctx, loop, []byte(start), eval); err != nil {
		return rep, err
	}
	rep.Phases = append(rep.Phases, phase("with loop"))
	id, err := c.Send(ctx, loop, []byte("Handlers.Loop = nil; return 'stopped'"), eval)
	if err != nil {
		return rep, err
	}
	if _, err := c.Result(ctx, loop, id); err != nil {
		return rep, err
	}
	rep.Phases = append(rep.Phases, phase("after"))
	return rep, nil
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
