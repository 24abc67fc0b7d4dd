package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/bench"
	"github.com/actorweave/actorweave/persistence"
)

// newBenchCmd is `actorweave bench`: the reproducible benchmarks. Without a sub-verb it runs each
// of them with its defaults.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the reproducible benchmarks (see bench/README.md)",
	}
	var cpuprof string
	var stopProfile func()
	cmd.PersistentFlags().StringVar(&cpuprof, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (go tool pprof)")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuprof == "" {
			return nil
		}
		f, err := os.Create(cpuprof)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	cmd.PersistentPostRun = func(*cobra.Command, []string) {
		if stopProfile != nil {
			stopProfile()
		}
	}
	var appendCmd *cobra.Command
	for _, s := range sortedBenchScenarios() {
		sc := s.NewCmd()
		if s.Name == "append" {
			appendCmd = sc
		}
		cmd.AddCommand(sc)
	}
	// Not in the registry, so not in the smoke test: it runs several nodes in one process, and
	// protoactor-go's process-global gRPC logger is then a data race under -race
	// (docs/design.md §8). The cluster tests and `bench cluster` run nodes as separate
	// processes.
	cmd.AddCommand(newBenchForwardCmd())
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return appendCmd.RunE(appendCmd, nil)
	}
	return cmd
}

func init() {
	registerBenchScenario(benchScenario{Name: "append", NewCmd: newBenchAppendCmd,
		Smoke: []string{"--writers", "1,2", "--processes", "4", "--duration", "100ms"},
		Keys:  []string{"appends_per_sec_fsync_pipeline_w1", "appends_per_sec_nofsync_pipeline_w2", "fsync_ratio_pipeline_w2"}, NoPlot: true})
}

func newBenchAppendCmd() *cobra.Command {
	d := bench.DefaultAppendConfig()
	var (
		writers  string
		commit   string
		rf       reportFlags
		baseline bool
		cacheMB  int64
		memMB    uint64
		noFilter bool
		cfg      = d
	)
	cmd := &cobra.Command{
		Use:   "append",
		Short: "Durable append throughput and latency of the per-process log (fsync on, and off as a baseline)",
		Long: `Measures persistence.Store.Append: for each writer count, a fresh Pebble store with --processes
registered processes; each writer owns a disjoint share of them and appends ~600-byte assignments
with ~1 KiB messages for --duration. Reports appends/s, p50/p99/max latency, WAL fsyncs and peak
memory, with fsync on and (unless --baseline=false) off, in the same run.`,
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if cfg.Writers, err = parseInts(writers); err != nil {
				return fmt.Errorf("--writers: %w", err)
			}
			if cfg.Commit, err = parseModes(commit); err != nil {
				return fmt.Errorf("--commit: %w", err)
			}
			cfg.Fsync = []bool{true}
			if baseline {
				cfg.Fsync = append(cfg.Fsync, false)
			}
			cfg.Store = func(o *persistence.Options) {
				if cacheMB > 0 {
					o.BlockCacheBytes = cacheMB << 20
				}
				if memMB > 0 {
					o.MemTableBytes = memMB << 20
				}
				o.NoDedupFilter = noFilter
			}
			report := bench.NewReport("append")
			rep, err := bench.RunAppend(c.Context(), cfg)
			if err != nil {
				return err
			}
			// The append table keeps its own layout (ratio lines); --out and --plot are the
			// common report's.
			printAppendReport(c.OutOrStdout(), rep)
			return rf.emitFiles(rep.Fill(report))
		},
	}
	f := cmd.Flags()
	f.StringVar(&writers, "writers", "1,16,256", "comma-separated concurrent writer counts")
	f.IntVar(&cfg.Processes, "processes", d.Processes, "processes the writers are spread over")
	f.DurationVar(&cfg.Duration, "duration", d.Duration, "measured time per writer count and mode")
	f.StringVar(&cfg.Dir, "dir", "", "directory for the stores (default: a temporary directory); put it on the disk you want to measure")
	rf.bind(f)
	f.StringVar(&commit, "commit", "pipeline", "comma-separated group-commit modes: pipeline, serial")
	f.BoolVar(&baseline, "baseline", true, "also measure with fsync off, as a baseline ratio")
	f.Int64Var(&cacheMB, "cache-mb", 0, "Pebble block cache in MiB (default: the store's default)")
	f.Uint64Var(&memMB, "memtable-mb", 0, "Pebble memtable size in MiB (default: the store's default)")
	f.BoolVar(&noFilter, "no-dedup-filter", false, "turn off the store's in-memory dedup filter (every append does the Pebble Gets)")
	f.Float64Var(&cfg.Rate, "rate", 0, "open loop: offer this many appends/s in total on a fixed schedule (latency from the scheduled time); 0 = closed loop, as fast as possible")
	f.IntVar(&cfg.AssignmentBytes, "assignment-bytes", d.AssignmentBytes, "bytes per assignment item")
	f.IntVar(&cfg.MessageBytes, "message-bytes", d.MessageBytes, "bytes per message item")
	return cmd
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseModes(s string) ([]persistence.CommitMode, error) {
	var out []persistence.CommitMode
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "pipeline":
			out = append(out, persistence.CommitPipeline)
		case "serial":
			out = append(out, persistence.CommitSerial)
		default:
			return nil, fmt.Errorf("unknown mode %q (want pipeline or serial)", f)
		}
	}
	return out, nil
}

func printAppendReport(w io.Writer, rep bench.AppendReport) {
	loop := "closed loop (each writer appends as soon as its previous append returns)"
	if len(rep.Results) > 0 && rep.Results[0].OfferedRate > 0 {
		loop = fmt.Sprintf("open loop at %.0f appends/s offered (latency from the scheduled time)", rep.Results[0].OfferedRate)
	}
	fmt.Fprintf(w, "append benchmark: %s, %d CPUs, %s per run, assignment %d B + message %d B, %s\n",
		rep.GoVersion, rep.NumCPU, rep.DurationPerRun, rep.AssignmentBytes, rep.MessageBytes, loop)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fsync\tcommit\twriters\tprocesses\tappends/s\tp50 ms\tp99 ms\tmax ms\tappends/fsync\tpeak heap MiB\tpeak RSS MiB\tstalls\tstall s\tCPU µs/append\tload\terrors\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%t\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.0f\t%.0f\t%d\t%.2f\t%.0f\t%.1f\t%d\t\n",
			r.Fsync, r.Commit, r.Writers, r.Processes, r.AppendsPerSec, r.P50Ms, r.P99Ms, r.MaxMs,
			r.AppendsPerSync, float64(r.PeakHeapBytes)/(1<<20), float64(r.PeakRSSBytes)/(1<<20), r.WriteStalls, r.WriteStallsSec, r.CPUPerAppendUs, r.LoadAvg, r.Errors)
	}
	tw.Flush()
	// Ratios from the same run: durable throughput as a fraction of the no-fsync baseline.
	for _, r := range rep.Results {
		if !r.Fsync {
			continue
		}
		for _, b := range rep.Results {
			if !b.Fsync && b.Commit == r.Commit && b.Writers == r.Writers && b.AppendsPerSec > 0 {
				fmt.Fprintf(w, "fsync/no-fsync throughput, %s, %d writers: %.2f\n", r.Commit, r.Writers, r.AppendsPerSec/b.AppendsPerSec)
			}
		}
	}
	for _, r := range rep.Results {
		if r.FirstError != "" {
			fmt.Fprintf(w, "first error (fsync=%t %s, %d writers): %s\n", r.Fsync, r.Commit, r.Writers, r.FirstError)
		}
	}
}
