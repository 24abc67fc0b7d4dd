package wasmbin

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A hand-assembled memory64 module (the bytes a memory64 toolchain writes), for the lowering.

const (
	i32 = 0x7f
	i64 = 0x7e
	f64 = 0x7c
)

type testFunc struct {
	name            string
	params, results []byte
	locals          []byte // extra local groups, already encoded after the count
	nLocalGroups    uint32
	code            []byte
}

func vec(items ...[]byte) []byte {
	b := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func sec(id byte, body []byte) []byte {
	return append(appendU32([]byte{id}, uint32(len(body))), body...)
}

func leb64(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// buildModule assembles a module with one memory (limits given raw), the functions (exported by
// name), an active data segment at offset 16 ("hello") and a passive one ("WORLD").
func buildModule(memLimits []byte, funcs []testFunc, extra ...[]byte) []byte {
	var types, fsec, exps, codes [][]byte
	for i, f := range funcs {
		t := append([]byte{0x60}, appendU32(nil, uint32(len(f.params)))...)
		t = append(t, f.params...)
		t = append(appendU32(t, uint32(len(f.results))), f.results...)
		types = append(types, t)
		fsec = append(fsec, appendU32(nil, uint32(i)))
		exps = append(exps, append(appendName(nil, f.name), append([]byte{0x00}, appendU32(nil, uint32(i))...)...))
		body := appendU32(nil, f.nLocalGroups)
		body = append(body, f.locals...)
		body = append(body, f.code...)
		body = append(body, 0x0b)
		codes = append(codes, append(appendU32(nil, uint32(len(body))), body...))
	}
	exps = append(exps, append(appendName(nil, "memory"), 0x02, 0x00))
	m := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	m = append(m, sec(1, vec(types...))...)
	m = append(m, sec(3, vec(fsec...))...)
	m = append(m, sec(5, vec(memLimits))...)
	m = append(m, sec(7, vec(exps...))...)
	m = append(m, sec(12, appendU32(nil, 2))...)
	m = append(m, sec(10, vec(codes...))...)
	active := append([]byte{0x00, 0x42}, leb64(16)...)
	active = append(active, 0x0b, 5)
	active = append(active, "hello"...)
	passive := append([]byte{0x01, 5}, "WORLD"...)
	m = append(m, sec(11, vec(active, passive))...)
	for _, e := range extra {
		m = append(m, e...)
	}
	return m
}

func get(i uint32) []byte { return appendU32([]byte{0x20}, i) }

var testFuncs = []testFunc{
	{name: "load8", params: []byte{i64}, results: []byte{i32}, code: cat(get(0), []byte{0x2d, 0x00, 0x00})},
	{name: "load32", params: []byte{i64}, results: []byte{i32}, code: cat(get(0), []byte{0x28, 0x02, 0x04})},
	{name: "store32", params: []byte{i64, i32}, code: cat(get(0), get(1), []byte{0x36, 0x02, 0x04})},
	{name: "store64", params: []byte{i64, i64}, code: cat(get(0), get(1), []byte{0x37, 0x03, 0x00})},
	{name: "load64", params: []byte{i64}, results: []byte{i64}, code: cat(get(0), []byte{0x29, 0x03, 0x00})},
	{name: "f64rt", params: []byte{i64, f64}, results: []byte{f64},
		code: cat(get(0), get(1), []byte{0x39, 0x03, 0x00}, get(0), []byte{0x2b, 0x03, 0x00})},
	{name: "size", results: []byte{i64}, code: []byte{0x3f, 0x00}},
	{name: "grow", params: []byte{i64}, results: []byte{i64}, code: cat(get(0), []byte{0x40, 0x00})},
	{name: "fill", params: []byte{i64, i32, i64}, code: cat(get(0), get(1), get(2), []byte{0xfc, 11, 0})},
	{name: "copy", params: []byte{i64, i64, i64}, code: cat(get(0), get(1), get(2), []byte{0xfc, 10, 0, 0})},
	{name: "init", params: []byte{i64, i32, i32}, code: cat(get(0), get(1), get(2), []byte{0xfc, 8, 1, 0})},
	// A call: calls load32 (function 1) on its argument.
	{name: "callload", params: []byte{i64}, results: []byte{i32}, code: cat(get(0), []byte{0x10, 0x01})},
	// A function with locals of its own: the scratch locals come after them.
	{name: "withlocals", params: []byte{i64}, results: []byte{i32}, nLocalGroups: 1, locals: []byte{2, i32},
		code: cat(get(0), []byte{0x28, 0x02, 0x00, 0x21, 0x01}, get(1), []byte{0x21, 0x02}, get(2))},
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func instantiateLowered(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	low, info, err := LowerMemory64(wasm)
	if err != nil {
		t.Fatalf("lower: %v", err)
	}
	if !info.Memory64 {
		t.Fatal("the module was not recognised as memory64")
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, low)
	if err != nil {
		t.Fatalf("instantiate lowered module: %v", err)
	}
	return mod
}

func call(t *testing.T, m api.Module, name string, args ...uint64) ([]uint64, error) {
	t.Helper()
	return m.ExportedFunction(name).Call(context.Background(), args...)
}

func mustCall(t *testing.T, m api.Module, name string, args ...uint64) []uint64 {
	t.Helper()
	r, err := call(t, m, name, args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return r
}

func TestLowerMemory64Semantics(t *testing.T) {
	wasm := buildModule(cat([]byte{0x05}, leb64(1), leb64(3)), testFuncs)
	// The unlowered module is refused by wazero: the premise of the lowering.
	if _, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), wasm); err == nil {
		t.Fatal("wazero compiled a memory64 module: the lowering may be unnecessary")
	}
	m := instantiateLowered(t, wasm)

	// The data segment landed at 16.
	if got := string(readMem(t, m, 16, 5)); got != "hello" {
		t.Fatalf("data segment: %q", got)
	}
	mustCall(t, m, "store32", 100, 0xdeadbeef)
	if r := mustCall(t, m, "load32", 100); uint32(r[0]) != 0xdeadbeef {
		t.Fatalf("load32 = %#x", r[0])
	}
	if r := mustCall(t, m, "load8", 104); uint32(r[0]) != 0xef {
		t.Fatalf("load8 = %#x (store offset not applied?)", r[0])
	}
	mustCall(t, m, "store64", 200, 0x0102030405060708)
	if r := mustCall(t, m, "load64", 200); r[0] != 0x0102030405060708 {
		t.Fatalf("load64 = %#x", r[0])
	}
	if r := mustCall(t, m, "f64rt", 300, api.EncodeF64(math.Pi)); api.DecodeF64(r[0]) != math.Pi {
		t.Fatalf("f64 round trip = %v", api.DecodeF64(r[0]))
	}
	if r := mustCall(t, m, "callload", 100); uint32(r[0]) != 0xdeadbeef {
		t.Fatalf("callload = %#x", r[0])
	}
	if r := mustCall(t, m, "withlocals", 104); uint32(r[0]) != 0xdeadbeef {
		t.Fatalf("withlocals = %#x", r[0])
	}

	// memory.size and memory.grow speak i64 pages; growth past the maximum is -1.
	if r := mustCall(t, m, "size"); r[0] != 1 {
		t.Fatalf("size = %d", r[0])
	}
	if r := mustCall(t, m, "grow", 1); r[0] != 1 {
		t.Fatalf("grow(1) = %d", int64(r[0]))
	}
	if r := mustCall(t, m, "grow", 5); int64(r[0]) != -1 {
		t.Fatalf("grow past max = %d", int64(r[0]))
	}
	if r := mustCall(t, m, "grow", 1<<32+1); int64(r[0]) != -1 {
		t.Fatalf("grow(2^32+1) = %d, want -1 (not a wrapped grow(1))", int64(r[0]))
	}
	if r := mustCall(t, m, "size"); r[0] != 2 {
		t.Fatalf("size after grow = %d", r[0])
	}

	// Bulk memory with 64-bit operands.
	mustCall(t, m, "fill", 1000, 'x', 10)
	mustCall(t, m, "copy", 1003, 16, 5)
	if got := string(readMem(t, m, 1000, 10)); got != "xxxhelloxx" {
		t.Fatalf("fill+copy: %q", got)
	}
	mustCall(t, m, "init", 2000, 1, 3)
	if got := string(readMem(t, m, 2000, 4)); got != "ORL\x00" {
		t.Fatalf("memory.init: %q", got)
	}
}

func readMem(t *testing.T, m api.Module, off, n uint32) []byte {
	t.Helper()
	b, ok := m.Memory().Read(off, n)
	if !ok {
		t.Fatalf("read %d+%d out of range", off, n)
	}
	return b
}

// An address at or above 4 GiB traps as out of bounds; it must not wrap onto low memory.
func TestLowerMemory64TrapsAbove4GiB(t *testing.T) {
	m := instantiateLowered(t, buildModule(cat([]byte{0x05}, leb64(1), leb64(3)), testFuncs))
	mustCall(t, m, "store32", 16, 0x11223344) // bytes 20..23 (offset 4)
	cases := []struct {
		name string
		args []uint64
	}{
		{"load32", []uint64{1 << 32}},       // would read 4 if wrapped
		{"load32", []uint64{1<<32 + 16}},    // would read the value stored above
		{"load8", []uint64{math.MaxUint64}}, // -1
		{"store32", []uint64{1<<32 + 16, 7}},
		{"store64", []uint64{1 << 40, 7}},
		{"fill", []uint64{1 << 32, 0, 1}},
		{"fill", []uint64{0, 0, 1<<32 + 1}},
		{"copy", []uint64{0, 1 << 32, 1}},
		{"copy", []uint64{1 << 33, 0, 1}},
		{"init", []uint64{1 << 32, 0, 1}},
	}
	for _, c := range cases {
		_, err := call(t, m, c.name, c.args...)
		if err == nil || !strings.Contains(err.Error(), "out of bounds memory access") {
			t.Errorf("%s%v: err = %v, want an out-of-bounds trap", c.name, c.args, err)
		}
	}
	if got := readMem(t, m, 0, 64); string(got[20:24]) != "\x44\x33\x22\x11" || got[0] != 0 {
		t.Fatalf("memory changed by trapping accesses: % x", got)
	}
	// Just below 4 GiB is a normal out-of-bounds access in this small memory, and addresses in
	// range still work after the traps.
	if r := mustCall(t, m, "load32", 16); uint32(r[0]) != 0x11223344 {
		t.Fatalf("load32 after traps = %#x", r[0])
	}
}

func TestLowerMemory64Limits(t *testing.T) {
	// A maximum over 4 GiB is capped at MaxPages32; flags become 32-bit.
	wasm := buildModule(cat([]byte{0x05}, leb64(1), leb64(1<<20)), testFuncs)
	low, info, err := LowerMemory64(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if info.MaxPages != 1<<20 || !info.HasMax || info.MinPages != 1 {
		t.Fatalf("info = %+v", info)
	}
	cm, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), low)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cm.ExportedMemories() {
		if mx, ok := d.Max(); !ok || mx != MaxPages32 {
			t.Fatalf("lowered memory max = %d,%v", mx, ok)
		}
	}
	// No maximum: flag 0x04.
	if _, _, err := LowerMemory64(buildModule(cat([]byte{0x04}, leb64(2)), testFuncs)); err != nil {
		t.Fatal(err)
	}
	// An initial memory over 4 GiB is refused.
	_, _, err = LowerMemory64(buildModule(cat([]byte{0x04}, leb64(MaxPages32+1)), testFuncs))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "initial memory") {
		t.Fatalf("huge initial memory: %v", err)
	}
	// A 32-bit module is returned unchanged.
	m32 := buildModule([]byte{0x00, 1}, nil)
	out, info, err := LowerMemory64(m32)
	if err != nil || info.Memory64 || &out[0] != &m32[0] {
		t.Fatalf("32-bit module: info %+v err %v", info, err)
	}
}

func TestLowerMemory64Refuses(t *testing.T) {
	mem := cat([]byte{0x05}, leb64(1), leb64(3))
	cases := []struct {
		name string
		wasm []byte
		want string
	}{
		{"atomics", buildModule(mem, []testFunc{{name: "a", params: []byte{i64}, results: []byte{i32},
			code: cat(get(0), []byte{0xfe, 0x10, 0x02, 0x00})}}), "atomic"},
		{"simd load", buildModule(mem, []testFunc{{name: "a", params: []byte{i64},
			code: cat(get(0), []byte{0xfd, 0x00, 0x04, 0x00, 0x1a})}}), "SIMD memory access"},
		{"unknown opcode", buildModule(mem, []testFunc{{name: "a", code: []byte{0xd5}}}), "opcode 0xd5"},
		{"shared memory", buildModule(cat([]byte{0x07}, leb64(1), leb64(3)), nil), "shared memory"},
		{"table64", buildModule(mem, nil, sec(4, vec(cat([]byte{0x70, 0x05}, leb64(1), leb64(2))))), "table64"},
		{"tag section", buildModule(mem, nil, sec(13, vec())), "section id 13"},
		{"huge offset", buildModule(mem, []testFunc{{name: "a", params: []byte{i64}, results: []byte{i32},
			code: cat(get(0), []byte{0x28, 0x02}, leb64(1<<33))}}), "over 4 GiB"},
	}
	for _, c := range cases {
		_, _, err := LowerMemory64(c.wasm)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrUnsupported naming %q", c.name, err, c.want)
		}
	}
	// Data segment offsets that are not constants.
	bad := buildModule(mem, nil)
	i := strings.Index(string(bad), "\x00\x42\x10\x0b")
	bad[i+1], bad[i+2] = 0x23, 0x00 // global.get 0
	if _, _, err := LowerMemory64(bad); !errors.Is(err, ErrUnsupported) {
		t.Errorf("data offset global.get: %v", err)
	}
	_ = sleb64
}
