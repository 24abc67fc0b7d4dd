package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// ScaleConfig is the `scale` scenario: the ingest scenario at every (GOMAXPROCS, processes) point,
// to show how cost grows with work and with cores.
//
// Each point runs in a child process (`Exe bench ingest ... --out FILE`, GOMAXPROCS in its
// environment) rather than calling runtime.GOMAXPROCS between points in this process: a fresh
// process starts every point alike (heap size and GC pacing, Pebble caches, wazero's compiled
// code, goroutine pools sized from GOMAXPROCS at start), and its CPU time and peak RSS are its own.
// The cost is a start-up and a module compilation per point, outside the measured window.
type ScaleConfig struct {
	Exe        string   // the actorweave binary (os.Executable())
	IngestArgs []string // flags given to every `bench ingest` child (module, clients, messages...)
	Processes  []int
	GOMAXPROCS []int
	// Env is added to the children's environment.
	Env      []string
	Progress io.Writer
}

// RunScale runs the scenario. The report has one run per point (the child's whole ingest report),
// a table, and the figures points, best_acked_per_sec, best_evaluated_per_sec and, for the largest
// process count, speedup_acked and speedup_evaluated (rate at the largest GOMAXPROCS ÷ at the
// smallest: 1.0 means more cores did not help).
func RunScale(ctx context.Context, cfg ScaleConfig) (*Report, error) {
	rep := NewReport("scale")
	rep.Param("processes", fmt.Sprint(cfg.Processes), "")
	rep.Param("gomaxprocs", fmt.Sprint(cfg.GOMAXPROCS), "")
	rep.Param("ingest_args", fmt.Sprint(cfg.IngestArgs), "")
	if len(cfg.Processes) == 0 || len(cfg.GOMAXPROCS) == 0 || cfg.Exe == "" {
		return nil, errors.New("bench: scale needs process counts, GOMAXPROCS values and the binary")
	}
	progress := orDiscard(cfg.Progress)
	dir, err := os.MkdirTemp("", "actorweave-bench-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep.Table = &Table{Columns: []string{"gomaxprocs", "processes", "acked/s", "evaluated/s", "p50 ms", "p99 ms", "cpu ms/msg", "ack cpu ms/msg", "cpu cores", "peak RSS MiB", "cpu/msg ÷ first", "load"}}
	bar := StartProgress(progress, &Report{}, "scale points", "points", len(cfg.Processes)*len(cfg.GOMAXPROCS))
	defer bar.Stop()
	var firstCost float64
	var best, bestEval float64
	byPoint := map[[2]int]*Report{}
	for _, g := range cfg.GOMAXPROCS {
		for _, p := range cfg.Processes {
			out := filepath.Join(dir, fmt.Sprintf("g%d-p%d.json", g, p))
			args := append([]string{"bench", "ingest"}, cfg.IngestArgs...)
			args = append(args, "--processes", strconv.Itoa(p), "--out", out)
			cmd := exec.CommandContext(ctx, cfg.Exe, args...)
			cmd.Env = append(append(os.Environ(), cfg.Env...), "GOMAXPROCS="+strconv.Itoa(g))
			var stderr limitedBuffer
			cmd.Stderr, cmd.Stdout = &stderr, io.Discard
			fmt.Fprintf(progress, "scale point: GOMAXPROCS=%d, %d processes\n", g, p)
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("bench: scale point GOMAXPROCS=%d processes=%d: %w: %s", g, p, err, stderr.String())
			}
			run, err := ReadReport(out)
			if err != nil {
				return nil, err
			}
			run.Param("gomaxprocs", g, "")
			rep.Runs = append(rep.Runs, run)
			byPoint[[2]int{g, p}] = run
			f := run.Figures
			acked := f.Float("acked")
			cost := f.Float("cpu") * 1000 / max(acked, 1)
			if firstCost == 0 {
				firstCost = cost
			}
			best, bestEval = max(best, f.Float("acked_per_sec")), max(bestEval, f.Float("evaluated_per_sec"))
			rep.Table.Rows = append(rep.Table.Rows, []string{strconv.Itoa(g), strconv.Itoa(p),
				fmt.Sprintf("%.0f", f.Float("acked_per_sec")), fmt.Sprintf("%.0f", f.Float("evaluated_per_sec")),
				fmt.Sprintf("%.2f", f.Float("p50")), fmt.Sprintf("%.2f", f.Float("p99")), fmt.Sprintf("%.3f", cost), fmt.Sprintf("%.3f", f.Float("ack_cpu_ms_per_msg")),
				fmt.Sprintf("%.2f", f.Float("cpu_cores")), fmt.Sprintf("%.0f", f.Float("rss")/(1<<20)),
				fmt.Sprintf("%.2f", cost/max(firstCost, 1e-9)), fmt.Sprintf("%.2f", run.LoadAfter)})
			bar.Add(1)
		}
	}
	bar.Stop()
	rep.Figure("points", float64(len(rep.Runs)), "")
	rep.Figure("best_acked_per_sec", best, "msgs/s")
	rep.Figure("best_evaluated_per_sec", bestEval, "msgs/s")
	pmax := cfg.Processes[len(cfg.Processes)-1]
	lo, hi := byPoint[[2]int{cfg.GOMAXPROCS[0], pmax}], byPoint[[2]int{cfg.GOMAXPROCS[len(cfg.GOMAXPROCS)-1], pmax}]
	if lo != nil && hi != nil && lo.Figures.Float("acked_per_sec") > 0 {
		rep.Figure("speedup_acked", hi.Figures.Float("acked_per_sec")/lo.Figures.Float("acked_per_sec"), "x")
		if e := lo.Figures.Float("evaluated_per_sec"); e > 0 {
			rep.Figure("speedup_evaluated", hi.Figures.Float("evaluated_per_sec")/e, "x")
		}
	}
	rep.Note("each point is a child process (bench ingest) with GOMAXPROCS set; cpu ms/msg is the child's CPU time (node + load generator, evaluation included) per acknowledged message; ack cpu ms/msg is that of the acknowledgement phase alone")
	return rep.Finish(), nil
}
