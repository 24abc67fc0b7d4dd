package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/bench"
	"github.com/actorweave/actorweave/bench/benchmodule"
	"github.com/actorweave/actorweave/node"
)

// benchScenario is one `actorweave bench SCENARIO` verb that reports through bench.Report. A
// scenario plugs in from its own file with an init() that calls registerBenchScenario: nothing
// else to edit, and the CI smoke test (bench_smoke_test.go) runs it with Smoke and checks Keys.
type benchScenario struct {
	Name   string
	NewCmd func() *cobra.Command
	// Smoke are the arguments (after `bench NAME`) of a run of a second or two with tiny parameters.
	Smoke []string
	// Keys are figures the smoke test requires in the report, each non-zero.
	Keys []string
	// NoPlot: the report has no series or latency distribution (--plot refuses it).
	NoPlot bool
	// Check, when set, makes assertions of the scenario's own on the smoke run's report (say, no
	// message lost) beyond Keys; an error fails the smoke test.
	Check func(*bench.Report) error
	// Lua: the smoke test also runs the scenario with the aos-like Lua module (--module
	// testdata/build/wasm/aoslike.wasm), besides the embedded default: for the scenarios whose
	// messages differ between the two (bench.Program).
	Lua bool
}

var benchScenarios = map[string]benchScenario{}

func registerBenchScenario(s benchScenario) {
	if _, dup := benchScenarios[s.Name]; dup {
		panic("bench scenario registered twice: " + s.Name)
	}
	benchScenarios[s.Name] = s
}

// sortedBenchScenarios lists the registered scenarios by name.
func sortedBenchScenarios() []benchScenario {
	out := make([]benchScenario, 0, len(benchScenarios))
	for _, s := range benchScenarios {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// reportFlags are the output flags every scenario has: --out and --plot.
type reportFlags struct{ out, plot string }

func (rf *reportFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&rf.out, "out", "", "write every figure, the latency histograms, the throughput series and the machine as JSON to this file")
	f.StringVar(&rf.plot, "plot", "", "draw throughput over time and the latency distribution to this .png or .svg file")
}

// emit prints the summary table on stdout, then writes --out and --plot.
func (rf *reportFlags) emit(c *cobra.Command, rep *bench.Report) error {
	rep.WriteText(c.OutOrStdout())
	return rf.emitFiles(rep)
}

// emitFiles writes --out and --plot.
func (rf *reportFlags) emitFiles(rep *bench.Report) error {
	if rf.out != "" {
		if err := rep.WriteJSON(rf.out); err != nil {
			return err
		}
	}
	if rf.plot != "" {
		if err := rep.Plot(rf.plot); err != nil {
			return err
		}
	}
	return nil
}

// bindNodeFlags registers the flags of the in-process node a scenario starts, and returns the
// function that applies them to its configuration.
func bindNodeFlags(f *pflag.FlagSet) func(*node.Config) {
	d := node.DefaultConfig()
	reqTimeout := f.Duration("node-request-timeout", d.API.RequestTimeout,
		"the in-process node's bound on every request but results (a first activation compiles the module: raise it on a slow or loaded machine)")
	return func(c *node.Config) { c.API.RequestTimeout = *reqTimeout }
}

// bindBenchModule registers --module and --format. Without --module the scenario runs the
// embedded benchmark module (bench/benchmodule), whose format is the scenarios' default.
func bindBenchModule(f *pflag.FlagSet, module, format *string) {
	f.StringVar(module, "module", "", "process module file, e.g. testdata/build/wasm/aoslike.wasm (the aos-like Lua module make deps builds) or an aos build with --format "+
		"(default: the benchmark module embedded in this binary, bench/benchmodule: measures the node around a cheap module)")
	f.StringVar(format, "format", *format, "Module-Format of --module")
}

// childNodes is what a scenario that runs nodes as child processes needs: the --module bytes,
// this binary (the children run it) and the environment that makes a test binary run the CLI
// (TestMain looks for benchChildEnv).
func childNodes(module string) (wasm []byte, exe string, env []string, err error) {
	if wasm, err = readBenchModule(module); err != nil {
		return nil, "", nil, err
	}
	if exe, err = os.Executable(); err != nil {
		return nil, "", nil, err
	}
	return wasm, exe, []string{benchChildEnv + "=1"}, nil
}

// readBenchModule reads the --module file, or returns the embedded benchmark module when path is
// empty.
func readBenchModule(path string) ([]byte, error) {
	if path == "" {
		return benchmodule.Wasm, nil
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--module: %w (the test modules under testdata/build/wasm are built by `make deps`; without --module the embedded benchmark module runs)", err)
	}
	return wasm, nil
}
