package runtime

import (
	"context"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

// TestDeadlineWhileCollecting: compiled WebAssembly cannot be preempted, so a module that never
// returned to Go would hold up every garbage collection of the process (and, with it, the timer
// or goroutine meant to stop it). An endless loop with an unreachable compute limit must still
// end at its deadline while other goroutines force collections, with the counter inlined and in Go.
func TestDeadlineWhileCollecting(t *testing.T) {
	for _, inline := range []bool{true, false} {
		t.Run(map[bool]string{true: "inline", false: "go-usegas"}[inline], func(t *testing.T) {
			inlineMeter = inline
			defer func() { inlineMeter = true }()
			ctx := context.Background()
			e := newTestEngine(t, nil)
			in := newTestInstance(t, e, "aoslike", Limits{Deadline: 500 * time.Millisecond})
			if ok, _ := in.mod.MeterInlined(); ok != inline {
				t.Fatalf("inlined = %v, want %v", ok, inline)
			}
			done := make(chan struct{})
			gcs := make(chan int)
			go func() {
				n := 0
				for {
					select {
					case <-done:
						gcs <- n
						return
					default:
					}
					goruntime.GC()
					n++
					time.Sleep(time.Millisecond)
				}
			}()
			start := time.Now()
			r, err := in.Handle(ctx, msg("1", "Eval", "while true do end"), []byte(testEnv))
			took := time.Since(start)
			close(done)
			n := <-gcs
			if err != nil || !strings.Contains(r.Error, "deadline exceeded") {
				t.Fatalf("%v %+v", err, r)
			}
			if took > 10*time.Second || n < 10 {
				t.Fatalf("took %s with %d collections meanwhile", took, n)
			}
			r, err = in.Handle(ctx, msg("2", "Eval", "return 5"), []byte(testEnv))
			if err != nil || outputData(t, r) != "5" {
				t.Fatalf("after: %v %+v", err, r)
			}
		})
	}
}

// TestGoUsegasMatchesInline: the Go usegas path counts exactly what the inlined counter counts.
func TestGoUsegasMatchesInline(t *testing.T) {
	ctx := context.Background()
	run := func(inline bool) []uint64 {
		inlineMeter = inline
		defer func() { inlineMeter = true }()
		in := newTestInstance(t, newTestEngine(t, nil), "aoslike", Limits{ComputeLimit: 300_000_000})
		var gas []uint64
		for i, d := range []string{"return 1", "t = {} for i = 1, 1000 do t[i] = i end return #t", "while true do end", "error('x')"} {
			r, err := in.Handle(ctx, msg(string(rune('a'+i)), "Eval", d), []byte(testEnv))
			if err != nil {
				t.Fatal(err)
			}
			gas = append(gas, r.GasUsed)
		}
		return gas
	}
	a, b := run(true), run(false)
	for i := range a {
		if a[i] != b[i] || a[i] == 0 {
			t.Fatalf("message %d: inline %d gas, Go usegas %d", i+1, a[i], b[i])
		}
	}
}

// TestBootIsLimited: the start-up runs module code under the same compute limit.
func TestBootIsLimited(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, nil)
	m, err := e.Compile(ctx, testModule(t, "aoslike"), FormatEmscripten2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Instantiate(ctx, m, Limits{ComputeLimit: 1000}); err == nil || !strings.Contains(err.Error(), "out of gas") {
		t.Fatalf("boot with 1000 gas: %v", err)
	}
	in, err := e.Instantiate(ctx, m, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	if r, err := in.Handle(ctx, msg("1", "Eval", "return 3"), []byte(testEnv)); err != nil || outputData(t, r) != "3" {
		t.Fatalf("%v %+v", err, r)
	}
}
