package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
	"github.com/actorweave/actorweave/node"
)

// benchChildEnv marks a child started by `bench scale`; the test binary's TestMain runs the CLI
// when it sees it (the children of a test are the test binary).
const benchChildEnv = "ACTORWEAVE_BENCH_CHILD"

func init() {
	registerBenchScenario(benchScenario{Name: "scale", NewCmd: newBenchScaleCmd,
		Smoke: []string{"--processes", "2", "--gomaxprocs", "1,2", "--messages", "12", "--clients", "2", "--node-request-timeout", "2m"},
		Keys:  []string{"points", "best_acked_per_sec", "best_evaluated_per_sec", "speedup_acked"}})
}

func newBenchScaleCmd() *cobra.Command {
	var (
		module, format, procs, gmp string
		clients, messages          int
		lazy, noFsync              bool
		rf                         reportFlags
		reqTimeout                 time.Duration
	)
	format = bench.DefaultIngestConfig().Format
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "ingest over 1…P processes and GOMAXPROCS 1…N (one child process per point): how cost grows with work and cores",
		Long: `Runs the ingest scenario (in-process node) once per (GOMAXPROCS, processes) point, each in a child
process of this binary with GOMAXPROCS in its environment, and tabulates acknowledged and evaluated
messages/s, latency, CPU per message and peak memory per point, with the CPU per message relative
to the first point and the speed-up from the smallest to the largest GOMAXPROCS.`,
		Example: `  actorweave bench scale --processes 1,10,100 --gomaxprocs 1,2 --messages 3000 --plot scale.png`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ps, err := parseInts(procs)
			if err != nil {
				return fmt.Errorf("--processes: %w", err)
			}
			gs, err := parseInts(gmp)
			if err != nil {
				return fmt.Errorf("--gomaxprocs: %w", err)
			}
			if _, err := readBenchModule(module); err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			args := []string{"--format", format, "--clients", strconv.Itoa(clients), "--messages", strconv.Itoa(messages)}
			if module != "" { // else the children run the embedded module too
				args = append(args, "--module", module)
			}
			args = append(args, "--node-request-timeout", reqTimeout.String())
			if lazy {
				args = append(args, "--lazy-eval")
			}
			if noFsync {
				args = append(args, "--no-fsync")
			}
			rep, err := bench.RunScale(c.Context(), bench.ScaleConfig{Exe: exe, IngestArgs: args, Processes: ps, GOMAXPROCS: gs,
				Env: []string{benchChildEnv + "=1"}, Progress: bench.SyncWriter(c.ErrOrStderr())})
			if err != nil {
				return err
			}
			return rf.emit(c, rep)
		},
	}
	f := cmd.Flags()
	bindBenchModule(f, &module, &format)
	f.StringVar(&procs, "processes", "1,10,100", "comma-separated process counts")
	f.StringVar(&gmp, "gomaxprocs", defaultGOMAXPROCSList(), "comma-separated GOMAXPROCS values (default 1 to the CPU count)")
	f.IntVar(&clients, "clients", 32, "concurrent HTTP clients per point")
	f.IntVar(&messages, "messages", 3000, "messages per point")
	f.BoolVar(&lazy, "lazy-eval", false, "measure the acknowledgement path alone (see bench ingest)")
	f.BoolVar(&noFsync, "no-fsync", false, "baseline without fsync (see bench ingest)")
	f.DurationVar(&reqTimeout, "node-request-timeout", node.DefaultConfig().API.RequestTimeout, "passed to every bench ingest child")
	rf.bind(f)
	return cmd
}

func defaultGOMAXPROCSList() string {
	s := "1"
	for i := 2; i <= runtime.NumCPU(); i *= 2 {
		s += "," + strconv.Itoa(i)
	}
	if n := runtime.NumCPU(); n > 1 && n&(n-1) != 0 {
		s += "," + strconv.Itoa(n)
	}
	return s
}
