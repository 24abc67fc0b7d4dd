package node

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestSharedCompileCacheIsHit: the tests' shared compilation cache holds exactly what a node
// compiles for the test module, so a node's first activation loads it instead of compiling (the
// compilation then happens outside any request, see wasmcache). A miss would add a file.
func TestSharedCompileCacheIsHit(t *testing.T) {
	cache := wasmcache.Dir(t)
	before := cacheFiles(t, cache)
	if len(before) == 0 {
		t.Fatalf("the shared cache %s is empty", cache)
	}
	n := startNode(t, t.TempDir(), nil)
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "aoslike"), Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Send(ctx, pid, []byte("return 1 + 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Result(ctx, pid, id); err != nil { // evaluated: the module is compiled and instantiated
		t.Fatal(err)
	}
	if after := cacheFiles(t, cache); len(after) != len(before) {
		t.Errorf("the node compiled into the shared cache: %d files before, %d after (%v)", len(before), len(after), after)
	}
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
