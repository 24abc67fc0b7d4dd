package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "cron", NewCmd: newBenchCronCmd,
		Smoke: []string{"--processes", "4", "--clients", "4", "--duration", "2s", "--sample", "4"},
		Keys:  []string{"ticks", "ticks_per_sec", "late_p50", "late_p99", "sample_ticks", "cpu_cores"},
		// The sampled logs hold every tick once (no duplicate, no gap), and each sampled process
		// ticked at least once.
		Check: func(r *bench.Report) error {
			if _, ok := r.Figures.Get("sample_duplicates"); !ok {
				return fmt.Errorf("no sample_duplicates figure")
			}
			if d, g := r.Figures.Float("sample_duplicates"), r.Figures.Float("sample_gaps"); d != 0 || g != 0 {
				return fmt.Errorf("sampled logs: %v duplicated ticks, %v gaps", d, g)
			}
			if st, n := r.Figures.Float("sample_ticks"), r.Params.Float("sample"); st < n {
				return fmt.Errorf("%v ticks in the logs of %v sampled processes", st, n)
			}
			return nil
		}})
	registerBenchScenario(benchScenario{Name: "loop", Lua: true, NewCmd: newBenchLoopCmd,
		Smoke: []string{"--ordinary", "3", "--rate", "5", "--phase", "1s", "--max-send-rate", "10", "--node-request-timeout", "2m"},
		Keys: []string{"before_requests", "before_p50", "before_p99", "with_loop_p50", "with_loop_p99",
			"with_loop_loop_msgs_per_sec", "after_p50", "with_loop_p50_ratio"},
		// The looping process is held to --max-send-rate (10/s here; its log also takes the
		// Evals that start and stop it).
		Check: func(r *bench.Report) error {
			if v := r.Figures.Float("with_loop_loop_msgs_per_sec"); v > 3*r.Params.Float("max_send_rate") {
				return fmt.Errorf("the loop ran at %.0f msgs/s, above its send quota", v)
			}
			return nil
		}})
}

func newBenchCronCmd() *cobra.Command {
	cfg := bench.DefaultCronConfig()
	var module string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "cron",
		Short: "N processes with a time cron each on one node: tick lateness, CPU and memory; optionally kill -9 and restart part-way",
		Long: `Spawns --processes processes declaring Cron-Interval --interval and lets them tick for --duration.
Lateness is a tick's assignment timestamp (and, with eager evaluation, the end of its evaluation)
minus its due time, over every tick (the node's histograms) and exactly over the logs of --sample
processes, which are also checked for duplicated and missing ticks. With --kill-after the node runs
as a child process (this binary's node verb), is killed with SIGKILL that far into the window and
restarted after --down with --cron-catch-up.`,
		Args: cobra.NoArgs,
		Example: `  actorweave bench cron --processes 10000 --interval 1-second --duration 60s
  actorweave bench cron --processes 10000 --duration 60s --kill-after 25s --down 5s`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunCron(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes, each with one cron")
	f.StringVar(&cfg.Interval, "interval", cfg.Interval, "their Cron-Interval")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured window after all are spawned")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent spawns")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", cfg.LazyEval, "the node evaluates only on demand (ticks are appended, not evaluated); false evaluates every tick")
	f.IntVar(&cfg.MaxActive, "max-active", 0, "the node's --max-active (0: its default); with --lazy-eval a live process holds no module instance")
	f.IntVar(&cfg.Sample, "sample", cfg.Sample, "processes whose logs are read back (exact lateness, duplicates, gaps)")
	f.DurationVar(&cfg.KillAfter, "kill-after", 0, "run the node as a child process and kill -9 it this far into the window (0: no kill, in-process node)")
	f.DurationVar(&cfg.Down, "down", cfg.Down, "how long the killed node stays down")
	f.StringVar(&cfg.CatchUp, "cron-catch-up", cfg.CatchUp, "the child node's --cron-catch-up")
	rf.bind(f)
	return cmd
}

func newBenchLoopCmd() *cobra.Command {
	cfg := bench.DefaultLoopConfig()
	var module string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "loop",
		Short: "Ordinary processes' Eval latency before, during and after a self-messaging loop next to them (same run)",
		Long: `Starts a node in-process with --max-send-rate, spawns --ordinary processes and warms them, then
offers --rate Evals/s (open loop, latency from the scheduled send to the result) to random ones in
three phases of --phase each: before, while one more process messages itself in a loop (held to
the send quota), and after the loop is stopped. Reports each phase's latency and the loop's rate,
and the with-loop/before latency ratios.`,
		Args:    cobra.NoArgs,
		Example: `  actorweave bench loop --ordinary 100 --rate 50 --phase 20s`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunLoop(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntVar(&cfg.Ordinary, "ordinary", cfg.Ordinary, "ordinary processes")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "Evals per second offered to them")
	f.DurationVar(&cfg.Phase, "phase", cfg.Phase, "length of each phase (before, with the loop, after)")
	f.Float64Var(&cfg.SendRate, "max-send-rate", cfg.SendRate, "the node's per-process push quota")
	cfg.NodeConfig = bindNodeFlags(f)
	rf.bind(f)
	return cmd
}
