package main

import (
	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "activation", NewCmd: newBenchActivationCmd,
		Smoke: []string{"--processes", "6", "--wake", "3", "--clients", "2", "--idle-timeout", "200ms", "--node-request-timeout", "2m"},
		Keys:  []string{"spawns_per_sec", "rss_passive", "pebble_bytes_per_process", "wake_ack_p50", "wake_result_p99"}})
}

func newBenchActivationCmd() *cobra.Command {
	cfg := bench.DefaultActivationConfig()
	var module string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:     "activation",
		Short:   "Spawn K processes, let them passivate, wake a sample: spawn rate, memory per idle process, wake latency",
		Example: `  actorweave bench activation --processes 100000 --wake 1000`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunActivation(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes to spawn")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Wake, "wake", cfg.Wake, "processes woken after all passivated")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "the node's passivation timeout")
	cfg.NodeConfig = bindNodeFlags(f)
	rf.bind(f)
	return cmd
}
