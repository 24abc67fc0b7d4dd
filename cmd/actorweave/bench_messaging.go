package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "pingpong", Lua: true, NewCmd: newBenchPingPongCmd,
		Smoke: []string{"--pairs", "2", "--hops", "6", "--node-request-timeout", "2m"},
		Keys:  []string{"hops", "msgs_per_sec", "hop_p50", "hop_p99", "hop_max"}})
	registerBenchScenario(benchScenario{Name: "fanout", Lua: true, NewCmd: newBenchFanoutCmd,
		Smoke: []string{"--targets", "4", "--rounds", "2", "--node-request-timeout", "2m"},
		Keys:  []string{"deliveries", "msgs_per_sec", "delivery_p50", "delivery_p99", "delivery_max"}})
}

func newBenchPingPongCmd() *cobra.Command {
	return newBenchMessagingCmd("pingpong",
		"Process-to-process messages through outboxes, pairs answering each other: messages/s and hop latency",
		`  actorweave bench pingpong --pairs 4 --hops 500 --plot pingpong.png`,
		func(f *pflag.FlagSet, cfg *bench.MessagingConfig) {
			f.IntVar(&cfg.Pairs, "pairs", cfg.Pairs, "pairs of processes pinging each other at the same time")
			f.IntVar(&cfg.Hops, "hops", cfg.Hops, "hops (messages) per pair, one after the other")
		}, bench.RunPingPong)
}

func newBenchFanoutCmd() *cobra.Command {
	return newBenchMessagingCmd("fanout",
		"One process sending to many through its outbox: deliveries/s and delivery latency",
		`  actorweave bench fanout --targets 50 --rounds 20`,
		func(f *pflag.FlagSet, cfg *bench.MessagingConfig) {
			f.IntVar(&cfg.Targets, "targets", cfg.Targets, "processes each round sends one message to")
			f.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "Eval messages posted to the source at once, each sending to every target")
		}, bench.RunFanout)
}

func newBenchMessagingCmd(name, short, example string, bind func(*pflag.FlagSet, *bench.MessagingConfig),
	run func(context.Context, bench.MessagingConfig) (*bench.Report, error)) *cobra.Command {
	cfg := bench.DefaultMessagingConfig()
	var module string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:     name,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, bench.SyncWriter(c.ErrOrStderr())
			rep, err := run(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Node, "node", "", "URL of a running node (default: start one in-process in a temporary folder)")
	bindBenchModule(f, &module, &cfg.Format)
	bind(f, &cfg)
	f.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up after this long")
	cfg.NodeConfig = bindNodeFlags(f)
	rf.bind(f)
	return cmd
}
