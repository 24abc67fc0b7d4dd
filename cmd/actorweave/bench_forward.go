package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func newBenchForwardCmd() *cobra.Command {
	cfg := bench.DefaultForwardConfig()
	var module string
	var rf reportFlags
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
			rep := bench.NewReport("forward")
			rep.Param("sizes", fmt.Sprint(cfg.Sizes), "nodes")
			rep.Param("processes", cfg.Processes, "")
			rep.Param("clients", cfg.Clients, "")
			rep.Param("messages", cfg.Messages, "")
			rep.Param("lazy_eval", cfg.LazyEval, "")
			fr, err := bench.RunForward(c.Context(), cfg)
			if err != nil {
				return err
			}
			rep.Figure("local_ack_p50", fr.LocalP50ms, "ms")
			rep.Figure("local_ack_p99", fr.LocalP99ms, "ms")
			rep.Figure("forwarded_ack_p50", fr.ForwardedP50ms, "ms")
			rep.Figure("forwarded_ack_p99", fr.ForwardedP99ms, "ms")
			rep.Figure("forwarded_vs_local_p50", fr.RatioP50, "x")
			rep.Figure("forwarded_vs_local_p99", fr.RatioP99, "x")
			rep.Figure("local_result_p50", fr.LocalResultP50ms, "ms")
			rep.Figure("forwarded_result_p50", fr.ForwardResultP50, "ms")
			rep.Figure("forwarded_vs_local_result_p50", fr.RatioResultP50, "x")
			for _, r := range fr.Throughput {
				k := fmt.Sprintf("nodes%d_", r.Nodes)
				rep.Figure(k+"acked_per_sec", r.AckedPerSec, "msgs/s")
				rep.Figure(k+"vs_one_node", r.VsOneNode, "x")
				rep.Figure(k+"p50", r.P50ms, "ms")
				rep.Figure(k+"p99", r.P99ms, "ms")
				rep.Figure(k+"calls_per_ack", r.CallsPerAck, "calls")
				rep.Figure(k+"bytes_per_ack", r.BytesPerAck, "bytes")
				rep.Figure(k+"errors", float64(r.Errors), "")
				if r.FirstError != "" {
					rep.Note("%d nodes: first error: %s", r.Nodes, r.FirstError)
				}
			}
			rep.Note("all nodes share this machine's cores: the sizes show the cluster's overhead, not scale-out")
			return rf.emit(c, rep.Finish())
		},
	}
	f := cmd.Flags()
	rf.bind(f)
	bindBenchModule(f, &module, &cfg.Format)
	f.IntSliceVar(&cfg.Sizes, "sizes", cfg.Sizes, "cluster sizes of the throughput runs")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes spawned per run")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages per throughput run")
	f.IntVar(&cfg.Latency, "latency-samples", cfg.Latency, "sequential acknowledgements per path in the latency run")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", cfg.LazyEval, "nodes evaluate only when asked (measures the acknowledgement path)")
	return cmd
}
