package runtime

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestDifferentialWasm64 runs the wasm64 aos-like module (emcc -sMEMORY64, named for the wasm64
// glue) in @permaweb/ao-loader 0.0.49's wasm64 format (node --experimental-wasm-memory64) and here
// (lowered to a 32-bit memory), message by message: the same Output, Messages, Spawns, Error,
// GasUsed and SHA-256 of the whole memory. Also its load-time metered variant in the
// wasm64-...-metering format (the module as emcc wrote it, metered with an i64 meter on both
// sides). No os.time/os.date: emcc 3.1.6's _localtime_js/_gmtime_js take a pointer to the time
// where the newer glue takes the time itself, so time functions of these test modules differ by
// construction (the host follows the glue).
func TestDifferentialWasm64(t *testing.T) {
	cases := []diffCase{
		{"Eval", "return 1+1", true},
		{"Eval", "error('boom')", true},
		{"Eval", "print('hi there') ao.send({Target='xyz', Data='hello', Action='Ping'}) return tostring(os.getenv('PATH')) .. ' ' .. tostring(io.open('/etc/passwd'))", true},
		{"Eval", "t = {} for i = 1, 50000 do t[i] = 'x' .. i end return #t", true},
		{"Throw", "outside", true},
		{"Eval", "local ok, e = pcall(function() error({code = 1}) end) local ok2 = pcall(pcall, error, 'x') return tostring(ok) .. type(e) .. tostring(ok2) .. utf8.char(233, 8364)", true},
		{"Ping", "", true},
		{"Eval", "return math.random(1, 100) .. ' ' .. math.random(1, 100)", true},
		{"Eval", "x = (x or 0) + 1 return x", true},
		{"Eval", "local s = string.rep('ab', 1e6) return #s", true},
		{"Eval", "return #t", true},
	}
	for _, s := range []struct{ module, format string }{
		{"aoslike64", FormatWasm64},
		{"aoslike64.raw", FormatWasm64Metering},
	} {
		t.Run(s.module+"/"+s.format, func(t *testing.T) {
			var msgs [][]byte
			for i, c := range cases {
				msgs = append(msgs, msg(fmt.Sprint(i+1), c.action, c.data))
			}
			ref := runAoLoader(t, s.module, s.format, msgs, 0)
			ctx := context.Background()
			e := newTestEngine(t, nil)
			m, err := e.Compile(ctx, testModule(t, s.module), s.format)
			if err != nil {
				t.Fatal(err)
			}
			if ok, why := m.MeterInlined(); !ok {
				t.Fatalf("meter not inlined: %v", why)
			}
			in, err := e.Instantiate(ctx, m, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			for i, c := range cases {
				got, err := in.Handle(ctx, msgs[i], []byte(testEnv))
				if err != nil {
					t.Fatalf("message %d: %v", i+1, err)
				}
				compareLine(t, i+1, c, ref[i], got, in)
			}
		})
	}
}

// A wasm64 process whose Memory-Limit is over 4 GiB runs with a 4 GiB ceiling; a message that
// needs more is an Error naming the node's limit, and the process goes on from before it.
func TestWasm64MemoryCeiling(t *testing.T) {
	if lim, clamped := MemoryCeiling(FormatWasm64, 16<<30); lim != 4<<30 || !clamped {
		t.Fatalf("MemoryCeiling(16 GiB) = %d, %v", lim, clamped)
	}
	if _, clamped := MemoryCeiling(FormatWasm64, 1<<30); clamped {
		t.Fatal("1 GiB is not clamped")
	}
	ctx := context.Background()
	e := newTestEngine(t, nil)
	m, err := e.Compile(ctx, testModule(t, "heap64"), FormatWasm64)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.Instantiate(ctx, m, Limits{MemoryLimit: 16 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	r, err := in.Handle(ctx, msg("1", "alloc", "100"), []byte(testEnv))
	if err != nil || r.Error != "" {
		t.Fatalf("%v %q", err, r.Error)
	}
	// 5 GiB in one malloc: the heap asks for more than 4 GiB (the module's own answer would be a
	// successful process Error "malloc ... failed"; the reference, with 16 GiB, would succeed).
	r, err = in.Handle(ctx, msg("2", "alloc", fmt.Sprint(5<<20)), []byte(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Error, "memory limit of this node: 4 GiB") {
		t.Fatalf("Error = %q", r.Error)
	}
	r, err = in.Handle(ctx, msg("3", "alloc", "1"), []byte(testEnv))
	if err != nil || r.Error != "" || !strings.Contains(string(r.Output), `"keptKiB":101`) {
		t.Fatalf("after the ceiling: %v %q %s", err, r.Error, r.Output)
	}
}
