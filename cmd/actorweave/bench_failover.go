package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
)

func init() {
	registerBenchScenario(benchScenario{Name: "failover", NewCmd: newBenchFailoverCmd,
		Smoke: []string{"--kills", "1", "--processes", "3", "--modes", "signal", "--rest", "0s"},
		Keys:  []string{"signal_p50", "signal_p99", "signal_max", "signal_kill_max", "signal_kills", "signal_processes_measured"},
		Check: func(r *bench.Report) error {
			if v := r.Figures.Float("signal_not_failed_over"); v != 0 {
				return fmt.Errorf("%v processes did not fail over", v)
			}
			return nil
		}})
}

func newBenchFailoverCmd() *cobra.Command {
	cfg := bench.DefaultFailoverConfig()
	var module, modes, nodeArgs string
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "kill -9 to serving again: a member of three is killed, repeatedly; how long until its processes acknowledge writes",
		Long: `Starts three actorweave nodes as child processes of this binary (memberlist, mutual TLS,
replication factor 2, lazy evaluation), spawns --processes processes, and --kills times over kills
a member that owns processes with SIGKILL (chosen at random among the owners), sends each of its
processes a new message through the surviving members (retried every 50 ms) and measures the
time from the kill to its acknowledgement; then restarts the killed member on its data, waits
until every process acknowledges again, and lets the cluster run for --rest before the next kill. Each mode in --modes runs on a fresh cluster: "signal" is
the nodes' defaults (the failure signal: a member not heard for --failure-timeout is taken out of
placement), "baseline" adds --failure-timeout 0 (memberlist's failure detection alone, as before
the signal). Reports per mode p50/p90/p99/max per process, and per kill until all of its processes
serve again. It never fails on a number.`,
		Example: `  actorweave bench failover --kills 20 --processes 12`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var err error
			cfg.Modes = strings.Split(modes, ",")
			cfg.NodeArgs = strings.Fields(nodeArgs)
			if cfg.Module, cfg.Exe, cfg.Env, err = childNodes(module); err != nil {
				return err
			}
			cfg.Progress = bench.SyncWriter(c.ErrOrStderr())
			rep, err := bench.RunFailover(c.Context(), cfg)
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &cfg.Format)
	f.StringVar(&modes, "modes", "signal,baseline", "modes, each on a fresh cluster: signal (the nodes' defaults), baseline (--failure-timeout 0: memberlist alone)")
	f.IntVar(&cfg.Kills, "kills", cfg.Kills, "kills per mode")
	f.IntVar(&cfg.Processes, "processes", cfg.Processes, "processes spawned (about a third are owned by each member)")
	f.StringVar(&nodeArgs, "node-args", "", "flags added to every node in every mode, e.g. \"--failure-timeout 2s\"")
	f.DurationVar(&cfg.Bound, "bound", cfg.Bound, "how long a process may take to answer after a kill before it counts as not failed over")
	f.DurationVar(&cfg.Rest, "rest", cfg.Rest, "how long the cluster runs before each kill (after the start, and after a restarted member settled): a member first heard less than 30 s ago fails over in twice the failure timeout")
	rf.bind(f)
	return cmd
}
