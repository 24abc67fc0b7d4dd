package wasmbin

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/actorweave/actorweave/internal/testutil"
)

// LowerMemory64 on compiler output: clang's wasm64 code for loops over 64-bit pointers, memcpy
// as memory.copy, memory.size/grow (runtime/testdata/modules/wasm64/lowering.c).
func TestLowerMemory64Clang(t *testing.T) {
	wasm := testutil.Module(t, "lowering64")
	low, info, err := LowerMemory64(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Memory64 {
		t.Fatal("lowering64 is not a memory64 module")
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	m, err := rt.Instantiate(ctx, low)
	if err != nil {
		t.Fatal(err)
	}
	if r := mustCall(t, m, "sum", 1000); r[0] != 1498500 {
		t.Fatalf("sum(1000) = %d", r[0])
	}
	m.Memory().Write(70000, []byte("abcdefgh"))
	if r := mustCall(t, m, "copy", 80000, 70000, 8); r[0] != 'h' {
		t.Fatalf("copy = %d", r[0])
	}
	if b, _ := m.Memory().Read(80000, 8); string(b) != "abcdefgh" {
		t.Fatalf("copied %q", b)
	}
	size := mustCall(t, m, "size")[0]
	if r := mustCall(t, m, "grow", 2); r[0] != size {
		t.Fatalf("grow = %d, want old size %d", r[0], size)
	}
	if r := mustCall(t, m, "size"); r[0] != size+2 {
		t.Fatalf("size after grow = %d", r[0])
	}
	mustCall(t, m, "poke", 5, 42)
	if r := mustCall(t, m, "peek", 5); r[0] != 42 {
		t.Fatalf("peek = %d", r[0])
	}
	for _, p := range []uint64{1<<32 + 5, 1 << 63} {
		if _, err := call(t, m, "peek", p); err == nil || !strings.Contains(err.Error(), "out of bounds") {
			t.Fatalf("peek(%#x): %v, want a trap", p, err)
		}
		if _, err := call(t, m, "poke", p, 1); err == nil || !strings.Contains(err.Error(), "out of bounds") {
			t.Fatalf("poke(%#x): %v, want a trap", p, err)
		}
		if _, err := call(t, m, "copy", p, 70000, 8); err == nil || !strings.Contains(err.Error(), "out of bounds") {
			t.Fatalf("copy to %#x: %v, want a trap", p, err)
		}
	}
}

// BenchmarkBoundsCheck measures the 4 GiB check of every narrowed address on clang's loops of
// 64-bit loads and stores: sum(8000) lowered with the check against a bare i32.wrap_i64.
func BenchmarkBoundsCheck(b *testing.B) {
	wasm := testutil.Module(b, "lowering64")
	for _, variant := range []string{"checked", "wrapping"} {
		b.Run(variant, func(b *testing.B) {
			uncheckedNarrowing = variant == "wrapping"
			defer func() { uncheckedNarrowing = false }()
			low, _, err := LowerMemory64(wasm)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			m, err := rt.Instantiate(ctx, low)
			if err != nil {
				b.Fatal(err)
			}
			f := m.ExportedFunction("sum")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Call(ctx, 8000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
