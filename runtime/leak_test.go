package runtime

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorweave/actorweave/internal/testutil"
)

// A node instantiates and closes an instance per activation; a closed instance must not stay
// reachable (through wazero's references to its host functions) or every passivated process leaks
// its function handles and call stacks.
func TestClosedInstancesAreCollected(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx := context.Background()
	e, err := NewEngine(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Compile(ctx, wasm, "wasm32-unknown-emscripten2")
	if err != nil {
		t.Fatal(err)
	}
	var finalized atomic.Int64
	const n = 20
	for i := 0; i < n; i++ {
		in, err := e.Instantiate(ctx, m, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		runtime.SetFinalizer(in, func(*Instance) { finalized.Add(1) })
		msg := []byte(`{"Id":"1","Owner":"o","From":"o","Tags":[{"name":"Action","value":"Eval"}],"Data":"return 1"}`)
		if _, err := in.Handle(ctx, msg, []byte(`{"Process":{"Id":"p","Owner":"o","Tags":[]}}`)); err != nil {
			t.Fatal(err)
		}
		in.Close(ctx)
	}
	for i := 0; i < 20 && finalized.Load() < n; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := finalized.Load(); got < n {
		t.Fatalf("only %d of %d closed instances were garbage-collected", got, n)
	}
}
