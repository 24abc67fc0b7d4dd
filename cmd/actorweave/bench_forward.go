package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func newBenchForwardCmd() *cobra.Command {
	cfg := bench.DefaultForwardConfig()
	var module, out string
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Clusters of 1, 3 and 5 in-process nodes: forwarded vs local acknowledgement latency, throughput, bytes between nodes per message",
		Long: `Starts in-process clusters on loopback (memberlist, Proto.Actor remote with mutual TLS) and measures
the cost of forwarding: acknowledgements sent to a process's owner against the same requests sent to
another member (alternating, same run), then the throughput of concurrent clients posting through
random members for each cluster size, and the node-to-node calls and bytes per acknowledged message.
All nodes share this machine's cores: the sizes show the overhead of the cluster, not scale-out.`,
		Example: `  actorweave bench forward --sizes 1,3,5 --messages 3000 --clients 32`,
		RunE: func(c *cobra.Command, _ []string) error {
			wasm, err := readBenchModule(module)
			if err != nil {
				return err
			}
			cfg.Module, cfg.Progress = wasm, c.ErrOrStderr()
			rep, err := bench.RunForward(c.Context(), cfg)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "ack latency, 2 nodes: local p50 %.2f ms p99 %.2f ms; forwarded p50 %.2f ms p99 %.2f ms; ratio p50 %.2f p99 %.2f\n",
				rep.LocalP50ms, rep.LocalP99ms, rep.ForwardedP50ms, rep.ForwardedP99ms, rep.RatioP50, rep.RatioP99)
			fmt.Fprintf(w, "stored result read: local p50 %.2f ms, forwarded p50 %.2f ms; ratio %.2f\n", rep.LocalResultP50ms, rep.ForwardResultP50, rep.RatioResultP50)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "nodes\tacked/s\tvs 1 node\tp50 ms\tp99 ms\tcalls/ack\tbytes/ack\terrors\t")
			for _, r := range rep.Throughput {
				fmt.Fprintf(tw, "%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%d\t\n", r.Nodes, r.AckedPerSec, r.VsOneNode, r.P50ms, r.P99ms, r.CallsPerAck, r.BytesPerAck, r.Errors)
			}
			tw.Flush()
			return writeBenchJSON(out, "forward", rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.IntSliceVar(&cfg.Sizes, "sizes", cfg.Sizes, "cluster sizes of the throughput runs")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes spawned per run")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages per throughput run")
	f.IntVar(&cfg.Latency, "latency-samples", cfg.Latency, "sequential acknowledgements per path in the latency run")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", cfg.LazyEval, "nodes evaluate only when asked (measures the acknowledgement path)")
	f.StringVar(&out, "out", "", "write every figure and the machine as JSON to this file")
	return cmd
}
