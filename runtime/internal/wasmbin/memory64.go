package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrUnsupported is wrapped by every refusal of the memory64 lowering: the module uses something
// the lowering does not fully understand, so running it lowered could change its meaning.
var ErrUnsupported = errors.New("wasm: not supported by the memory64 lowering")

// MaxPages32 is the largest memory of a lowered module: 4 GiB - 64 KiB (emscripten's own ceiling
// for 32-bit memories), one page short of 4 GiB so that the narrowed address of a trapping access
// (0xffffffff) is out of bounds whatever the access.
const MaxPages32 = 65535

// Lowered describes what LowerMemory64 did.
type Lowered struct {
	Memory64 bool   // the module had a 64-bit memory (and was lowered)
	MinPages uint64 // the memory's declared minimum
	MaxPages uint64 // the memory's declared maximum (0: none); the lowered one is capped at MaxPages32
	HasMax   bool
}

// LowerMemory64 rewrites a module with a 64-bit memory (the memory64 proposal, as emscripten's
// -sMEMORY64 produces) into one with a 32-bit memory holding the same bytes, as binaryen's
// Memory64Lowering pass does: the limits become 32-bit (the maximum capped at MaxPages32), active data
// segment offsets become i32, and every address operand is narrowed to i32 where it is used
// (results of memory.size and memory.grow are widened back to i64). Pointers stored in memory stay
// 8 bytes, so the memory image is the one a memory64 engine would have.
//
// An address at or above 4 GiB traps, as it would in a memory64 engine whose memory is below
// 4 GiB, instead of wrapping around: the narrowing turns it into 0xffffffff, out of bounds in a
// lowered memory (at most MaxPages32), so the trap is the same "out of bounds memory access".
// memory.grow by 2^32 pages or more fails (-1) as it would there.
//
// A module without a 64-bit memory is returned unchanged. Anything the lowering does not know
// (multiple memories, table64, shared memories, atomics, SIMD memory access, unknown sections or
// opcodes) is refused with an error wrapping ErrUnsupported that names it.
func LowerMemory64(wasm []byte) ([]byte, Lowered, error) {
	var info Lowered
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, info, errors.New("wasm: not a version 1 binary")
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, info, err
	}
	m := &module64{}
	for _, s := range secs {
		if s.id > 12 {
			return nil, info, fmt.Errorf("%w: section id %d", ErrUnsupported, s.id)
		}
		if err := m.scan(s.id, s.body); err != nil {
			return nil, info, err
		}
	}
	if !m.memory64 {
		return wasm, info, nil
	}
	info = Lowered{Memory64: true, MinPages: m.min, MaxPages: m.max, HasMax: m.hasMax}
	if m.memories != 1 {
		return nil, info, fmt.Errorf("%w: %d memories (multi-memory)", ErrUnsupported, m.memories)
	}
	if m.min > MaxPages32 {
		return nil, info, fmt.Errorf("%w: initial memory of %d pages (%d bytes) is over the %d pages (4 GiB - 64 KiB) of a lowered memory",
			ErrUnsupported, m.min, m.min<<16, MaxPages32)
	}
	out := append([]byte(nil), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	for _, s := range secs {
		body := s.body
		switch s.id {
		case 2:
			body, err = lowerImports(body)
		case 5:
			body, err = lowerMemories(body)
		case 10:
			body, err = m.lowerCode(body)
		case 11:
			body, err = lowerData(body)
		}
		if err != nil {
			return nil, info, err
		}
		emit(s.id, body)
	}
	return out, info, nil
}

type section struct {
	id   byte
	body []byte
}

func splitSections(wasm []byte) ([]section, error) {
	var secs []section
	r := &reader{b: wasm, pos: 8}
	for r.pos < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.pos
		if err := r.skip(int(n)); err != nil {
			return nil, err
		}
		secs = append(secs, section{id, wasm[start:r.pos]})
	}
	return secs, nil
}

// module64 is what the lowering needs to know about a module.
type module64 struct {
	memory64    bool
	memories    int
	min, max    uint64
	hasMax      bool
	typeParams  []uint32 // number of parameters of each type
	funcImports int
	funcTypes   []uint32 // type index of each defined function
}

func (r *reader) u64() (uint64, error) {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift == 63 && c > 1 {
			return 0, errors.New("wasm: LEB128 overflows 64 bits")
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("wasm: LEB128 too long")
}

// readLimits reads memory or table limits, returning flags, min and max.
func readLimits(r *reader) (flags byte, min, max uint64, err error) {
	if flags, err = r.byte(); err != nil {
		return
	}
	if flags > 0x07 {
		err = fmt.Errorf("%w: limits flags %#x", ErrUnsupported, flags)
		return
	}
	if min, err = r.u64(); err != nil {
		return
	}
	if flags&1 != 0 {
		max, err = r.u64()
	}
	return
}

func (m *module64) memory(flags byte, min, max uint64) error {
	m.memories++
	if flags&0x02 != 0 {
		return fmt.Errorf("%w: shared memory (threads)", ErrUnsupported)
	}
	if flags&0x04 != 0 {
		m.memory64 = true
	}
	m.min, m.max, m.hasMax = min, max, flags&1 != 0
	return nil
}

func (m *module64) scan(id byte, body []byte) error {
	r := &reader{b: body}
	switch id {
	case 1: // types
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			form, err := r.byte()
			if err != nil {
				return err
			}
			if form != 0x60 {
				return fmt.Errorf("%w: type form %#x", ErrUnsupported, form)
			}
			np, err := r.u32()
			if err != nil {
				return err
			}
			if err := r.skip(int(np)); err != nil {
				return err
			}
			nr, err := r.u32()
			if err != nil {
				return err
			}
			if err := r.skip(int(nr)); err != nil {
				return err
			}
			m.typeParams = append(m.typeParams, np)
		}
	case 2: // imports
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if _, err := readName(r); err != nil {
				return err
			}
			if _, err := readName(r); err != nil {
				return err
			}
			kind, err := r.byte()
			if err != nil {
				return err
			}
			switch kind {
			case 0x00:
				if _, err := r.u32(); err != nil {
					return err
				}
				m.funcImports++
			case 0x01:
				if err := r.skip(1); err != nil {
					return err
				}
				flags, _, _, err := readLimits(r)
				if err != nil {
					return err
				}
				if flags&0x04 != 0 {
					return fmt.Errorf("%w: table64 (a table with 64-bit indices)", ErrUnsupported)
				}
			case 0x02:
				flags, min, max, err := readLimits(r)
				if err != nil {
					return err
				}
				if err := m.memory(flags, min, max); err != nil {
					return err
				}
			case 0x03:
				if err := r.skip(2); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%w: import kind %#x", ErrUnsupported, kind)
			}
		}
	case 3: // functions
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			t, err := r.u32()
			if err != nil {
				return err
			}
			if int(t) >= len(m.typeParams) {
				return fmt.Errorf("wasm: function %d has type %d out of range", i, t)
			}
			m.funcTypes = append(m.funcTypes, t)
		}
	case 4: // tables
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.skip(1); err != nil {
				return err
			}
			flags, _, _, err := readLimits(r)
			if err != nil {
				return err
			}
			if flags&0x04 != 0 {
				return fmt.Errorf("%w: table64 (a table with 64-bit indices)", ErrUnsupported)
			}
		}
	case 5: // memories
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			flags, min, max, err := readLimits(r)
			if err != nil {
				return err
			}
			if err := m.memory(flags, min, max); err != nil {
				return err
			}
		}
	}
	return nil
}

// lowerLimits writes 32-bit memory limits for 64-bit ones (others are copied).
func lowerLimits(out []byte, r *reader) ([]byte, error) {
	start := r.pos
	flags, min, max, err := readLimits(r)
	if err != nil {
		return nil, err
	}
	if flags&0x04 == 0 {
		return append(out, r.b[start:r.pos]...), nil
	}
	if min > MaxPages32 {
		return nil, fmt.Errorf("%w: initial memory over %d pages", ErrUnsupported, MaxPages32)
	}
	out = append(out, flags&^0x04)
	out = appendU32(out, uint32(min))
	if flags&1 != 0 {
		out = appendU32(out, uint32(min64(max, MaxPages32)))
	}
	return out, nil
}

func min64(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return b
}

func lowerMemories(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		if out, err = lowerLimits(out, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func lowerImports(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		if _, err := readName(r); err != nil {
			return nil, err
		}
		if _, err := readName(r); err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		if kind == 0x02 {
			out = append(out, body[start:r.pos]...)
			if out, err = lowerLimits(out, r); err != nil {
				return nil, err
			}
			continue
		}
		switch kind {
		case 0x00:
			err = r.skipLEB(5)
		case 0x01:
			if err = r.skip(1); err == nil {
				_, _, _, err = readLimits(r)
			}
		case 0x03:
			err = r.skip(2)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, body[start:r.pos]...)
	}
	return out, nil
}

// lowerData turns the i64.const offsets of active data segments into i32.const.
func lowerData(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		kind, err := r.u32()
		if err != nil {
			return nil, err
		}
		out = appendU32(out, kind)
		switch kind {
		case 0, 2:
			if kind == 2 {
				mem, err := r.u32()
				if err != nil {
					return nil, err
				}
				if mem != 0 {
					return nil, fmt.Errorf("%w: data segment %d for memory %d", ErrUnsupported, i, mem)
				}
				out = appendU32(out, 0)
			}
			op, err := r.byte()
			if err != nil {
				return nil, err
			}
			if op != 0x42 {
				return nil, fmt.Errorf("%w: data segment %d offset is not an i64.const (opcode %#x)", ErrUnsupported, i, op)
			}
			off, err := r.u64()
			if err != nil {
				return nil, err
			}
			end, err := r.byte()
			if err != nil {
				return nil, err
			}
			if end != 0x0b {
				return nil, fmt.Errorf("%w: data segment %d offset is not a single constant", ErrUnsupported, i)
			}
			if off >= 1<<32 {
				return nil, fmt.Errorf("%w: data segment %d at offset %d, over 4 GiB", ErrUnsupported, i, off)
			}
			out = append(out, 0x41)
			out = appendS32(out, int32(uint32(off)))
			out = append(out, 0x0b)
		case 1:
		default:
			return nil, fmt.Errorf("%w: data segment kind %d", ErrUnsupported, kind)
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.pos
		if err := r.skip(int(size)); err != nil {
			return nil, err
		}
		out = appendU32(out, size)
		out = append(out, body[start:r.pos]...)
	}
	return out, nil
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// uncheckedNarrowing makes narrow a bare i32.wrap_i64 (addresses wrap around at 4 GiB): only
// for BenchmarkBoundsCheck, to measure what the check costs.
var uncheckedNarrowing = false

// Scratch locals added to each function that accesses memory, in this order after its own locals.
const (
	tAddr = iota // i64: the address being narrowed
	tS64a        // i64: stashed operands
	tS64b
	tS32a // i32
	tS32b
	tF32 // f32
	tF64 // f64
	nScratch
)

func (m *module64) lowerCode(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(m.funcTypes) {
		return nil, fmt.Errorf("wasm: %d function bodies for %d functions", n, len(m.funcTypes))
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.pos
		if err := r.skip(int(size)); err != nil {
			return nil, err
		}
		fn, err := lowerBody(body[start:r.pos], m.typeParams[m.funcTypes[i]])
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", int(i)+m.funcImports, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	return out, nil
}

// lowering rewrites one function body.
type lowering struct {
	out     []byte
	scratch uint32 // index of the first scratch local
	used    bool
}

func (l *lowering) local(op byte, k int) {
	l.out = appendU32(append(l.out, op), l.scratch+uint32(k))
	l.used = true
}

// narrow turns the i64 address on the stack into an i32 such that an address at or above 4 GiB
// traps: it becomes 0xffffffff, out of bounds for every access in a lowered memory, whose maximum
// is MaxPages32 (4 GiB - 64 KiB), without a branch:
//
//	local.tee A; i32.wrap_i64; i32.const -1; local.get A; i64.const 32; i64.shr_u; i64.eqz; select
//
// Measured on the aos-like Lua module (CPU per message, 3 interleaved rounds): this select costs
// 5-10 % over a bare i32.wrap_i64 (which would wrap around silently); an `if` around an
// out-of-bounds load cost 25 %.
func (l *lowering) narrow() {
	if uncheckedNarrowing { // benchmarks only: the cost of the check
		l.out, l.used = append(l.out, 0xa7), true
		return
	}
	l.local(0x22, tAddr)
	l.out = append(l.out, 0xa7, 0x41, 0x7f)
	l.local(0x20, tAddr)
	l.out = append(l.out, 0x42, 0x20, 0x88, 0x50, 0x1b)
}

// narrowSat is narrow for memory.grow's delta: 2^32 pages or more saturate to 0xffffffff pages,
// which memory.grow refuses (-1), as a memory64 engine refuses the original delta.
//
//	local.tee A; i64.const 0xffffffff; i64.gt_u
//	if (result i32) i32.const -1 else local.get A; i32.wrap_i64 end
func (l *lowering) narrowSat() {
	l.local(0x22, tAddr)
	l.out = append(l.out, 0x42, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x56, 0x04, 0x7f, 0x41, 0x7f, 0x05)
	l.local(0x20, tAddr)
	l.out = append(l.out, 0xa7, 0x0b)
}

// storeTemp is the scratch local for a store's value.
func storeTemp(op byte) int {
	switch op {
	case 0x36, 0x3a, 0x3b:
		return tS32a
	case 0x38:
		return tF32
	case 0x39:
		return tF64
	}
	return tS64a // 0x37, 0x3c, 0x3d, 0x3e
}

func lowerBody(fn []byte, params uint32) ([]byte, error) {
	r := &reader{b: fn}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	groupsEnd := r.pos
	locals := uint64(params)
	for g := uint32(0); g < groups; g++ {
		c, err := r.u32()
		if err != nil {
			return nil, err
		}
		locals += uint64(c)
		if err := r.skip(1); err != nil {
			return nil, err
		}
	}
	if locals+nScratch > 50000 {
		return nil, fmt.Errorf("%w: too many locals (%d)", ErrUnsupported, locals)
	}
	header := fn[:r.pos]
	l := &lowering{scratch: uint32(locals), out: make([]byte, 0, len(fn)+len(fn)/2)}
	for r.pos < len(fn) {
		start := r.pos
		op, _ := r.byte()
		switch {
		case op >= 0x28 && op <= 0x3e: // loads and stores
			align, err := r.u32()
			if err != nil {
				return nil, err
			}
			if align&0x40 != 0 {
				return nil, fmt.Errorf("%w: offset %d: memory access with a memory index (multi-memory)", ErrUnsupported, start)
			}
			off, err := r.u64()
			if err != nil {
				return nil, err
			}
			if off >= 1<<32 {
				return nil, fmt.Errorf("%w: offset %d: memory access offset %d over 4 GiB", ErrUnsupported, start, off)
			}
			if op <= 0x35 {
				l.narrow()
			} else {
				t := storeTemp(op)
				l.local(0x21, t)
				l.narrow()
				l.local(0x20, t)
			}
			l.out = append(l.out, op)
			l.out = appendU32(l.out, align)
			l.out = appendU32(l.out, uint32(off))
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			mem, err := r.byte()
			if err != nil {
				return nil, err
			}
			if mem != 0 {
				return nil, fmt.Errorf("%w: offset %d: memory index %d", ErrUnsupported, start, mem)
			}
			if op == 0x40 {
				l.narrowSat()
				l.out = append(l.out, 0x40, 0x00, 0xac) // memory.grow; i64.extend_i32_s (-1 stays -1)
			} else {
				l.out = append(l.out, 0x3f, 0x00, 0xad) // memory.size; i64.extend_i32_u
				l.used = true
			}
		case op == 0xfc:
			sub, err := r.u32()
			if err != nil {
				return nil, err
			}
			switch sub {
			case 8, 10, 11: // memory.init, memory.copy, memory.fill
				var imm []uint32
				nimm := map[uint32]int{8: 2, 10: 2, 11: 1}[sub]
				for i := 0; i < nimm; i++ {
					v, err := r.u32()
					if err != nil {
						return nil, err
					}
					imm = append(imm, v)
				}
				if (sub == 8 && imm[1] != 0) || (sub == 10 && (imm[0] != 0 || imm[1] != 0)) || (sub == 11 && imm[0] != 0) {
					return nil, fmt.Errorf("%w: offset %d: bulk memory on another memory", ErrUnsupported, start)
				}
				switch sub {
				case 8: // (d i64, s i32, n i32)
					l.local(0x21, tS32a)
					l.local(0x21, tS32b)
					l.narrow()
					l.local(0x20, tS32b)
					l.local(0x20, tS32a)
				case 10: // (d i64, s i64, n i64)
					l.local(0x21, tS64a)
					l.local(0x21, tS64b)
					l.narrow()
					l.local(0x20, tS64b)
					l.narrow()
					l.local(0x20, tS64a)
					l.narrow()
				case 11: // (d i64, v i32, n i64)
					l.local(0x21, tS64a)
					l.local(0x21, tS32a)
					l.narrow()
					l.local(0x20, tS32a)
					l.local(0x20, tS64a)
					l.narrow()
				}
				l.out = appendU32(append(l.out, 0xfc), sub)
				for _, v := range imm {
					l.out = appendU32(l.out, v)
				}
			default:
				r.pos = start + 1
				if err := skipFC(r); err != nil {
					return nil, fmt.Errorf("%w: offset %d: %v", ErrUnsupported, start, err)
				}
				l.out = append(l.out, fn[start:r.pos]...)
			}
		case op == 0xfd:
			sub, err := r.u32()
			if err != nil {
				return nil, err
			}
			if sub <= 11 || sub == 92 || sub == 93 || (sub >= 84 && sub <= 91) {
				return nil, fmt.Errorf("%w: offset %d: SIMD memory access (0xfd %d)", ErrUnsupported, start, sub)
			}
			r.pos = start + 1
			if err := skipFD(r); err != nil {
				return nil, fmt.Errorf("%w: offset %d: %v", ErrUnsupported, start, err)
			}
			l.out = append(l.out, fn[start:r.pos]...)
		case op == 0xfe:
			return nil, fmt.Errorf("%w: offset %d: atomic memory access (threads)", ErrUnsupported, start)
		case op == 0x10: // call (skipImmediates leaves it to its callers)
			if err := r.skipLEB(5); err != nil {
				return nil, err
			}
			l.out = append(l.out, fn[start:r.pos]...)
		default:
			if err := skipImmediates(r, op); err != nil {
				return nil, fmt.Errorf("%w: offset %d: %v", ErrUnsupported, start, err)
			}
			l.out = append(l.out, fn[start:r.pos]...)
		}
	}
	if !l.used {
		return fn, nil
	}
	// The scratch locals, as new groups after the function's own.
	res := appendU32(nil, groups+4)
	res = append(res, header[groupsEnd:]...)
	res = append(res, 3, 0x7e, 2, 0x7f, 1, 0x7d, 1, 0x7c)
	return append(res, l.out...), nil
}
