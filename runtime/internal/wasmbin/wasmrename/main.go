// Command wasmrename renames a module's imports and exports (wasmbin.Rename), for the build of
// test modules: emcc 3.1.6 names some imports and the stack API as the glue of its generation
// does, and the wasm64 test modules must carry the names of the newer glue the reference loader's
// wasm64 format binds.
//
//	go run ./runtime/internal/wasmbin/wasmrename IN OUT [fix-malloc-stubs] [import:OLD=NEW | export:OLD=NEW]...
//
// fix-malloc-stubs applies wasmbin.FixMallocStubs (emscripten 3.1.6's wasm64 setjmp lowering).
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmrename:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: wasmrename IN OUT [import:OLD=NEW | export:OLD=NEW]...")
	}
	imports, exports := map[string]string{}, map[string]string{}
	fix := false
	for _, a := range args[2:] {
		if a == "fix-malloc-stubs" {
			fix = true
			continue
		}
		kind, pair, ok := strings.Cut(a, ":")
		from, to, ok2 := strings.Cut(pair, "=")
		if !ok || !ok2 || (kind != "import" && kind != "export") {
			return fmt.Errorf("bad rename %q (want import:OLD=NEW or export:OLD=NEW)", a)
		}
		if kind == "import" {
			imports[from] = to
		} else {
			exports[from] = to
		}
	}
	in, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	out, err := wasmbin.Rename(in, func(mod, name string) (string, string) {
		if n, ok := imports[name]; ok {
			return mod, n
		}
		return mod, name
	}, func(name string) string {
		if n, ok := exports[name]; ok {
			return n
		}
		return name
	})
	if err != nil {
		return err
	}
	if fix {
		var n int
		if out, n, err = wasmbin.FixMallocStubs(out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wasmrename: %d malloc stubs fixed\n", n)
	}
	return os.WriteFile(args[1], out, 0o644)
}
