package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// v4Names renames a test module's imports and exports to the emscripten4 glue's names.
func v4Names(t *testing.T, wasm []byte) []byte {
	t.Helper()
	imports := map[string]string{
		"abort": "_abort_js", "emscripten_memcpy_big": "_emscripten_memcpy_js",
		"_emscripten_date_now": "emscripten_date_now", "system": "_emscripten_system",
	}
	exports := map[string]string{
		"stackSave": "emscripten_stack_get_current", "stackRestore": "_emscripten_stack_restore",
		"stackAlloc": "_emscripten_stack_alloc",
	}
	out, err := wasmbin.Rename(wasm, func(mod, name string) (string, string) {
		if n, ok := imports[name]; ok {
			return mod, n
		}
		return mod, name
	}, func(name string) string {
		if n, ok := exports[name]; ok {
			return n
		}
		return name
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wasm32-unknown-emscripten-metering: the unmetered module, metered at load time by the Go port
// of @permaweb/wasm-metering, charges exactly the gas of the same module metered beforehand by
// @permaweb/wasm-metering itself (scripts/deps.d/20-wasm-modules.sh), message by message, and the
// memory is the same; a low Compute-Limit gives "out of gas!".
func TestMeteringFormatWasm32(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, nil)
	raw := v4Names(t, testModuleRaw(t, "aoslike"))
	pre := v4Names(t, testModule(t, "aoslike"))
	mLoad, err := e.Compile(ctx, raw, FormatWasm32Metering)
	if err != nil {
		t.Fatal(err)
	}
	if !mLoad.Metered() {
		t.Fatal("the -metering module is not metered")
	}
	if ok, why := mLoad.MeterInlined(); !ok {
		t.Fatalf("meter not inlined: %v", why)
	}
	mPre, err := e.Compile(ctx, pre, FormatEmscripten4)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Instantiate(ctx, mLoad, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := e.Instantiate(ctx, mPre, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	for i, data := range []string{"return 1 + 1", "x = (x or 0) + 1 return x", "error('boom')",
		"local t = {} for i = 1, 20000 do t[i] = i * 2 end return #t", "return ao and 'ao' or 'no ao'"} {
		m := msg("m"+string(rune('0'+i)), "Eval", data)
		ra, err := a.Handle(ctx, m, []byte(testEnv))
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Handle(ctx, m, []byte(testEnv))
		if err != nil {
			t.Fatal(err)
		}
		if ra.GasUsed == 0 || ra.GasUsed != rb.GasUsed || ra.Error != rb.Error || string(ra.Output) != string(rb.Output) {
			t.Fatalf("message %d: load-time metering gas %d err %q out %s; wasm-metering gas %d err %q out %s",
				i, ra.GasUsed, ra.Error, ra.Output, rb.GasUsed, rb.Error, rb.Output)
		}
		ha, _ := a.MemorySha256()
		hb, _ := b.MemorySha256()
		if ha != hb {
			t.Fatalf("message %d: memory differs", i)
		}
	}
	// Out of gas, exactly as the reference says it, and the instance goes on.
	c, err := e.Instantiate(ctx, mLoad, Limits{ComputeLimit: 1_000_000})
	if err != nil {
		// booting needs more than this limit: boot with the default, then limit the messages
		t.Fatal(err)
	}
	defer c.Close(ctx)
	r, err := c.Handle(ctx, msg("1", "Eval", "local s = 0 for i = 1, 1e7 do s = s + i end return s"), []byte(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != "out of gas!" {
		t.Fatalf("Error = %q, want out of gas!", r.Error)
	}
}

// A module that already imports metering.usegas is refused by the -metering formats, as the
// reference's wasm-metering throws "importing metering function is not allowed".
func TestMeteringFormatRefusesPremetered(t *testing.T) {
	e := newTestEngine(t, nil)
	_, err := e.Compile(context.Background(), v4Names(t, testModule(t, "aoslike")), FormatWasm32Metering)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "importing metering function is not allowed") {
		t.Fatalf("err = %v", err)
	}
}

// testModuleRaw returns a test module as emcc built it, before wasm-metering.
func testModuleRaw(t testing.TB, name string) []byte {
	return testModule(t, name+".raw")
}
