package wasmbin

import (
	"errors"
	"fmt"
)

// ErrMeter is wrapped by every refusal of MeterReference: the reference metering (whose parser
// knows only the WebAssembly MVP and sign extension) could not have metered the module either.
var ErrMeter = errors.New("wasm: not meterable by the reference metering")

// MeterReference rewrites a module as @permaweb/wasm-metering 0.2.2's meterWASM does with its
// default cost table (the load-time metering of the reference loader's -metering formats): it
// appends the import metering.usegas (param i32, or i64 when i64 is set) after the module's
// imports (function indices at or above it move up by one in calls, exports, elements and start)
// and puts `<type>.const cost; call usegas` before every segment of straight-line code, a segment
// ending after each end, br, br_if, br_table, if, else, return, loop and memory.grow. A segment's
// cost is the sum of its instructions' costs by name, plus 91 (the cost of the metering call
// itself) when that sum is not zero. The result charges exactly the gas the reference charges.
//
// The reference parser (@permaweb/wasm-json-toolkit 0.2.9) reads only MVP instructions and sign
// extension, active data and element segments of the MVP form and one-byte block types; anything
// else is refused here, as it fails there.
func MeterReference(wasm []byte, i64 bool) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:8]) != "\x00asm\x01\x00\x00\x00" {
		return nil, errors.New("wasm: not a version 1 binary")
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	var nTypes uint32
	funcImports := uint32(0)
	hasType, hasImport := false, false
	for _, s := range secs {
		switch s.id {
		case 1:
			hasType = true
			r := &reader{b: s.body}
			if nTypes, err = r.u32(); err != nil {
				return nil, err
			}
		case 2:
			hasImport = true
			n, err := countFuncImports(s.body)
			if err != nil {
				return nil, err
			}
			funcImports = n
		}
	}
	meterParam := byte(0x7f)
	if i64 {
		meterParam = 0x7e
	}
	usegas := funcImports
	remap := func(idx uint32) uint32 {
		if idx >= usegas {
			return idx + 1
		}
		return idx
	}
	// The metering statement: <type>.const cost; call usegas.
	stmt := func(out []byte, cost int64) []byte {
		if i64 {
			out = append(out, 0x42)
		} else {
			out = append(out, 0x41)
		}
		out = appendS64(out, cost)
		return appendU32(append(out, 0x10), usegas)
	}
	out := append([]byte(nil), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	newType := []byte{0x60, 1, meterParam, 0}
	newImport := appendName(appendName(nil, "metering"), "usegas")
	newImport = appendU32(append(newImport, 0x00), nTypes)
	order := func(id byte) int {
		if id == 12 {
			return 95
		}
		return int(id) * 10
	}
	for _, s := range secs {
		if !hasType && s.id != 0 && order(s.id) > order(1) {
			emit(1, append(appendU32(nil, 1), newType...))
			hasType = true
		}
		if !hasImport && s.id != 0 && order(s.id) > order(2) {
			emit(2, append(appendU32(nil, 1), newImport...))
			hasImport = true
		}
		body := s.body
		var err error
		switch s.id {
		case 1:
			body, err = appendEntry(body, newType)
		case 2:
			body, err = appendEntry(body, newImport)
		case 6:
			err = checkGlobalsMVP(body)
		case 7:
			body, err = remapExports(body, remap)
		case 8:
			r := &reader{b: body}
			idx, e := r.u32()
			body, err = appendU32(nil, remap(idx)), e
		case 9:
			body, err = remapElements(body, remap)
		case 10:
			body, err = meterCode(body, usegas, stmt)
		case 11:
			err = checkDataMVP(body)
		}
		if err != nil {
			return nil, err
		}
		emit(s.id, body)
	}
	return out, nil
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendEntry adds one entry at the end of a vector section.
func appendEntry(body, entry []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n+1)
	out = append(out, body[r.pos:]...)
	return append(out, entry...), nil
}

func countFuncImports(body []byte) (uint32, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	var funcs uint32
	for i := uint32(0); i < n; i++ {
		mod, e1 := readName(r)
		name, e2 := readName(r)
		kind, e3 := r.byte()
		if err := errors.Join(e1, e2, e3); err != nil {
			return 0, err
		}
		if mod == "metering" && name == "usegas" {
			return 0, fmt.Errorf("%w: importing metering function is not allowed", ErrMeter)
		}
		switch kind {
		case 0x00:
			if err := r.skipLEB(5); err != nil {
				return 0, err
			}
			funcs++
		case 0x01:
			if err := r.skip(1); err != nil {
				return 0, err
			}
			if _, _, _, err := readLimits(r); err != nil {
				return 0, err
			}
		case 0x02:
			if _, _, _, err := readLimits(r); err != nil {
				return 0, err
			}
		case 0x03:
			if err := r.skip(2); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("%w: import kind %#x", ErrMeter, kind)
		}
	}
	return funcs, nil
}

func remapExports(body []byte, remap func(uint32) uint32) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		name, err := readName(r)
		if err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		idx, err := r.u32()
		if err != nil {
			return nil, err
		}
		if kind == 0x00 {
			idx = remap(idx)
		}
		out = appendU32(append(appendName(out, name), kind), idx)
	}
	return out, nil
}

// mvpConstExpr checks a constant expression the reference parser reads (one instruction, end)
// and returns its bytes.
func mvpConstExpr(r *reader) ([]byte, error) {
	start := r.pos
	op, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch op {
	case 0x41, 0x42, 0x23:
		err = r.skipLEB(10)
	case 0x43:
		err = r.skip(4)
	case 0x44:
		err = r.skip(8)
	default:
		return nil, fmt.Errorf("%w: constant expression opcode %#x", ErrMeter, op)
	}
	if err != nil {
		return nil, err
	}
	if end, err := r.byte(); err != nil || end != 0x0b {
		return nil, fmt.Errorf("%w: constant expression of more than one instruction", ErrMeter)
	}
	return r.b[start:r.pos], nil
}

func checkGlobalsMVP(body []byte) error {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := r.skip(2); err != nil {
			return err
		}
		if _, err := mvpConstExpr(r); err != nil {
			return err
		}
	}
	return nil
}

func remapElements(body []byte, remap func(uint32) uint32) ([]byte, error) {
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
		if kind != 0 {
			return nil, fmt.Errorf("%w: element segment kind %d", ErrMeter, kind)
		}
		expr, err := mvpConstExpr(r)
		if err != nil {
			return nil, err
		}
		out = append(appendU32(out, 0), expr...)
		cnt, err := r.u32()
		if err != nil {
			return nil, err
		}
		out = appendU32(out, cnt)
		for j := uint32(0); j < cnt; j++ {
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = appendU32(out, remap(idx))
		}
	}
	return out, nil
}

func checkDataMVP(body []byte) error {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		kind, err := r.u32()
		if err != nil {
			return err
		}
		if kind != 0 {
			return fmt.Errorf("%w: data segment kind %d (passive or with a memory index)", ErrMeter, kind)
		}
		if _, err := mvpConstExpr(r); err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		if err := r.skip(int(size)); err != nil {
			return err
		}
	}
	return nil
}

// refCost is @permaweb/wasm-metering's defaultCostTable.json by opcode: the table is keyed by the
// instruction's name without its type prefix ("add" for i32.add and f64.add alike), and a name
// the table lacks costs 0. -1 marks an opcode the reference parser does not know.
var refCost [256]int64

// refBranching are the instructions after which a metered segment ends.
var refBranching [256]bool

func init() {
	for i := range refCost {
		refCost[i] = -1
	}
	set := func(cost int64, ops ...int) {
		for _, op := range ops {
			refCost[op] = cost
		}
	}
	set(1, 0x00, 0x01, 0x02, 0x03, 0x04)  // unreachable nop block loop if
	set(90, 0x05, 0x0c, 0x0d, 0x0f, 0x10) // else br br_if return call
	set(0, 0x0b)                          // end
	set(120, 0x0e)                        // br_table
	set(10000, 0x11)                      // call_indirect
	set(120, 0x1a, 0x1b)                  // drop select
	set(120, 0x20, 0x21, 0x22, 0x23, 0x24)
	for op := 0x28; op <= 0x3e; op++ { // loads and stores
		set(120, op)
	}
	set(100, 0x3f)                     // current_memory
	set(10000, 0x40)                   // grow_memory
	set(1, 0x41, 0x42, 0x43, 0x44)     // const
	set(45, 0x45, 0x50)                // eqz
	for op := 0x46; op <= 0x4f; op++ { // i32 eq ne lt gt le ge (_s/_u)
		set(45, op)
	}
	for op := 0x51; op <= 0x5a; op++ { // i64 the same
		set(45, op)
	}
	set(45, 0x5b, 0x5c, 0x61, 0x62)          // f32/f64 eq ne
	set(0, 0x5d, 0x5e, 0x5f, 0x60)           // f32 lt gt le ge: not in the table
	set(0, 0x63, 0x64, 0x65, 0x66)           // f64 lt gt le ge
	for _, base := range []int{0x67, 0x79} { // i32 / i64 numeric
		set(45, base, base+1, base+2)              // clz ctz popcnt
		set(45, base+3, base+4, base+5)            // add sub mul
		set(36000, base+6, base+7, base+8, base+9) // div_s div_u rem_s rem_u
		set(45, base+10, base+11, base+12)         // and or xor
		set(67, base+13, base+14, base+15)         // shl shr_s shr_u
		set(90, base+16, base+17)                  // rotl rotr
	}
	for _, base := range []int{0x8b, 0x99} { // f32 / f64 numeric
		set(0, base, base+1, base+2, base+3, base+4, base+5, base+6) // abs neg ceil floor trunc nearest sqrt
		set(45, base+7, base+8, base+9)                              // add sub mul
		set(0, base+10, base+11, base+12, base+13)                   // div min max copysign
	}
	for op := 0xa7; op <= 0xc4; op++ { // conversions, reinterpretations, sign extension
		set(0, op)
	}
	for _, op := range []int{0x40, 0x0b, 0x0c, 0x0e, 0x0d, 0x04, 0x05, 0x0f, 0x03} {
		refBranching[op] = true
	}
}

// refOverhead is the cost of the metering statement itself (const 1 + call 90).
const refOverhead = 91

func meterCode(body []byte, usegas uint32, stmt func([]byte, int64) []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
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
		fn, err := meterBody(body[start:r.pos], usegas, stmt)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	return out, nil
}

func meterBody(fn []byte, usegas uint32, stmt func([]byte, int64) []byte) ([]byte, error) {
	r := &reader{b: fn}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	for g := uint32(0); g < groups; g++ {
		if err := r.skipLEB(5); err != nil {
			return nil, err
		}
		if err := r.skip(1); err != nil {
			return nil, err
		}
	}
	out := append(make([]byte, 0, len(fn)*2), fn[:r.pos]...)
	var seg []byte
	var cost int64
	for r.pos < len(fn) {
		start := r.pos
		op, _ := r.byte()
		c := refCost[op]
		if c < 0 {
			return nil, fmt.Errorf("%w: offset %d: opcode %#x", ErrMeter, start, op)
		}
		if op == 0x10 { // call: indices at or above the new import move up
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			if idx >= usegas {
				idx++
			}
			seg = appendU32(append(seg, 0x10), idx)
		} else {
			if err := skipRefImmediates(r, op); err != nil {
				return nil, fmt.Errorf("offset %d: %w", start, err)
			}
			seg = append(seg, fn[start:r.pos]...)
		}
		cost += c
		if refBranching[op] || r.pos == len(fn) {
			if cost != 0 {
				out = stmt(out, cost+refOverhead)
			}
			out = append(out, seg...)
			seg, cost = seg[:0], 0
		}
	}
	return out, nil
}

// skipRefImmediates skips the immediates of an instruction as the reference parser reads them.
func skipRefImmediates(r *reader, op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04:
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c != 0x40 && (c < 0x7c || c > 0x7f) {
			return fmt.Errorf("%w: block type %#x (the reference reads one value type)", ErrMeter, c)
		}
		return nil
	case op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x24):
		return r.skipLEB(5)
	case op == 0x0e:
		return skipImmediates(r, op)
	case op == 0x11:
		if err := r.skipLEB(5); err != nil {
			return err
		}
		return r.skip(1)
	case op >= 0x28 && op <= 0x3e:
		if err := r.skipLEB(5); err != nil {
			return err
		}
		return r.skipLEB(10)
	case op == 0x3f || op == 0x40:
		return r.skip(1)
	case op >= 0x41 && op <= 0x44:
		return skipImmediates(r, op)
	}
	return nil
}
