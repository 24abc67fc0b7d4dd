package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// minify renames a readable emscripten2 module's imports and exports to the single letters of
// the oldest format (the reference loader's emscripten.cjs mapping), leaving the code unchanged.
func minify(t *testing.T, wasm []byte) []byte {
	t.Helper()
	inv := map[string]string{}
	for letter, name := range minifiedImports {
		inv[name] = letter
	}
	out, err := wasmbin.Rename(wasm, func(mod, name string) (string, string) {
		if mod == "metering" {
			return mod, name
		}
		letter, ok := inv[name]
		if !ok {
			t.Fatalf("no minified name for %s.%s", mod, name)
		}
		return "a", letter
	}, func(name string) string {
		if letter, ok := minifiedExports[name]; ok {
			return letter
		}
		return name
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDifferentialMinifiedFormat runs the aos-like module renamed to the minified format
// (wasm32-unknown-emscripten) in the reference loader and here.
func TestDifferentialMinifiedFormat(t *testing.T) {
	wasm := minify(t, testModule(t, "aoslike"))
	path := filepath.Join(t.TempDir(), "minified.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []diffCase{
		{"Eval", "return 1+1", true},
		{"Eval", "error('boom')", true},
		{"Eval", "print('x') return os.date('%Y-%m-%d %Z') .. os.time() .. tostring(os.getenv('HOME'))", true},
		{"Eval", "t = {} for i = 1, 30000 do t[i] = i end return #t", true},
		{"Throw", "x", true},
		{"Eval", "assert(os.execute('true'))", true},
		{"Eval", "x = (x or 0) + 1 return x", true},
	}
	var msgs [][]byte
	for i, c := range cases {
		msgs = append(msgs, msg(fmt.Sprint(i+1), c.action, c.data))
	}
	ref := runAoLoaderFile(t, path, FormatEmscripten, msgs, 0)
	ctx := context.Background()
	e := newTestEngine(t, nil)
	m, err := e.Compile(ctx, wasm, FormatEmscripten)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.Instantiate(ctx, m, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	for i, c := range cases {
		got, err := in.Handle(ctx, msgs[i], []byte(testEnv))
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		compareLine(t, i+1, c, ref[i], got, in)
	}
}
