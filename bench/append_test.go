package bench

import (
	"context"
	"testing"
	"time"

	"github.com/actorweave/actorweave/persistence"
)

// TestRunAppendSmoke runs the append benchmark for a fraction of a second: it checks the benchmark
// works and reports coherent numbers, not how fast it is.
func TestRunAppendSmoke(t *testing.T) {
	rep, err := RunAppend(context.Background(), AppendConfig{
		Writers:   []int{1, 4},
		Processes: 8,
		Duration:  100 * time.Millisecond,
		Dir:       t.TempDir(),
		Fsync:     []bool{true, false},
		Commit:    []persistence.CommitMode{persistence.CommitPipeline, persistence.CommitSerial},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 8 {
		t.Fatalf("%d results, want 8", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Errors != 0 {
			t.Errorf("%+v: %d append errors, first: %s", r, r.Errors, r.FirstError)
		}
		if r.Appends == 0 || r.AppendsPerSec <= 0 {
			t.Errorf("%+v: no appends", r)
		}
		if !(r.P50Ms <= r.P99Ms && r.P99Ms <= r.MaxMs) {
			t.Errorf("%+v: percentiles out of order", r)
		}
		if r.Fsync && r.WALSyncs == 0 {
			t.Errorf("%+v: fsync run made no WAL sync", r)
		}
		// Pebble syncs the WAL on its own now and then (rotation, flush); never per append.
		if !r.Fsync && r.WALSyncs*10 > r.Appends {
			t.Errorf("%+v: no-fsync run made %d WAL syncs", r, r.WALSyncs)
		}
	}
}

func TestRunAppendRejectsMoreWritersThanProcesses(t *testing.T) {
	_, err := RunAppend(context.Background(), AppendConfig{Writers: []int{5}, Processes: 4, Duration: time.Millisecond, Dir: t.TempDir()})
	if err == nil {
		t.Fatal("5 writers over 4 processes accepted")
	}
}

// TestRunAppendOpenLoop: with a rate, the run offers about that many appends per second (60 here;
// never more, and a loaded CI machine may fall behind, hence the low floor).
func TestRunAppendOpenLoop(t *testing.T) {
	rep, err := RunAppend(context.Background(), AppendConfig{Writers: []int{4}, Processes: 8,
		Duration: 300 * time.Millisecond, Dir: t.TempDir(), Fsync: []bool{true}, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Errors != 0 || r.Appends < 5 || r.Appends > 70 || r.OfferedRate != 200 {
		t.Fatalf("open loop at 200/s for 0.3 s: %+v", r)
	}
}
