// Package testutil holds helpers shared by the tests of several packages: finding the repository
// root and the test dependencies that scripts/deps.sh installs. It must not be imported by
// non-test code.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the working directory to the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// NodeDir returns testdata/node with its npm packages installed, or fails the test with the command
// that installs them. Tests do not skip when a dependency is missing: a skipped oracle is a test
// that cannot fail.
func NodeDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("npm test packages are not installed (%v): run `make deps`", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: install Node.js 20 (see README)")
	}
	return dir
}
