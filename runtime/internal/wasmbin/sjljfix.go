package wasmbin

import (
	"bytes"
	"errors"
)

// FixMallocStubs exists for building wasm64 test modules with emscripten 3.1.6 (LLVM 14), whose
// setjmp/longjmp lowering declares malloc as (i32) -> i64 under -sMEMORY64; wasm-ld then links
// those calls to a stub that only traps ("signature mismatch"), so every setjmp traps. It gives
// each such stub (type (i32) -> i64, body `unreachable`) the body the call meant:
// malloc(i64.extend_i32_u(size)), with malloc the module's exported "malloc". It returns the
// module and how many stubs it fixed.
func FixMallocStubs(wasm []byte) ([]byte, int, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, 0, errors.New("wasm: not a version 1 binary")
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, 0, err
	}
	var stubType []bool // per type: (i32) -> i64
	var funcTypes []uint32
	imports, malloc := uint32(0), int64(-1)
	for _, s := range secs {
		r := &reader{b: s.body}
		switch s.id {
		case 1:
			n, _ := r.u32()
			for i := uint32(0); i < n; i++ {
				r.pos++ // 0x60
				np, _ := r.u32()
				ps := r.b[r.pos : r.pos+int(np)]
				r.pos += int(np)
				nr, _ := r.u32()
				rs := r.b[r.pos : r.pos+int(nr)]
				r.pos += int(nr)
				stubType = append(stubType, bytes.Equal(ps, []byte{0x7f}) && bytes.Equal(rs, []byte{0x7e}))
			}
		case 2:
			n, err := countFuncImports(s.body)
			if err != nil && !errors.Is(err, ErrMeter) {
				return nil, 0, err
			}
			imports = n
		case 3:
			n, _ := r.u32()
			for i := uint32(0); i < n; i++ {
				t, _ := r.u32()
				funcTypes = append(funcTypes, t)
			}
		case 7:
			n, _ := r.u32()
			for i := uint32(0); i < n; i++ {
				name, err := readName(r)
				if err != nil {
					return nil, 0, err
				}
				kind, _ := r.byte()
				idx, _ := r.u32()
				if kind == 0 && name == "malloc" {
					malloc = int64(idx)
				}
			}
		}
	}
	if malloc < 0 {
		return nil, 0, errors.New("wasm: no exported malloc")
	}
	fixed := 0
	out := append([]byte(nil), wasm[:8]...)
	for _, s := range secs {
		body := s.body
		if s.id == 10 {
			r := &reader{b: body}
			n, _ := r.u32()
			nb := appendU32(nil, n)
			for i := uint32(0); i < n; i++ {
				size, err := r.u32()
				if err != nil {
					return nil, 0, err
				}
				fn := body[r.pos : r.pos+int(size)]
				r.pos += int(size)
				if int(i) < len(funcTypes) && int(funcTypes[i]) < len(stubType) && stubType[funcTypes[i]] &&
					bytes.Equal(fn, []byte{0x00, 0x00, 0x0b}) && uint32(malloc) != imports+i {
					fn = appendU32([]byte{0x00, 0x20, 0x00, 0xad, 0x10}, uint32(malloc))
					fn = append(fn, 0x0b)
					fixed++
				}
				nb = appendU32(nb, uint32(len(fn)))
				nb = append(nb, fn...)
			}
			body = nb
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, fixed, nil
}
