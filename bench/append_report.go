package bench

import (
	"fmt"
)

// Fill copies the append results into rep (started with NewReport("append") before RunAppend):
// one run per (fsync, commit, writers) combination with all its figures, a table, and the
// top-level figures appends_per_sec_{fsync,nofsync}_{commit}_w{N} and fsync_ratio_{commit}_w{N}
// (durable ÷ no-fsync throughput, both from this run).
func (a AppendReport) Fill(rep *Report) *Report {
	rep.Param("duration_per_run", a.DurationPerRun, "")
	rep.Param("assignment_bytes", a.AssignmentBytes, "bytes")
	rep.Param("message_bytes", a.MessageBytes, "bytes")
	rep.Table = &Table{Columns: []string{"fsync", "commit", "writers", "appends/s", "p50 ms", "p99 ms", "max ms", "appends/fsync", "CPU µs/append", "load"}}
	rate := map[string]float64{}
	for _, r := range a.Results {
		run := &Report{Scenario: "append", Started: a.Started, Machine: a.Machine}
		run.Param("fsync", r.Fsync, "")
		run.Param("commit", r.Commit, "")
		run.Param("writers", r.Writers, "")
		run.Param("processes", r.Processes, "")
		if r.OfferedRate > 0 {
			run.Param("offered_rate", r.OfferedRate, "appends/s")
		}
		run.Figure("appends", float64(r.Appends), "appends")
		run.Figure("errors", float64(r.Errors), "appends")
		run.Figure("appends_per_sec", r.AppendsPerSec, "appends/s")
		run.Figure("p50", r.P50Ms, "ms")
		run.Figure("p99", r.P99Ms, "ms")
		run.Figure("max", r.MaxMs, "ms")
		run.Figure("wal_syncs", float64(r.WALSyncs), "fsyncs")
		run.Figure("appends_per_sync", r.AppendsPerSync, "appends")
		run.Figure("peak_heap", float64(r.PeakHeapBytes), "bytes")
		run.Figure("peak_rss", float64(r.PeakRSSBytes), "bytes")
		run.Figure("write_stalls", float64(r.WriteStalls), "")
		run.Figure("cpu_per_append_us", r.CPUPerAppendUs, "µs")
		run.Figure("load_avg_1m", r.LoadAvg, "")
		if r.FirstError != "" {
			run.Note("first error: %s", r.FirstError)
		}
		rep.Runs = append(rep.Runs, run)
		mode := "nofsync"
		if r.Fsync {
			mode = "fsync"
		}
		key := fmt.Sprintf("%s_w%d", r.Commit, r.Writers)
		rate[mode+"_"+key] = r.AppendsPerSec
		rep.Figure("appends_per_sec_"+mode+"_"+key, r.AppendsPerSec, "appends/s")
		rep.Table.Rows = append(rep.Table.Rows, []string{fmt.Sprint(r.Fsync), r.Commit, fmt.Sprint(r.Writers),
			fmt.Sprintf("%.0f", r.AppendsPerSec), fmt.Sprintf("%.2f", r.P50Ms), fmt.Sprintf("%.2f", r.P99Ms), fmt.Sprintf("%.2f", r.MaxMs),
			fmt.Sprintf("%.1f", r.AppendsPerSync), fmt.Sprintf("%.0f", r.CPUPerAppendUs), fmt.Sprintf("%.1f", r.LoadAvg)})
	}
	for _, r := range a.Results {
		key := fmt.Sprintf("%s_w%d", r.Commit, r.Writers)
		if f, b := rate["fsync_"+key], rate["nofsync_"+key]; r.Fsync && b > 0 {
			rep.Figure("fsync_ratio_"+key, f/b, "x")
		}
	}
	return rep.Finish()
}
