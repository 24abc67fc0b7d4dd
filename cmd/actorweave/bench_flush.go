package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "flush", NewCmd: newBenchFlushCmd,
		Smoke: []string{"--processes", "2", "--clients", "2", "--messages", "10", "--flush-interval", "100ms",
			"--baseline=false", "--node-request-timeout", "2m"},
		Keys: []string{"acked", "readable", "flush_lag_p50", "flush_lag_p99", "bytes_per_message", "log_bytes_per_message", "uploads"},
		// Every acknowledged message must be readable on the gateway, and a message costs there
		// at least its own item.
		Check: func(r *bench.Report) error {
			acked, readable, msgs := r.Figures.Float("acked"), r.Figures.Float("readable"), r.Params.Float("messages")
			if acked != msgs || readable != acked {
				return fmt.Errorf("acked %v, readable %v of %v messages", acked, readable, msgs)
			}
			if lb, mb := r.Figures.Float("log_bytes_per_message"), r.Figures.Float("message_bytes"); !(lb > mb && mb > 0) {
				return fmt.Errorf("log bytes per message %v, message item %v bytes", lb, mb)
			}
			return nil
		}})
}

func newBenchFlushCmd() *cobra.Command {
	cfg := bench.DefaultFlushConfig()
	var module string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Arweave flush under ingest load: lag from acknowledgement to readable on the gateway, bytes on Arweave per message",
		Long: `Starts arlocal (a real local Arweave gateway, installed by make deps) or uses --gateway with
--wallet, and an in-process node flushing to it over the L1 path. Posts --messages signed Eval
messages to --processes processes from --clients clients, then waits until every acknowledged
message is readable on the gateway (GET /{id} of the Log-Batch holding it) and reports the flush lag
(acknowledgement → readable) p50/p90/p99/max and the bytes posted to Arweave per message. With
--baseline (default) the same load runs again with flushing off, for the acknowledgement ratio.`,
		Args:    cobra.NoArgs,
		Example: `  make deps && actorweave bench flush --processes 100 --clients 64 --messages 5000 --out flush.json`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module = wasm
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunFlush(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Gateway, "gateway", "", "Arweave gateway taking L1 transactions (default: start arlocal for the run)")
	f.StringVar(&cfg.Wallet, "wallet", "", "RSA JWK funded on --gateway")
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&cfg.Data, "data", cfg.Data, "the Eval every message carries (default: the module's counter, \"count\" for the embedded module, \"x = (x or 0) + 1; return x\" for a Lua one)")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes the messages are spread over")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages to post")
	f.DurationVar(&cfg.Interval, "flush-interval", cfg.Interval, "the node's --flush-interval")
	f.IntVar(&cfg.MaxBytes, "flush-max-bytes", cfg.MaxBytes, "the node's --flush-max-bytes")
	f.Float64Var(&cfg.Rate, "rate", 0, "open loop: offer this many messages/s in total (0: as fast as the clients go)")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", false, "node evaluates only on demand: no evaluation competes with the flush (and arlocal) for the CPU")
	f.BoolVar(&cfg.Baseline, "baseline", cfg.Baseline, "also run the load with flushing off (acknowledgement ratio)")
	cfg.NodeConfig = bindNodeFlags(f)
	rf.bind(f)
	return cmd
}
