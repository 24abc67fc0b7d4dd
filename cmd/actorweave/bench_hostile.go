package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "hostile", NewCmd: newBenchHostileCmd,
		Smoke: []string{"--duration", "3s", "--dry-runs", "6", "--slow-conns", "4", "--idle-conns", "4", "--aliases", "2000", "--items", "5", "--output-mb", "6",
			"--node-args=--http-body-grace=500ms"},
		Keys: []string{"after_quiet_bystander_p50", "after_dryrun_status_429", "after_monitor_status_403", "after_assign_target_kept",
			"after_graphql_status_400", "after_slow_status_408", "after_output_result_limited", "after_sigterm_exit_clean"},
		// What the current node must answer the attacks, whatever the timings: dry-runs beyond the
		// per-process cap are refused (429) and the bystander keeps being answered; a replayed
		// public item is refused (403, nothing else); the GraphQL query is refused (400, never
		// answered); every trickled body is cut off (408); no 30 MB result is served.
		Check: func(r *bench.Report) error {
			f := r.Figures
			for _, k := range []string{"after_dryrun_bystander_errors", "after_monitor_status_200", "after_graphql_status_200", "after_slow_status_none", "after_output_status_500"} {
				if v := f.Float(k); v != 0 {
					return fmt.Errorf("%s = %v, want 0", k, v)
				}
			}
			if f.Float("after_dryrun_bystander_p50") <= 0 {
				return fmt.Errorf("the bystander got no answer while dry-runs looped")
			}
			if got, want := f.Float("after_slow_status_408"), 4.0; got != want {
				return fmt.Errorf("%v trickled bodies cut off with 408, want %v", got, want)
			}
			return nil
		}})
}

func newBenchHostileCmd() *cobra.Command {
	cfg := bench.DefaultHostileConfig()
	var module, attacks, nodeArgs string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "hostile",
		Short: "Hostile clients against a node (and, with --baseline-binary, an older build in the same run): attacker statuses, a bystander's latency, peak RSS",
		Long: `Starts a node as a child process for each attack (or attacks --node), spawns a victim and a bystander
process, and runs the attacks one at a time while the bystander sends messages and reads their
results in a loop: looping dry-runs against the victim (dryrun); the victim's public Process item
replayed to DELETE and POST /monitor (monitor); the owner's Eval to the victim assigned into the
attacker's process Y, and the Target Y's module saw (assign); a GraphQL query of thousands of
aliased transactions(first: 1000) (graphql); request bodies trickled at 1 byte/s and idle
keep-alive connections (slow); an Eval whose output is tens of MB (output); SIGTERM while
dry-runs and a looping message are queued (sigterm). Reports per attack the statuses the attacker
got, the bystander's round-trip p50/p99, and the node's peak RSS during the attack. It measures; it
never fails on a number.`,
		Example: `  actorweave bench hostile --baseline-binary /tmp/actorweave-before`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var err error
			if cfg.Module, err = readBenchModule(module); err != nil {
				return err
			}
			if cfg.Exe == "" && cfg.URL == "" {
				if cfg.Exe, err = os.Executable(); err != nil {
					return err
				}
				// In a test binary the children are this binary: TestMain runs the CLI when it sees this.
				cfg.Env = []string{benchChildEnv + "=1"}
			}
			if attacks != "" && attacks != "all" {
				cfg.Attacks = strings.Split(attacks, ",")
			}
			if nodeArgs != "" {
				cfg.NodeArgs = strings.Split(nodeArgs, ",")
			}
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunHostile(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&cfg.Exe, "node-binary", "", "the actorweave binary whose nodes are attacked (default: this one)")
	f.StringVar(&cfg.Baseline, "baseline-binary", "", "a second actorweave binary (an older build) attacked the same way in the same run, reported as before")
	f.StringVar(&cfg.URL, "node", "", "attack this running node instead of starting nodes (no RSS, no sigterm attack)")
	f.StringVar(&nodeArgs, "node-args", "", "comma-separated extra flags for the --node-binary nodes (not the baseline's)")
	f.StringVar(&attacks, "attacks", "all", "comma-separated attacks: "+strings.Join(bench.HostileAttacks, ", "))
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of each attack")
	f.IntVar(&cfg.DryRuns, "dry-runs", cfg.DryRuns, "concurrent clients looping dry-runs")
	f.IntVar(&cfg.SlowConns, "slow-conns", cfg.SlowConns, "connections trickling a body at 1 byte/s")
	f.IntVar(&cfg.IdleConns, "idle-conns", cfg.IdleConns, "idle keep-alive connections")
	f.IntVar(&cfg.Aliases, "aliases", cfg.Aliases, "aliases of transactions(first: 1000) in the GraphQL query")
	f.IntVar(&cfg.Items, "items", cfg.Items, "messages stored before the GraphQL attack")
	f.IntVar(&cfg.OutputMB, "output-mb", cfg.OutputMB, "size of the huge Eval output, MB")
	rf.bind(f)
	return cmd
}
