package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func newBenchFlushCmd() *cobra.Command {
	cfg := bench.DefaultFlushConfig()
	var module, out string
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Arweave flush under ingest load: lag from acknowledgement to readable on the gateway, bytes on Arweave per message",
		Long: `Starts arlocal (a real local Arweave gateway, installed by make deps) or uses --gateway with
--wallet, and an in-process node flushing to it over the L1 path. Posts --messages signed Eval
messages to --processes processes from --clients clients, then waits until every acknowledged
message is readable on the gateway (GET /{id} of the Log-Batch holding it) and reports the flush lag
(acknowledgement → readable) p50/p90/p99/max and the bytes posted to Arweave per message. With
--baseline (default) the same load runs first with flushing off, for the acknowledgement ratio.`,
		Example: `  make deps && actorweave bench flush --processes 100 --clients 64 --messages 5000 --out flush.json`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module = wasm
			cfg.Progress = c.ErrOrStderr()
			rep, err := bench.RunFlush(c.Context(), cfg)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "processes\tclients\tacked\tacked/s\tack p99 ms\tlag p50 ms\tlag p90 ms\tlag p99 ms\tlag max ms\tuploads\tupload ms\tbytes/msg\tlog bytes/msg\tmsg+asg bytes\tload\t")
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t\n", rep.Processes, rep.Clients, rep.Acked,
				rep.AckedPerSec, rep.AckP99ms, rep.LagP50ms, rep.LagP90ms, rep.LagP99ms, rep.LagMaxMs, rep.Uploads, rep.UploadMs,
				rep.BytesPerMessage, rep.LogBytesPerMessage, rep.MessageBytes+rep.AssignmentBytes, rep.LoadAvg)
			tw.Flush()
			if rep.BaselineAckedPerSec > 0 {
				fmt.Fprintf(w, "acknowledgements/s with flushing / without (same run): %.2f (p99 %.1f ms vs %.1f ms)\n",
					rep.AckedPerSec/rep.BaselineAckedPerSec, rep.AckP99ms, rep.BaselineAckP99ms)
			}
			if rep.MessageBytes+rep.AssignmentBytes > 0 {
				fmt.Fprintf(w, "log bytes on Arweave per message / (message + assignment item): %.2f; all bytes (with module, process items, checkpoints): %.2f\n",
					rep.LogBytesPerMessage/(rep.MessageBytes+rep.AssignmentBytes), rep.BytesPerMessage/(rep.MessageBytes+rep.AssignmentBytes))
			}
			if rep.FirstError != "" {
				fmt.Fprintln(c.ErrOrStderr(), "first error:", rep.FirstError)
			}
			return writeBenchJSON(out, "flush", rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Gateway, "gateway", "", "Arweave gateway taking L1 transactions (default: start arlocal for the run)")
	f.StringVar(&cfg.Wallet, "wallet", "", "RSA JWK funded on --gateway")
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&cfg.Data, "data", cfg.Data, "the Eval every message carries")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes the messages are spread over")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages to post")
	f.DurationVar(&cfg.Interval, "flush-interval", cfg.Interval, "the node's --flush-interval")
	f.IntVar(&cfg.MaxBytes, "flush-max-bytes", cfg.MaxBytes, "the node's --flush-max-bytes")
	f.Float64Var(&cfg.Rate, "rate", 0, "open loop: offer this many messages/s in total (0: as fast as the clients go)")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", false, "node evaluates only on demand: no evaluation competes with the flush (and arlocal) for the CPU")
	f.BoolVar(&cfg.Baseline, "baseline", cfg.Baseline, "also run the load with flushing off (acknowledgement ratio)")
	f.StringVar(&out, "out", "", "write every figure and the machine as JSON to this file")
	return cmd
}
