package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "token", Lua: true, NewCmd: newBenchTokenCmd,
		Smoke: []string{"--nodes", "1,2", "--holders", "3", "--transfers", "6", "--clients", "2"},
		Keys: []string{"nodes1_transfers_per_sec", "nodes1_transfer_p50", "nodes1_transfer_p99", "nodes1_node_cpu_ms_per_transfer",
			"nodes1_peak_rss", "nodes2_transfers_per_sec", "nodes2_transfer_p99", "nodes2_node_cpu_ms_per_transfer"}})
}

func newBenchTokenCmd() *cobra.Command {
	cfg := bench.DefaultTokenConfig()
	var module, nodes string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Token transfers end to end (Transfer, Debit-Notice, Credit-Notice through outboxes) on 1 node and a cluster",
		Long: `AO's canonical workload. For each size in --nodes, in turn, starts that many actorweave nodes as
child processes of this binary (a size of 1 is a node alone), spawns a token process (the embedded module's
token, or aos-like Lua Handlers installed with an Eval under --module) holding the balances of --holders holder processes, and
posts --transfers users' Evals from --clients clients to random members: each makes a holder send a
Transfer to the token through its outbox, and the token answers with a Debit-Notice to the sender
and a Credit-Notice to the recipient through its outbox, which both evaluate. Reports per size:
transfers/s until every notice is evaluated (checked by reading every holder's counts), latency
from the user's post to the later notice's assignment, the nodes' CPU per transfer and their peak
RSS.`,
		Example: `  actorweave bench token --nodes 1,3 --holders 100 --transfers 2000`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var err error
			if cfg.Nodes, err = parseInts(nodes); err != nil {
				return fmt.Errorf("--nodes: %w", err)
			}
			if cfg.Module, cfg.Exe, cfg.Env, err = childNodes(module); err != nil {
				return err
			}
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunToken(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&nodes, "nodes", "1,3", "comma-separated cluster sizes, one point each, run in turn")
	f.IntVar(&cfg.Holders, "holders", cfg.Holders, "holder processes (the token holds their balances)")
	f.IntVar(&cfg.Transfers, "transfers", cfg.Transfers, "transfers, each a user's Eval on a holder")
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent HTTP clients, each posting to a random member")
	f.DurationVar(&cfg.RequestTimeout, "node-request-timeout", cfg.RequestTimeout, "the nodes' --request-timeout")
	f.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up after this long")
	rf.bind(f)
	return cmd
}
