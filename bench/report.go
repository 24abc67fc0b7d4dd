package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what every scenario returns: its parameters, its figures (named values with units),
// its latency distributions, its throughput over time, the resources it used and the machine. One
// type for all scenarios, so that the table, the JSON and the plot are written once.
type Report struct {
	Scenario string    `json:"scenario"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"` // wall time of the whole scenario, set-up included
	Params   Values    `json:"params"`
	Figures  Values    `json:"figures"`
	// Latencies are the measured distributions (acknowledgement, hop, wake...), in milliseconds.
	Latencies []*Latency `json:"latencies,omitempty"`
	// Series are throughput samples over time (one per progress counter).
	Series []*Series `json:"series,omitempty"`
	// Runs are sub-reports of a scenario made of several runs (scale: one per point).
	Runs []*Report `json:"runs,omitempty"`
	// Table, when set, is a summary of several rounds or runs, printed before the figures.
	Table *Table `json:"table,omitempty"`
	// Resources: CPU time (user+system) of this process during the scenario, peak resident set
	// (VmHWM) and the 1-minute load average before and after: the machine is shared, and a load
	// above the core count means the figures understate the code.
	CPUSeconds   float64  `json:"cpu_seconds"`
	PeakRSSBytes uint64   `json:"peak_rss_bytes"`
	LoadBefore   float64  `json:"load_avg_1m_before"`
	LoadAfter    float64  `json:"load_avg_1m_after"`
	Machine      Machine  `json:"machine"`
	Notes        []string `json:"notes,omitempty"`

	cpu0 float64
}

// NewReport starts a report: it records the start time, CPU time and load average.
func NewReport(scenario string) *Report {
	return &Report{Scenario: scenario, Started: time.Now().UTC(), cpu0: cpuSeconds(), LoadBefore: loadAvg(), Machine: ThisMachine()}
}

// Finish records the resources used since NewReport.
func (r *Report) Finish() *Report {
	r.Seconds = time.Since(r.Started).Seconds()
	r.CPUSeconds = cpuSeconds() - r.cpu0
	r.PeakRSSBytes = peakRSS()
	r.LoadAfter = loadAvg()
	return r
}

// Param records a parameter of the run.
func (r *Report) Param(name string, v any, unit string) { r.Params.Set(name, v, unit) }

// Figure records a measured value.
func (r *Report) Figure(name string, v float64, unit string) { r.Figures.Set(name, v, unit) }

// Note records a remark printed under the table (what limits the figures, a failed step...).
func (r *Report) Note(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }

// Value is one named value with its unit.
type Value struct {
	Name  string
	Value any
	Unit  string
}

// Values keeps insertion order (for the table) and marshals as a JSON object keyed by name, each
// {"value": v, "unit": u}, so that `jq .figures.acked.value` works.
type Values []Value

// Set adds or replaces a value.
func (vs *Values) Set(name string, v any, unit string) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		v = nil // JSON has no NaN; a missing figure is null
	}
	for i := range *vs {
		if (*vs)[i].Name == name {
			(*vs)[i] = Value{name, v, unit}
			return
		}
	}
	*vs = append(*vs, Value{name, v, unit})
}

// Get returns a value by name.
func (vs Values) Get(name string) (Value, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return Value{}, false
}

// Float returns a numeric value by name (0 when missing or not a number).
func (vs Values) Float(name string) float64 {
	v, _ := vs.Get(name)
	switch x := v.Value.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return 0
}

type jsonValue struct {
	Value any    `json:"value"`
	Unit  string `json:"unit,omitempty"`
}

func (vs Values) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(v.Name)
		val, err := json.Marshal(jsonValue{v.Value, v.Unit})
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (vs *Values) UnmarshalJSON(data []byte) error {
	// Order is lost on the way back (JSON objects are unordered); sort by name for stability.
	var m map[string]jsonValue
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*vs = (*vs)[:0]
	for k, v := range m {
		*vs = append(*vs, Value{k, v.Value, v.Unit})
	}
	sort.Slice(*vs, func(i, j int) bool { return (*vs)[i].Name < (*vs)[j].Name })
	return nil
}

// Latency is a latency distribution in milliseconds: percentiles, a log-scale histogram and the
// CDF points the plot draws.
type Latency struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	// Histogram buckets: Counts[i] samples were <= Bounds[i] ms (and above Bounds[i-1]).
	Bounds []float64 `json:"bucket_upper_ms"`
	Counts []int     `json:"bucket_counts"`
	// CDF is up to ~200 (latency ms, fraction <=) points.
	CDF [][2]float64 `json:"cdf"`
}

// NewLatency summarises samples (any order). Zero samples give a zero distribution.
func NewLatency(name string, samples []time.Duration) *Latency {
	ms := make([]float64, len(samples))
	for i, d := range samples {
		ms[i] = float64(d.Nanoseconds()) / 1e6
	}
	return NewLatencyMs(name, ms)
}

// NewLatencyMs is NewLatency for samples already in milliseconds.
func NewLatencyMs(name string, ms []float64) *Latency {
	l := &Latency{Name: name, Count: len(ms)}
	if len(ms) == 0 {
		return l
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max = sum/float64(len(s)), q(.5), q(.9), q(.99), q(.999), s[len(s)-1]
	// Buckets at 1, 2, 5 × 10^k ms from 10 µs, up to the first bound above the max.
	for b := 0.01; ; {
		l.Bounds = append(l.Bounds, b)
		if b >= l.Max {
			break
		}
		switch d := b / math.Pow(10, math.Floor(math.Log10(b)+1e-9)); {
		case d < 1.5:
			b *= 2
		case d < 3:
			b *= 2.5
		default:
			b *= 2
		}
		b = math.Round(b*1e6) / 1e6
	}
	l.Counts = make([]int, len(l.Bounds))
	j := 0
	for _, v := range s {
		for j < len(l.Bounds)-1 && v > l.Bounds[j] {
			j++
		}
		l.Counts[j]++
	}
	step := max(1, len(s)/200)
	for i := 0; i < len(s); i += step {
		l.CDF = append(l.CDF, [2]float64{s[i], float64(i+1) / float64(len(s))})
	}
	if last := l.CDF[len(l.CDF)-1]; last[1] < 1 {
		l.CDF = append(l.CDF, [2]float64{s[len(s)-1], 1})
	}
	return l
}

// AddLatency attaches a distribution and copies its percentiles into the figures as
// prefix+"p50", "p90", "p99", "max" (prefix "" gives the plain keys the ingest report promises).
func (r *Report) AddLatency(prefix string, l *Latency) {
	r.Latencies = append(r.Latencies, l)
	r.Figure(prefix+"p50", l.P50, "ms")
	r.Figure(prefix+"p90", l.P90, "ms")
	r.Figure(prefix+"p99", l.P99, "ms")
	r.Figure(prefix+"max", l.Max, "ms")
}

// Series is a counter sampled over time: Points are (seconds since start, count so far).
type Series struct {
	Name   string       `json:"name"`
	Unit   string       `json:"unit"`
	Points [][2]float64 `json:"points"`
}

// Rates is the throughput between successive points: (interval end, units/s).
func (s *Series) Rates() [][2]float64 {
	var out [][2]float64
	for i := 1; i < len(s.Points); i++ {
		dt := s.Points[i][0] - s.Points[i-1][0]
		if dt > 0 {
			out = append(out, [2]float64{s.Points[i][0], (s.Points[i][1] - s.Points[i-1][1]) / dt})
		}
	}
	return out
}

// Table is a summary of several runs: one row per run, one column per figure.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// WriteText prints the human summary: parameters, a table of figures (or the scenario's own table),
// latency percentiles, resources and notes.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s: ", r.Scenario)
	for i, p := range r.Params {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s=%v%s", p.Name, p.Value, unitSuffix(p.Unit))
	}
	fmt.Fprintln(w)
	if r.Table != nil {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(r.Table.Columns, "\t")+"\t")
		for _, row := range r.Table.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		tw.Flush()
	}
	if len(r.Figures) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "figure\tvalue\tunit\t")
		for _, f := range r.Figures {
			v, u := f.Value, f.Unit
			if x, ok := v.(float64); ok && u == "bytes" && x >= 1<<20 {
				v, u = x/(1<<20), "MiB"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", f.Name, formatValue(v), u)
		}
		tw.Flush()
	}
	if len(r.Latencies) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "latency ms\tcount\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
		for _, l := range r.Latencies {
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", l.Name, l.Count, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "cpu %.2f s over %.2f s wall, peak RSS %.0f MiB, load average %.2f -> %.2f on %d cores (%s, %s, commit %s)\n",
		r.CPUSeconds, r.Seconds, float64(r.PeakRSSBytes)/(1<<20), r.LoadBefore, r.LoadAfter, r.Machine.Cores,
		r.Machine.CPUModel, r.Machine.GoVersion, r.Machine.Commit)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		switch a := math.Abs(x); {
		case a == 0:
			return "0"
		case x == math.Trunc(x) && a < 1e15:
			return fmt.Sprintf("%.0f", x)
		case a >= 1000:
			return fmt.Sprintf("%.0f", x)
		case a >= 10:
			return fmt.Sprintf("%.1f", x)
		case a >= 0.1:
			return fmt.Sprintf("%.3f", x)
		default:
			return fmt.Sprintf("%.4g", x)
		}
	}
	return fmt.Sprint(v)
}

// WriteJSON writes the report, indented, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteJSON (the scale scenario reads its children's).
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
