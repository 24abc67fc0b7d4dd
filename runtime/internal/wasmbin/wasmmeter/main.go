// Command wasmmeter meters a module as @permaweb/wasm-metering does (wasmbin.MeterReference, the
// i32 meter), for the build of the embedded benchmark module (bench/benchmodule): the metered
// module imports metering.usegas, as the aos builds and the test modules do, so that it runs in the
// runtime's metered (inlined) path and Compute-Limit applies to it.
//
//	go run ./runtime/internal/wasmbin/wasmmeter IN OUT
package main

import (
	"fmt"
	"os"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmmeter:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: wasmmeter IN OUT")
	}
	in, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	out, err := wasmbin.MeterReference(in, false)
	if err != nil {
		return err
	}
	return os.WriteFile(args[1], out, 0o644)
}
