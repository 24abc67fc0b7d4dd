package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/bench"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestMain lets the test binary stand in for actorweave when `bench scale` starts children: they
// are started from os.Executable(), which in a test is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" {
		root := newRootCmd()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, "actorweave:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	wasmcache.Main(m) // runs the tests, then removes the nodes' shared compilation cache
}

// TestBenchScenariosSmoke runs every registered scenario for a second or two with tiny parameters,
// as CI's smoke pass, on the default module (the embedded benchmark module) and, for the scenarios
// marked Lua, again on the aos-like Lua module: the run must succeed and its JSON report must hold
// the scenario's key figures, each a non-zero number, with the machine and the resources filled in,
// and the plot must be written. It does not judge the numbers.
func TestBenchScenariosSmoke(t *testing.T) {
	root := testutil.RepoRoot(t)
	lua := testutil.Module(t, "aoslike")
	testutil.NodeDir(t) // the eval scenario runs the reference loader
	t.Chdir(root)       // the reference loader script is relative to the repository
	if len(sortedBenchScenarios()) < 6 {
		t.Fatalf("only %d scenarios registered", len(sortedBenchScenarios()))
	}
	luaPath := filepath.Join(t.TempDir(), "aoslike.wasm")
	if err := os.WriteFile(luaPath, lua, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range sortedBenchScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			if len(s.Smoke) == 0 || len(s.Keys) == 0 {
				t.Fatalf("scenario %s registers no smoke arguments or key figures", s.Name)
			}
			t.Run("embedded", func(t *testing.T) { smokeBench(t, s, nil, "benchmodule") })
			if s.Lua {
				t.Run("lua", func(t *testing.T) { smokeBench(t, s, []string{"--module", luaPath}, "lua") })
			}
		})
	}
}

// smokeBench runs scenario s with its smoke arguments and extra, and checks the report; a
// scenario that reports the program its module was sent must report program.
func smokeBench(t *testing.T, s benchScenario, extra []string, program string) {
	dir := t.TempDir()
	out, plot := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	cmd := newRootCmd()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	args := append(append(append([]string{"bench", s.Name}, s.Smoke...), extra...), "--out", out)
	if !s.NoPlot {
		args = append(args, "--plot", plot)
	}
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("bench %s: %v\nstderr:\n%s", s.Name, err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), s.Name) || !strings.Contains(stdout.String(), "load") {
		t.Errorf("summary does not look like one:\n%s", stdout.String())
	}
	rep, err := bench.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenario != s.Name {
		t.Errorf("report scenario %q", rep.Scenario)
	}
	if p, ok := rep.Params.Get("program"); ok && fmt.Sprint(p.Value) != program {
		t.Errorf("report program %v, want %s", p.Value, program)
	}
	for _, k := range s.Keys {
		if v := rep.Figures.Float(k); !(v > 0) {
			got, ok := rep.Figures.Get(k)
			t.Errorf("figure %s = %v (present %t), want a positive number", k, got.Value, ok)
		}
	}
	if s.Check != nil {
		if err := s.Check(rep); err != nil {
			t.Errorf("%s: %v\n%s", s.Name, err, stdout.String())
		}
	}
	m := rep.Machine
	if m.Cores <= 0 || m.GoVersion == "" || m.MemoryBytes == 0 || rep.PeakRSSBytes == 0 || rep.Seconds <= 0 {
		t.Errorf("machine or resources missing: %+v, peak RSS %d, %f s", m, rep.PeakRSSBytes, rep.Seconds)
	}
	for _, l := range rep.Latencies {
		if l.Count == 0 || len(l.CDF) == 0 || !(l.P50 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("latency %s: %+v", l.Name, l)
		}
	}
	if fi, err := os.Stat(plot); !s.NoPlot && (err != nil || fi.Size() == 0) {
		t.Errorf("plot not written: %v", err)
	}
}

// TestBenchPlotRefusesUnknownExtension: --plot names the format by its extension.
func TestBenchPlotRefusesUnknownExtension(t *testing.T) {
	r := bench.NewReport("x").Finish()
	if err := r.Plot(filepath.Join(t.TempDir(), "p.gif")); err == nil {
		t.Fatal("a .gif plot was accepted")
	}
}
