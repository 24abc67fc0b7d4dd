package wasmbin

import "fmt"

// rewriteCode copies the code section, replacing each `call target` by inline.
func rewriteCode(body []byte, target uint32, inline []byte) ([]byte, error) {
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
		fn, err := rewriteBody(body[start:r.pos], target, inline)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	return out, nil
}

func rewriteBody(fn []byte, target uint32, inline []byte) ([]byte, error) {
	r := &reader{b: fn}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	for g := uint32(0); g < groups; g++ {
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		if err := r.skip(1); err != nil {
			return nil, err
		}
	}
	out := append([]byte(nil), fn[:r.pos]...)
	for r.pos < len(fn) {
		start := r.pos
		op, _ := r.byte()
		if op == 0x10 { // call
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			if idx == target {
				out = append(out, inline...)
				continue
			}
		} else if err := skipImmediates(r, op); err != nil {
			return nil, fmt.Errorf("offset %d: %w", start, err)
		}
		out = append(out, fn[start:r.pos]...)
	}
	return out, nil
}

// skipImmediates skips the immediates of one instruction (MVP, sign extension, saturating
// conversions, bulk memory, reference types, SIMD, threads, legacy exceptions, tail calls).
func skipImmediates(r *reader, op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04 || op == 0x06: // block, loop, if, try: blocktype
		return skipBlockType(r)
	case op == 0x0c || op == 0x0d || op == 0x08 || op == 0x09 || op == 0x07 || op == 0x18 ||
		op == 0x12 || op == 0xd2 || op == 0x25 || op == 0x26 || (op >= 0x20 && op <= 0x24):
		return r.skipLEB(5) // one index
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i <= n; i++ {
			if err := r.skipLEB(5); err != nil {
				return err
			}
		}
		return nil
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect: type, table
		if err := r.skipLEB(5); err != nil {
			return err
		}
		return r.skipLEB(5)
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return err
		}
		return r.skip(int(n))
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		return skipMemarg(r)
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		return r.skipLEB(5)
	case op == 0x41:
		return r.skipLEB(5)
	case op == 0x42:
		return r.skipLEB(10)
	case op == 0x43:
		return r.skip(4)
	case op == 0x44:
		return r.skip(8)
	case op == 0xd0: // ref.null t
		return r.skip(1)
	case op == 0xfc:
		return skipFC(r)
	case op == 0xfd:
		return skipFD(r)
	case op == 0xfe:
		return skipFE(r)
	case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x19 || op == 0x1a || op == 0x1b ||
		(op >= 0x45 && op <= 0xc4) || op == 0xd1:
		return nil // no immediates
	}
	return fmt.Errorf("opcode %#x not handled", op)
}

func skipBlockType(r *reader) error {
	if r.pos >= len(r.b) {
		return errTruncated
	}
	c := r.b[r.pos]
	if c == 0x40 || (c >= 0x6f && c <= 0x7f) {
		r.pos++
		return nil
	}
	return r.skipLEB(5) // s33 type index
}

func skipMemarg(r *reader) error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multi-memory: a memory index follows
		if err := r.skipLEB(5); err != nil {
			return err
		}
	}
	return r.skipLEB(10) // offset
}

func skipFC(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 8: // memory.init data, mem
		if err := r.skipLEB(5); err != nil {
			return err
		}
		return r.skipLEB(5)
	case sub == 9 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop, elem.drop, table.grow/size/fill
		return r.skipLEB(5)
	case sub == 10 || sub == 12 || sub == 14: // memory.copy, table.init, table.copy
		if err := r.skipLEB(5); err != nil {
			return err
		}
		return r.skipLEB(5)
	case sub == 11: // memory.fill
		return r.skipLEB(5)
	}
	return fmt.Errorf("0xfc %d not handled", sub)
}

func skipFD(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads, stores, load_zero: memarg
		return skipMemarg(r)
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load/store lane: memarg + lane
		if err := skipMemarg(r); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0x113: // every other SIMD instruction has no immediate
		return nil
	}
	return fmt.Errorf("0xfd %d not handled", sub)
}

func skipFE(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	if sub == 0x03 { // atomic.fence
		return r.skip(1)
	}
	if sub <= 0x4e {
		return skipMemarg(r)
	}
	return fmt.Errorf("0xfe %d not handled", sub)
}
