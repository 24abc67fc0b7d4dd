package wasmbin

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// tinyMetered is a hand-assembled metered module:
//
//	(import "metering" "usegas" (func (param i32)))
//	(func (export "run") (param i32)
//	  (call 0 (i32.const 5))
//	  (block (br_if 0 (local.get 0)) (call 0 (i32.const 7)))
//	  (call 0 (i32.const -2)))
func tinyMetered() []byte {
	sec := func(id byte, body ...byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = append(b, sec(1, 1, 0x60, 1, 0x7f, 0)...)
	b = append(b, sec(2, 1, 8, 'm', 'e', 't', 'e', 'r', 'i', 'n', 'g', 6, 'u', 's', 'e', 'g', 'a', 's', 0, 0)...)
	b = append(b, sec(3, 1, 0)...)
	b = append(b, sec(7, 1, 3, 'r', 'u', 'n', 0, 1)...)
	body := []byte{0,
		0x41, 5, 0x10, 0,
		0x02, 0x40, 0x20, 0, 0x0d, 0, 0x41, 7, 0x10, 0, 0x0b,
		0x41, 0x7e, 0x10, 0,
		0x0b}
	b = append(b, sec(10, append([]byte{1, byte(len(body))}, body...)...)...)
	return b
}

func TestInlineMeter(t *testing.T) {
	ctx := context.Background()
	out, err := InlineMeter(tinyMetered())
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	called := 0
	if _, err := r.NewHostModuleBuilder("metering").NewFunctionBuilder().
		WithFunc(func(int32) { called++ }).Export("usegas").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := r.Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("the rewritten module does not instantiate: %v", err)
	}
	used := m.ExportedGlobal(GasUsedExport).(api.MutableGlobal)
	limit := m.ExportedGlobal(GasLimitExport).(api.MutableGlobal)
	limit.Set(100)
	run := m.ExportedFunction("run")
	if _, err := run.Call(ctx, 0); err != nil { // 5 + 7 - 2
		t.Fatal(err)
	}
	if used.Get() != 10 {
		t.Fatalf("used = %d, want 10", used.Get())
	}
	if _, err := run.Call(ctx, 1); err != nil { // 5 - 2: the branch skips the 7
		t.Fatal(err)
	}
	if used.Get() != 13 || called != 0 {
		t.Fatalf("used = %d (want 13), import called %d times (want 0)", used.Get(), called)
	}
	limit.Set(15)
	if _, err := run.Call(ctx, 0); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("over the limit: %v, want a trap", err)
	}
	if used.Get() != 18 { // 13 + 5 > 15: trapped at the first block, after counting it
		t.Fatalf("used = %d, want 18", used.Get())
	}
}

func TestInlineMeterRefuses(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"garbage":   []byte("hello world"),
		"truncated": tinyMetered()[:30],
		"no usegas": {0, 'a', 's', 'm', 1, 0, 0, 0},
		"unknown opcode": func() []byte {
			b := tinyMetered()
			b[len(b)-1] = 0x1f // try_table is not handled: refuse rather than guess
			return b
		}(),
	} {
		if _, err := InlineMeter(wasm); err == nil {
			t.Errorf("%s: rewritten", name)
		}
	}
}
