package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func newBenchActivationCmd() *cobra.Command {
	cfg := bench.DefaultActivationConfig()
	var module, out string
	cmd := &cobra.Command{
		Use:     "activation",
		Short:   "Spawn K processes, let them passivate, wake a sample: spawn rate, memory per idle process, wake latency",
		Example: `  actorweave bench activation --processes 100000 --wake 1000`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, c.ErrOrStderr()
			rep, err := bench.RunActivation(c.Context(), cfg)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "processes\tspawns/s\tpassive RSS MiB\theap B/idle process\tpebble B/process\twake ack p50/p99 ms\twake result p50/p99 ms\tpeak RSS MiB\t")
			fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f / %.1f\t%.1f / %.1f\t%.0f\t\n", rep.Processes, rep.SpawnsPerSec,
				float64(rep.RSSPassive)/(1<<20), rep.BytesPerIdle, rep.PebblePerProcess, rep.WakeAckP50ms, rep.WakeAckP99ms,
				rep.WakeResultP50ms, rep.WakeResultP99ms, float64(rep.PeakRSS)/(1<<20))
			tw.Flush()
			return writeBenchJSON(out, "activation", rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes to spawn")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Wake, "wake", cfg.Wake, "processes woken after all passivated")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "the node's passivation timeout")
	f.StringVar(&out, "out", "", "write every figure and the machine as JSON to this file")
	return cmd
}
