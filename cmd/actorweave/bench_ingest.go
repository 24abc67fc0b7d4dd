package main

import (
	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "ingest", NewCmd: newBenchIngestCmd,
		Smoke: []string{"--processes", "2", "--clients", "2", "--messages", "20", "--node-request-timeout", "2m"},
		Keys:  []string{"acked", "evaluated", "acked_per_sec", "evaluated_per_sec", "p50", "p90", "p99", "max", "cpu", "rss"}})
}

func newBenchIngestCmd() *cobra.Command {
	cfg := bench.DefaultIngestConfig()
	var module string
	var rf reportFlags
	var baseline bool
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Signed messages over HTTP to P processes: acknowledged/s, evaluated/s, latency, CPU, memory",
		Long: `Starts a node in-process (or uses --node URL), publishes --module, spawns --processes processes,
signs --messages Eval messages with ed25519 (before the clock starts), and posts them from --clients
concurrent HTTP clients. Reports acknowledged messages/s and p50/p90/p99/max acknowledgement
latency, then waits until every message is evaluated and reports evaluated messages/s, CPU time
and peak memory.`,
		Args:    cobra.NoArgs,
		Example: `  make deps && actorweave bench ingest --processes 100 --clients 64 --messages 20000 --out ingest.json`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module = wasm
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			run := bench.RunIngest
			if baseline {
				run = bench.RunIngestBaseline
			}
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
	f.StringVar(&cfg.Data, "data", cfg.Data, "the Eval every message carries (default: the module's counter, \"count\" for the embedded module, \"x = (x or 0) + 1; return x\" for a Lua one)")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes the messages are spread over")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages to post")
	f.BoolVar(&cfg.WaitEvaluated, "wait-evaluated", cfg.WaitEvaluated, "wait until every message is evaluated")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", false, "in-process node evaluates only when results are asked for: measures the acknowledgement path alone, then evaluation")
	f.DurationVar(&cfg.WALMinSyncInterval, "wal-min-sync-interval", -1, "the in-process node's --wal-min-sync-interval (default: the node's default)")
	f.BoolVar(&cfg.NoFsync, "no-fsync", false, "baseline: in-process node without fsync (shows what durability costs; not a way to run a node)")
	f.BoolVar(&baseline, "baseline", false, "then run again without fsync on a fresh node and report the ratios (same command)")
	cfg.NodeConfig = bindNodeFlags(f)
	rf.bind(f)
	return cmd
}
