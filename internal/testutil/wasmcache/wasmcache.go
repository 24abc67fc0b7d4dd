// Package wasmcache gives the nodes a test binary starts one wazero compilation cache, with the
// test module already compiled into it. It must not be imported by non-test code.
//
// Why: a node compiles a module on the first activation of one of its processes, inside the
// request that caused it, which is bounded by the node's request timeout (10 s by default).
// Compiling the aos-like test module under -race costs about 3 s of CPU; on a shared 2-core machine
// at load 15 a test gets a small share of a core and that first spawn outlasted the bound, so
// tests failed for the load, not for the code. With this cache the compilation is paid once per
// test binary, by the test that first asks for the folder, outside any request; every node then
// loads the compiled code from disk (wazero's file cache: keyed by module hash and wazero version,
// written with a rename, safe to share between processes).
//
// A package using it removes the folder at the end with Main (or Cleanup) from its TestMain.
package wasmcache

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/runtime"
)

// Modules are the test modules compiled into the cache when it is created: the ones the node-level
// tests spawn processes of.
var Modules = []string{"aoslike"}

var (
	mu      sync.Mutex
	dir     string
	created bool
)

// Dir returns the compilation cache folder shared by every node this test binary starts
// (node.Config.Runtime.CacheDir), creating it on the first call and compiling Modules into it.
// A failure to build the cache fails the test (a missing module says "run make deps").
func Dir(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if created {
		return dir
	}
	d, err := os.MkdirTemp("", "actorweave-test-wasm-cache-")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: d})
	if err != nil {
		os.RemoveAll(d)
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	for _, name := range Modules {
		if _, err := eng.Compile(ctx, testutil.Module(t, name), runtime.FormatEmscripten2); err != nil {
			os.RemoveAll(d)
			t.Fatalf("wasmcache: compile %s: %v", name, err)
		}
	}
	t.Logf("wasmcache: compiled %v into %s in %v (shared by this test binary's nodes)", Modules, d, time.Since(start).Round(time.Millisecond))
	dir, created = d, true
	return dir
}

// Cleanup removes the folder, if Dir created one.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if created {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "wasmcache:", err)
		}
		created = false
	}
}

// Main is a TestMain: it runs the tests, removes the folder and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}
