package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func newBenchCronCmd() *cobra.Command {
	cfg := bench.DefaultCronConfig()
	var module, out string
	cmd := &cobra.Command{
		Use:   "cron",
		Short: "N processes with a time cron each on one node: tick lateness, CPU and memory; optionally kill -9 and restart part-way",
		Long: `Spawns --processes processes declaring Cron-Interval --interval and lets them tick for --duration.
Lateness is a tick's assignment timestamp (and, with eager evaluation, the end of its evaluation)
minus its due time, over every tick (the node's histograms) and exactly over the logs of --sample
processes, which are also checked for duplicated and missing ticks. With --kill-after the node runs
as a child process (this binary's node verb), is killed with SIGKILL that far into the window and
restarted after --down with --cron-catch-up.`,
		Example: `  actorweave bench cron --processes 10000 --interval 1-second --duration 60s
  actorweave bench cron --processes 10000 --duration 60s --kill-after 25s --down 5s`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, c.ErrOrStderr()
			rep, err := bench.RunCron(c.Context(), cfg)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "cron: %d processes, Cron-Interval %s, lazy evaluation %t, max-active %d, %.0f s window, killed %t, %.0f activations/s, load %.1f\n",
				rep.Processes, rep.Interval, rep.LazyEval, rep.MaxActive, rep.WindowSeconds, rep.Killed, rep.Activations/rep.WindowSeconds, rep.LoadAvg)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "ticks/s\tlate p50/p99 ms\teval late p50/p99 ms\tsample late p50/p99/max ms\tsample ticks/due\tdup\tgaps\tskipped\tCPU cores\tRSS end/peak MiB\t")
			fmt.Fprintf(tw, "%.0f\t%.0f / %.0f\t%.0f / %.0f\t%.0f / %.0f / %.0f\t%d / %d\t%d\t%d\t%.0f\t%.2f\t%.0f / %.0f\t\n",
				rep.TicksPerSec, rep.LateP50ms, rep.LateP99ms, rep.EvalLateP50ms, rep.EvalLateP99ms,
				rep.SampleLateP50ms, rep.SampleLateP99ms, rep.SampleLateMaxms, rep.SampleTicks, rep.SampleDue,
				rep.SampleDuplicates, rep.SampleGaps, rep.Skipped, rep.CPUCores, float64(rep.RSSEnd)/(1<<20), float64(rep.PeakRSS)/(1<<20))
			tw.Flush()
			return writeBenchJSON(out, "cron", rep)
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
	f.StringVar(&out, "out", "", "write every figure and the machine as JSON to this file")
	return cmd
}

func newBenchLoopCmd() *cobra.Command {
	cfg := bench.DefaultLoopConfig()
	var module, out string
	cmd := &cobra.Command{
		Use:     "loop",
		Short:   "Ordinary processes' Eval latency before, during and after a self-messaging loop next to them (same run)",
		Example: `  actorweave bench loop --ordinary 100 --rate 50 --phase 20s`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, c.ErrOrStderr()
			rep, err := bench.RunLoop(c.Context(), cfg)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "loop: %d ordinary processes, %.0f Evals/s offered (send to result, open loop), --max-send-rate %.0f\n", rep.Ordinary, rep.Rate, rep.SendRate)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "phase\trequests\terrors\tp50 ms\tp99 ms\tmax ms\tloop msgs/s\tCPU cores\tload\t")
			for _, p := range rep.Phases {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.0f\t%.2f\t%.1f\t\n", p.Name, p.Requests, p.Errors, p.P50ms, p.P99ms, p.Maxms, p.LoopPerSec, p.CPUCores, p.LoadAverage)
			}
			tw.Flush()
			if len(rep.Phases) == 3 && rep.Phases[0].P50ms > 0 {
				fmt.Fprintf(w, "with loop / before: p50 %.2fx, p99 %.2fx\n", rep.Phases[1].P50ms/rep.Phases[0].P50ms, rep.Phases[1].P99ms/max(rep.Phases[0].P99ms, 1e-9))
			}
			for _, p := range rep.Phases {
				if p.FirstError != "" {
					fmt.Fprintf(w, "first error (%s): %s\n", p.Name, p.FirstError)
				}
			}
			return writeBenchJSON(out, "loop", rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntVar(&cfg.Ordinary, "ordinary", cfg.Ordinary, "ordinary processes")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "Evals per second offered to them")
	f.DurationVar(&cfg.Phase, "phase", cfg.Phase, "length of each phase (before, with the loop, after)")
	f.Float64Var(&cfg.SendRate, "max-send-rate", cfg.SendRate, "the node's per-process push quota")
	f.StringVar(&out, "out", "", "write every figure and the machine as JSON to this file")
	return cmd
}
