package testutil

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/actorweave/actorweave/internal/arlocal"
)

// Arlocal starts a fresh arlocal (a real local Arweave gateway) on a free loopback port with its
// own database on tmpfs, and stops it when the test ends. The test fails with "run make deps" when
// arlocal is not installed: a skipped gateway test is a test that cannot fail.
func Arlocal(t testing.TB) *arlocal.Instance {
	t.Helper()
	in, err := arlocal.Start(context.Background(), filepath.Join(RepoRoot(t), "testdata", "arlocal"))
	if err != nil {
		if errors.Is(err, arlocal.ErrNotInstalled) {
			t.Fatalf("%v: run `make deps`", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	return in
}
