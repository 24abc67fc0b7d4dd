package runtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestEngineCloseDuringEval: closing the engine while module code runs used to unmap the memory
// under it (SIGSEGV in compiled code, the shutdown crash of a node with dry-runs queued). Close
// must cancel the call, wait for it, and the call must report ErrEngineClosed, not a result.
func TestEngineCloseDuringEval(t *testing.T) {
	for _, module := range []string{"aoslike", "aoslike.raw"} { // metered, and guarded by context
		t.Run(module, func(t *testing.T) {
			e := newTestEngine(t, nil)
			in := newTestInstance(t, e, module, Limits{Deadline: time.Minute})
			type out struct {
				r   *Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				r, err := in.Handle(context.Background(), msg("1", "Eval", "while true do end"), []byte(testEnv))
				done <- out{r, err}
			}()
			time.Sleep(300 * time.Millisecond) // let it enter the loop
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Fatalf("close: %v", err)
			}
			// Close returns once Handle has left module code; the goroutine still has to hand its
			// answer over, so give it a moment (a Close that did not wait would have unmapped the
			// memory under the running code: a crash, or an answer other than ErrEngineClosed).
			select {
			case o := <-done:
				if !errors.Is(o.err, ErrEngineClosed) {
					t.Fatalf("handle after close: %+v %v, want ErrEngineClosed", o.r, o.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the evaluation still runs 10 s after Close returned")
			}
			if _, err := in.Handle(context.Background(), msg("2", "Eval", "return 1"), []byte(testEnv)); err == nil {
				t.Fatal("an instance of a closed engine still evaluates")
			}
			if mem := in.MemoryCopy(); mem != nil {
				t.Fatal("memory of a closed engine readable")
			}
			_ = in.Close(context.Background())
		})
	}
}
