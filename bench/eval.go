package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/actorweave/actorweave/runtime"
)

// EvalConfig is the `eval` scenario: one module evaluating N messages in a row, in actorweave's
// runtime and in the reference loader (@permaweb/ao-loader under Node, default mode and
// UNSAFE_MEMORY mode), each round running the three in turn so that they share the machine's
// conditions.
type EvalConfig struct {
	Module     []byte
	ModulePath string // the same module as a file, for the reference loader (empty: a temporary copy)
	Format     string
	Messages   int
	Rounds     int
	// Data is the Eval every message carries (empty: the module's counter, Program.Counter).
	Data string
	// Reference runs the reference loader (needs Node and `make deps`); false measures actorweave alone.
	Reference bool
	// NoReference, when Reference is false, says why (a note in the report).
	NoReference string
	// NodeScript is testdata/node/aoloader-run.cjs; Node is the node binary.
	NodeScript string
	Node       string
	Progress   io.Writer
}

// DefaultEvalConfig: 2,000 messages, 3 rounds, the module's counter Eval.
func DefaultEvalConfig() EvalConfig {
	return EvalConfig{Format: "wasm32-unknown-emscripten2", Messages: 2000, Rounds: 3,
		Reference: true, NodeScript: "testdata/node/aoloader-run.cjs", Node: "node"}
}

// evalEnv is the env every message gets, as aoloader-run.cjs and `actorweave eval` give it.
const evalEnv = `{"Process":{"Id":"PROCESS","Owner":"OWNER","Tags":[]}}`

// evalMessage is message i as aoloader-run.cjs builds it (same fields, same order, as
// JSON.stringify writes them), so that both sides evaluate the same bytes.
func evalMessage(i int, data string) []byte {
	d, _ := json.Marshal(data)
	return []byte(`{"Id":"` + strconv.Itoa(i) + `","Owner":"OWNER","From":"OWNER","Target":"PROCESS","Module":"MODULE","Timestamp":"0","Block-Height":"0","Tags":[{"name":"Action","value":"Eval"}],"Data":` + string(d) + `}`)
}

// referenceRun is what aoloader-run.cjs prints in bench mode.
type referenceRun struct {
	Mode       string  `json:"mode"`
	N          int     `json:"n"`
	Seconds    float64 `json:"seconds"`
	Rate       float64 `json:"rate"`
	CPUSeconds float64 `json:"cpuSeconds"`
	CPURate    float64 `json:"cpuRate"`
}

// RunEval runs the scenario. Figures (medians over the rounds): actorweave_msgs_per_sec and
// actorweave_cpu_msgs_per_sec (messages per second of CPU time: less disturbed by a shared
// machine), the same for aoloader_default and aoloader_unsafe, and the ratios actorweave ÷ each.
// Both sides are timed around the message loop only (module compiled and instantiated before).
func RunEval(ctx context.Context, cfg EvalConfig) (*Report, error) {
	rep := NewReport("eval")
	cfg.Data = evalData(programFor(cfg.Module), cfg.Data)
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("messages", cfg.Messages, "")
	rep.Param("rounds", cfg.Rounds, "")
	rep.Param("format", cfg.Format, "")
	rep.Param("data", cfg.Data, "")
	if cfg.Messages <= 0 || cfg.Rounds <= 0 {
		return nil, errors.New("bench: messages and rounds must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	if cfg.Reference {
		if err := ReferenceMissing(cfg); err != nil {
			return nil, fmt.Errorf("bench: %w (or --reference=false)", err)
		}
		if cfg.ModulePath == "" {
			f, err := os.CreateTemp("", "actorweave-bench-eval-*.wasm")
			if err != nil {
				return nil, err
			}
			defer os.Remove(f.Name())
			_, err = f.Write(cfg.Module)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
			cfg.ModulePath = f.Name()
		}
	} else if cfg.NoReference != "" {
		rep.Note("the reference loader did not run: %s", cfg.NoReference)
	}
	msgs := make([][]byte, cfg.Messages)
	for i := range msgs {
		msgs[i] = evalMessage(i, cfg.Data)
	}
	eng, err := runtime.NewEngine(ctx, runtime.DefaultConfig())
	if err != nil {
		return nil, err
	}
	defer eng.Close(ctx)
	mod, err := eng.Compile(ctx, cfg.Module, cfg.Format)
	if err != nil {
		return nil, err
	}
	var aw, awCPU, def, defCPU, uns, unsCPU []float64
	var lat []time.Duration
	rep.Table = &Table{Columns: []string{"round", "actorweave msgs/s", "(cpu)", "ao-loader default", "(cpu)", "ao-loader UNSAFE_MEMORY", "(cpu)", "aw ÷ default", "aw ÷ unsafe"}}
	for r := 1; r <= cfg.Rounds; r++ {
		inst, err := eng.Instantiate(ctx, mod, runtime.Limits{})
		if err != nil {
			return nil, err
		}
		bar := StartProgress(progress, rep, fmt.Sprintf("actorweave round %d", r), "msgs", cfg.Messages)
		cpu0, t0 := cpuSeconds(), time.Now()
		for i, m := range msgs {
			s := time.Now()
			res, err := inst.Handle(ctx, m, []byte(evalEnv))
			if err != nil {
				bar.Stop()
				inst.Close(ctx)
				return nil, fmt.Errorf("bench: actorweave, message %d: %w", i, err)
			}
			if res.Error != "" {
				bar.Stop()
				inst.Close(ctx)
				return nil, fmt.Errorf("bench: actorweave, message %d errored: %s", i, res.Error)
			}
			lat = append(lat, time.Since(s))
			bar.Add(1)
		}
		wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
		bar.Stop()
		inst.Close(ctx)
		aw, awCPU = append(aw, float64(cfg.Messages)/wall), append(awCPU, float64(cfg.Messages)/cpu)
		row := []string{strconv.Itoa(r), fmt.Sprintf("%.0f", aw[r-1]), fmt.Sprintf("%.0f", awCPU[r-1])}
		if cfg.Reference {
			for _, unsafe := range []bool{false, true} {
				fmt.Fprintf(progress, "ao-loader (unsafe memory %t) round %d: %d messages\n", unsafe, r, cfg.Messages)
				ref, err := runReference(ctx, cfg, unsafe)
				if err != nil {
					return nil, err
				}
				if unsafe {
					uns, unsCPU = append(uns, ref.Rate), append(unsCPU, ref.CPURate)
				} else {
					def, defCPU = append(def, ref.Rate), append(defCPU, ref.CPURate)
				}
				row = append(row, fmt.Sprintf("%.0f", ref.Rate), fmt.Sprintf("%.0f", ref.CPURate))
			}
			row = append(row, fmt.Sprintf("%.1fx", aw[r-1]/def[r-1]), fmt.Sprintf("%.1fx", aw[r-1]/uns[r-1]))
		}
		rep.Table.Rows = append(rep.Table.Rows, row)
	}
	rep.Figure("actorweave_msgs_per_sec", median(aw), "msgs/s")
	rep.Figure("actorweave_cpu_msgs_per_sec", median(awCPU), "msgs/cpu-s")
	rep.AddLatency("actorweave_", NewLatency("actorweave handle", lat))
	if cfg.Reference {
		rep.Figure("aoloader_default_msgs_per_sec", median(def), "msgs/s")
		rep.Figure("aoloader_default_cpu_msgs_per_sec", median(defCPU), "msgs/cpu-s")
		rep.Figure("aoloader_unsafe_msgs_per_sec", median(uns), "msgs/s")
		rep.Figure("aoloader_unsafe_cpu_msgs_per_sec", median(unsCPU), "msgs/cpu-s")
		rep.Figure("ratio_vs_default", median(ratios(aw, def)), "x")
		rep.Figure("ratio_vs_unsafe", median(ratios(aw, uns)), "x")
		rep.Figure("cpu_ratio_vs_default", median(ratios(awCPU, defCPU)), "x")
		rep.Figure("cpu_ratio_vs_unsafe", median(ratios(awCPU, unsCPU)), "x")
	} else {
		rep.Table = nil
	}
	rep.Note("both sides timed around the message loop, neither hashes memory; ao-loader default mode passes the memory in and out of every message as a CU does, UNSAFE_MEMORY does not")
	return rep.Finish(), nil
}

// ReferenceMissing says what the reference loader lacks to run (nil: it can run): the driver
// script, Node, or the npm packages `make deps` installs next to the script.
func ReferenceMissing(cfg EvalConfig) error {
	if _, err := os.Stat(cfg.NodeScript); err != nil {
		return fmt.Errorf("reference loader script: %w (run make deps)", err)
	}
	if _, err := exec.LookPath(cfg.Node); err != nil {
		return fmt.Errorf("%w (install Node with make deps)", err)
	}
	loader := filepath.Join(filepath.Dir(cfg.NodeScript), "node_modules", "@permaweb", "ao-loader")
	if _, err := os.Stat(loader); err != nil {
		return fmt.Errorf("@permaweb/ao-loader is not installed next to %s (run make deps)", cfg.NodeScript)
	}
	return nil
}

// runReference runs aoloader-run.cjs in bench mode. Its options are environment variables (the
// glue passes node's arguments to the module's main, which would change the module's behaviour).
func runReference(ctx context.Context, cfg EvalConfig, unsafe bool) (referenceRun, error) {
	var out referenceRun
	cmd := exec.CommandContext(ctx, cfg.Node, append(NodeFlags(cfg.Format), cfg.NodeScript)...)
	cmd.Env = append(os.Environ(), "AW_MODULE="+cfg.ModulePath, "AW_FORMAT="+cfg.Format,
		"AW_BENCH="+strconv.Itoa(cfg.Messages), "AW_BENCH_DATA="+cfg.Data)
	if unsafe {
		cmd.Env = append(cmd.Env, "AW_UNSAFE_MEMORY=1")
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("bench: reference loader: %w: %s", err, stderr.String())
	}
	if err := json.Unmarshal(b, &out); err != nil || out.N != cfg.Messages {
		return out, fmt.Errorf("bench: reference loader printed %q (%v)", b, err)
	}
	return out, nil
}

// NodeFlags are the node options the reference loader needs for a format: wasm64 modules need
// node 20's experimental memory64 (node options are not in process.argv, so the module's main
// does not see them).
func NodeFlags(format string) []string {
	if strings.HasPrefix(format, "wasm64-") {
		return []string{"--experimental-wasm-memory64"}
	}
	return nil
}

// limitedBuffer keeps the last 4 KiB written (a child's stderr, for the error message).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 4096 {
		l.b = l.b[len(l.b)-4096:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratios(a, b []float64) []float64 {
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
