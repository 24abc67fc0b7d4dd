package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Module reads a test module built by scripts/deps.sh (testdata/build/wasm/NAME.wasm), or fails the
// test with the command that builds it.
func Module(t testing.TB, name string) []byte {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "testdata", "build", "wasm", name+".wasm")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test module %s is not built (%v): run `make deps`", name, err)
	}
	return b
}
