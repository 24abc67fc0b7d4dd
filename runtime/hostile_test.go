package runtime

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHostileModules: each hostile message ends as an Error result within its limit, the memory
// is exactly what it was before the message, and the process goes on.
func TestHostileModules(t *testing.T) {
	ctx := context.Background()
	const marker = "/tmp/actorweave-hostile-must-not-exist"
	_ = os.Remove(marker)
	cases := []struct {
		name, module, action, data string
		limits                     Limits
		wantErr                    string
		within                     time.Duration
	}{
		{"infinite loop, gas", "aoslike", "Eval", "while true do end", Limits{ComputeLimit: 2_000_000_000}, "out of gas!", 20 * time.Second},
		{"infinite loop, deadline", "aoslike", "Eval", "while true do end", Limits{Deadline: 300 * time.Millisecond}, "deadline exceeded", 20 * time.Second},
		{"memory bomb", "aoslike", "Eval", "local t, s = {}, 'x' while true do s = s .. s t[#t + 1] = s end", Limits{MemoryLimit: 64 << 20}, "not enough memory", 60 * time.Second},
		{"unbounded Lua recursion", "aoslike", "Eval", "local function f(n) return 1 + f(n + 1) end return f(1)", Limits{}, "stack overflow", 60 * time.Second},
		{"os.execute", "aoslike", "Eval", "assert(os.execute('touch " + marker + "'))", Limits{}, "Function not implemented", 10 * time.Second},
		{"io.popen", "aoslike", "Eval", "return io.popen('touch " + marker + "')", Limits{}, "popen", 10 * time.Second},
		{"trap", "sjlj", "trap", "", Limits{}, "unreachable", 10 * time.Second},
		{"abort", "sjlj", "abort", "", Limits{}, "abort", 10 * time.Second},
		{"exit", "sjlj", "exit", "", Limits{}, "exit(3)", 10 * time.Second},
		// The C stack grows down through static data and below address 0: a trap.
		{"unbounded C recursion", "sjlj", "recurse", "", Limits{}, "out of bounds memory access", 60 * time.Second},
		{"C endless loop, deadline", "sjlj", "loop", "", Limits{Deadline: 300 * time.Millisecond, ComputeLimit: DefaultComputeLimit}, "deadline exceeded", 20 * time.Second},
		{"malloc beyond the memory limit", "heap", "alloc", "100000", Limits{MemoryLimit: 32 << 20}, "malloc of 100000 KiB failed", 10 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t, nil)
			in := newTestInstance(t, e, c.module, c.limits)
			warm := "x = 41 return x"
			if c.module != "aoslike" {
				warm = "1"
			}
			warmAction := map[string]string{"aoslike": "Eval", "sjlj": "jump", "heap": "alloc"}[c.module]
			if r, err := in.Handle(ctx, msg("1", warmAction, warm), []byte(testEnv)); err != nil || r.Error != "" {
				t.Fatalf("warm-up: %v %+v", err, r)
			}
			before, size := memHex(in)
			start := time.Now()
			r, err := in.Handle(ctx, msg("2", c.action, c.data), []byte(testEnv))
			took := time.Since(start)
			if err != nil {
				t.Fatalf("host error (the instance should survive): %v", err)
			}
			if !strings.Contains(r.Error, c.wantErr) {
				t.Fatalf("Error = %q, want it to contain %q", r.Error, c.wantErr)
			}
			if took > c.within {
				t.Errorf("took %s, limit %s", took, c.within)
			}
			after, asize := memHex(in)
			if after != before || asize != size {
				t.Fatalf("memory changed: %d bytes %s -> %d bytes %s", size, before, asize, after)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("%s exists: a command ran on the host", marker)
			}
			// The process goes on from its state before the hostile message.
			if c.module == "aoslike" {
				r, err = in.Handle(ctx, msg("3", "Eval", "x = x + 1 return x"), []byte(testEnv))
				if err != nil || r.Error != "" || outputData(t, r) != "42" {
					t.Fatalf("after: %v %+v", err, r)
				}
			} else {
				r, err = in.Handle(ctx, msg("3", warmAction, "1"), []byte(testEnv))
				if err != nil || r.Error != "" {
					t.Fatalf("after: %v %+v", err, r)
				}
			}
		})
	}
}
