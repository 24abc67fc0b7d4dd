package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/bench"
)

// defaultBenchModule is the aos-like Lua test module `make deps` builds.
const defaultBenchModule = "testdata/build/wasm/aoslike.wasm"

// bindBenchModule registers --module and --format.
func bindBenchModule(f *pflag.FlagSet, module, format *string) {
	f.StringVar(module, "module", defaultBenchModule, "process module")
	f.StringVar(format, "format", *format, "Module-Format of --module")
}

// readBenchModule reads the --module file, saying how to build the default one.
func readBenchModule(path string) ([]byte, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--module: %w (build the test modules with `make deps`)", err)
	}
	return wasm, nil
}

// writeBenchJSON writes a scenario's report with the machine it ran on (the --out file).
func writeBenchJSON(path, scenario string, report any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(map[string]any{"scenario": scenario, "machine": bench.ThisMachine(), "report": report}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
