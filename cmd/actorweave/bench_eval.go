package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "eval", Lua: true, NewCmd: newBenchEvalCmd,
		Smoke: []string{"--messages", "30", "--rounds", "1"},
		Keys:  []string{"actorweave_msgs_per_sec", "aoloader_default_msgs_per_sec", "aoloader_unsafe_msgs_per_sec", "ratio_vs_default", "ratio_vs_unsafe", "actorweave_p50"}})
}

func newBenchEvalCmd() *cobra.Command {
	cfg := bench.DefaultEvalConfig()
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluation alone: a module × N messages in actorweave's runtime against the reference loader (@permaweb/ao-loader), same run",
		Long: `Evaluates --messages Eval messages in a row in one instance of --module, in actorweave's runtime
(in this process) and in @permaweb/ao-loader under Node (testdata/node/aoloader-run.cjs, default mode
and UNSAFE_MEMORY mode), --rounds times, the three in turn. Both sides are timed around the message
loop only. Reports messages/s (wall and per CPU second) of each and actorweave's ratio to each.`,
		Example: `  make deps && actorweave bench eval --messages 2000 --rounds 3 --out eval.json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(cfg.ModulePath)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, bench.SyncWriter(c.ErrOrStderr())
			if err := bench.ReferenceMissing(cfg); err != nil && cfg.Reference && !c.Flags().Changed("reference") {
				// A fresh clone has no Node packages: measure actorweave alone and say why.
				cfg.Reference, cfg.NoReference = false, err.Error()
				fmt.Fprintf(c.ErrOrStderr(), "bench eval: not running the reference loader: %v\n", err)
			}
			rep, err := bench.RunEval(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &cfg.ModulePath, &cfg.Format)
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages per round and side")
	f.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds (each runs actorweave, ao-loader default, ao-loader UNSAFE_MEMORY)")
	f.StringVar(&cfg.Data, "data", cfg.Data, "the Eval every message carries (default: the module's counter, \"count\" for the embedded module, \"x = (x or 0) + 1; return x\" for a Lua one)")
	f.BoolVar(&cfg.Reference, "reference", cfg.Reference, "also run the reference loader (needs Node and make deps; when they are missing and the flag is not given, the scenario measures actorweave alone and notes why)")
	f.StringVar(&cfg.NodeScript, "node-script", cfg.NodeScript, "the reference loader driver")
	f.StringVar(&cfg.Node, "node-bin", cfg.Node, "the Node.js binary")
	rf.bind(f)
	return cmd
}
