package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "cluster", NewCmd: newBenchClusterCmd,
		Smoke: []string{"--nodes", "1,2", "--processes", "2", "--clients", "2", "--messages", "20"},
		Keys: []string{"nodes1_acked_per_sec", "nodes2_acked_per_sec", "nodes1_node_cpu_ms_per_msg", "nodes2_node_cpu_ms_per_msg",
			"nodes1_peak_rss", "nodes2_peak_rss", "nodes2_vs_one_node_acked_per_sec", "nodes2_repl_requests_per_ack", "nodes2_repl_bytes_per_ack",
			"nodes2_forward_calls_per_ack", "nodes2_forward_bytes_per_ack"},
		// Every message is acknowledged; in the 2-node cluster every acknowledged message was
		// replicated (factor 2), and messages sent to the member that does not own their process
		// were forwarded: with 20 messages each sent to one of 2 members at random, some were (all 20
		// reaching owners has a chance of 2^-20).
		Check: func(r *bench.Report) error {
			for _, k := range []string{"nodes1_errors", "nodes2_errors"} {
				if v := r.Figures.Float(k); v != 0 {
					return fmt.Errorf("%s = %v", k, v)
				}
			}
			if v := r.Figures.Float("nodes2_repl_entries_per_ack"); v < 1 {
				return fmt.Errorf("2 nodes: %.2f entries replicated per acknowledged message, want at least 1", v)
			}
			if v := r.Figures.Float("nodes1_repl_requests_per_ack") + r.Figures.Float("nodes1_forward_calls_per_ack"); v != 0 {
				return fmt.Errorf("a node alone sent %.2f requests per message to other nodes", v)
			}
			return nil
		}})
}

func newBenchClusterCmd() *cobra.Command {
	cfg := bench.DefaultClusterConfig()
	var module, nodes string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Throughput of 1, 3 and 5 nodes (child processes on this machine): cost per message and traffic between nodes",
		Long: `For each size in --nodes, in turn, starts that many actorweave nodes as child processes of this
binary on loopback ports (memberlist and Proto.Actor remote with mutual TLS, one fresh cluster key;
a size of 1 is a node alone), spawns --processes processes through random members, and posts
--messages signed messages from --clients concurrent clients, each to a random member (which
forwards to the process's owner, which replicates to its backup before acknowledging). Reports per
size: acknowledged messages/s, acknowledgement latency, the CPU of all node processes per message,
their summed peak RSS, and per acknowledged message the forwarding Calls and bytes and the
replication requests and bytes between nodes, with ratios to the 1-node point. All nodes share
this machine's cores: the sizes show the cluster's overhead, not scale-out.`,
		Example: `  actorweave bench cluster --nodes 1,3,5 --processes 100 --clients 32 --messages 5000
  actorweave bench cluster --nodes 1,3 --clients 64 --baseline-binary /tmp/actorweave-before`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var err error
			if cfg.Nodes, err = parseInts(nodes); err != nil {
				return fmt.Errorf("--nodes: %w", err)
			}
			if cfg.Module, cfg.Exe, cfg.Env, err = childNodes(module); err != nil {
				return err
			}
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunCluster(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&nodes, "nodes", "1,3,5", "comma-separated cluster sizes, one point each, run in turn")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes spawned per point (through random members)")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients, each posting to a random member")
	f.IntVar(&cfg.Messages, "messages", cfg.Messages, "measured messages per point")
	f.BoolVar(&cfg.LazyEval, "lazy-eval", cfg.LazyEval, "nodes evaluate only when asked: measures the acknowledgement path, where forwarding and replication happen")
	f.IntVar(&cfg.ReplicationFactor, "replication-factor", 0, "the members' --replication-factor (0: the node's default, 2 in a cluster)")
	f.DurationVar(&cfg.RequestTimeout, "node-request-timeout", cfg.RequestTimeout, "the nodes' --request-timeout")
	f.StringVar(&cfg.Baseline, "baseline-binary", "", "an older actorweave binary run at every size too, just before this one (figures before_*, ratios nodesN_vs_before_*): before and after in one command")
	f.StringVar(&cfg.ProfileDir, "node-cpuprofile", "", "folder where every node writes a CPU profile of its life (nodes<N>-node<I>.prof, for go tool pprof)")
	rf.bind(f)
	return cmd
}
