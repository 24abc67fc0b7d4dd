package bench

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewLatencyPercentilesAndHistogram(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, out of order
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := NewLatency("x", s)
	if l.Count != 100 || l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Fatalf("%+v", l)
	}
	total := 0
	for i, c := range l.Counts {
		total += c
		if i > 0 && l.Bounds[i] <= l.Bounds[i-1] {
			t.Fatalf("bounds not increasing: %v", l.Bounds)
		}
	}
	if total != 100 || l.Bounds[len(l.Bounds)-1] < 100 {
		t.Fatalf("histogram %v / %v holds %d samples", l.Bounds, l.Counts, total)
	}
	// 1, 2 and 5 ms are bucket bounds: the samples 1 and 2 ms are in their own buckets.
	for i, b := range l.Bounds {
		if (b == 1 || b == 2) && l.Counts[i] != 1 {
			t.Fatalf("bucket <= %v ms holds %d", b, l.Counts[i])
		}
	}
	if last := l.CDF[len(l.CDF)-1]; last != [2]float64{100, 1} {
		t.Fatalf("CDF ends at %v", last)
	}
	if e := NewLatency("empty", nil); e.Count != 0 || e.CDF != nil {
		t.Fatalf("%+v", e)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := NewReport("demo")
	r.Param("clients", 4, "")
	r.Figure("acked", 10, "msgs")
	r.Figure("acked", 12, "msgs") // replaces
	r.AddLatency("", NewLatencyMs("ack", []float64{1, 2, 3}))
	r.Finish()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Figures.Float("acked") != 12 || back.Figures.Float("p99") != 3 || back.Params.Float("clients") != 4 || back.Machine.Cores == 0 {
		t.Fatalf("%+v", back)
	}
	b, _ := json.Marshal(r.Figures)
	if !strings.HasPrefix(string(b), `{"acked":{"value":12,"unit":"msgs"},"p50":`) {
		t.Fatalf("figures JSON %s", b)
	}
	var sb strings.Builder
	r.WriteText(&sb)
	if !strings.Contains(sb.String(), "acked") || !strings.Contains(sb.String(), "load average") {
		t.Fatal(sb.String())
	}
}

func TestSeriesRates(t *testing.T) {
	s := Series{Points: [][2]float64{{0, 0}, {0.5, 100}, {1, 100}, {2, 400}}}
	got := s.Rates()
	want := [][2]float64{{0.5, 200}, {1, 0}, {2, 300}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}
