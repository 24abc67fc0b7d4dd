package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
)

// Export names of the gas globals InlineMeter adds.
const (
	GasUsedExport  = "actorweave.gas_used"
	GasLimitExport = "actorweave.gas_limit"
)

// InlineMeter rewrites a module that imports metering.usegas (i32) so that every call to that
// import is replaced by the counting done inline on two new exported mutable i64 globals:
//
//	used += sign_extend(n); if used > limit { usegas(0) }
//
// Metered modules call usegas at every basic block (about 100k times per small aos message); the
// inline counter leaves the compiled code only when used passes limit, which the host uses as a
// soft limit (out of gas, deadline, and a regular return to Go). The import keeps its index, so no
// function index changes. It returns an error for anything it does not handle (the caller then
// runs the module unmodified).
func InlineMeter(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, errors.New("wasm: not a version 1 binary")
	}
	type section struct {
		id   byte
		body []byte
	}
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

	usegas, importedGlobals, definedGlobals := -1, 0, 0
	funcImports, usegasType := 0, uint32(0)
	var typesBody []byte
	for _, s := range secs {
		switch s.id {
		case 1:
			typesBody = s.body
		case 2:
			var err error
			usegas, usegasType, funcImports, importedGlobals, err = scanImports(s.body)
			if err != nil {
				return nil, err
			}
		case 6:
			sr := &reader{b: s.body}
			n, err := sr.u32()
			if err != nil {
				return nil, err
			}
			definedGlobals = int(n)
		}
	}
	_ = funcImports
	if usegas < 0 {
		return nil, errors.New("wasm: no metering.usegas (i32 or i64) -> () import")
	}
	param, err := funcParam(typesBody, usegasType)
	if err != nil {
		return nil, err
	}
	used := uint32(importedGlobals + definedGlobals)
	limit := used + 1

	// The inline sequence replacing `call usegas` (the i32 or i64 argument is on the stack).
	var inline []byte
	if param == 0x7f {
		inline = append(inline, 0xac) // i64.extend_i32_s
	}
	inline = appendU32(append(inline, 0x23), used)  // global.get used
	inline = append(inline, 0x7c)                   // i64.add
	inline = appendU32(append(inline, 0x24), used)  // global.set used
	inline = appendU32(append(inline, 0x23), used)  // global.get used
	inline = appendU32(append(inline, 0x23), limit) // global.get limit
	inline = append(inline, 0x55, 0x04, 0x40)       // i64.gt_s; if
	if param == 0x7f {
		inline = append(inline, 0x41, 0x00) // i32.const 0
	} else {
		inline = append(inline, 0x42, 0x00) // i64.const 0
	}
	inline = appendU32(append(inline, 0x10), uint32(usegas))
	inline = append(inline, 0x0b) // call usegas; end

	newGlobal := []byte{0x7e, 0x01, 0x42, 0x00, 0x0b} // mut i64 = i64.const 0
	out := append([]byte(nil), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	wroteGlobals, wroteExports := false, false
	order := func(id byte) int { // the standard section order; custom sections keep their place
		switch id {
		case 12:
			return 95 // data count: between element (9) and code (10)
		default:
			return int(id) * 10
		}
	}
	for _, s := range secs {
		if s.id != 0 && !wroteGlobals && order(s.id) > order(6) {
			emit(6, append(appendU32(nil, 2), append(newGlobal, newGlobal...)...))
			wroteGlobals = true
		}
		if s.id != 0 && !wroteExports && order(s.id) > order(7) {
			emit(7, gasExports(nil, 0, used, limit))
			wroteExports = true
		}
		switch s.id {
		case 6:
			sr := &reader{b: s.body}
			n, _ := sr.u32()
			body := appendU32(nil, n+2)
			body = append(body, s.body[sr.pos:]...)
			body = append(body, newGlobal...)
			body = append(body, newGlobal...)
			emit(6, body)
			wroteGlobals = true
		case 7:
			sr := &reader{b: s.body}
			n, err := sr.u32()
			if err != nil {
				return nil, err
			}
			emit(7, gasExports(s.body[sr.pos:], n, used, limit))
			wroteExports = true
		case 10:
			body, err := rewriteCode(s.body, uint32(usegas), inline)
			if err != nil {
				return nil, err
			}
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	if !wroteGlobals || !wroteExports {
		return nil, errors.New("wasm: module has no code section")
	}
	return out, nil
}

func gasExports(existing []byte, n uint32, used, limit uint32) []byte {
	b := appendU32(nil, n+2)
	b = append(b, existing...)
	b = appendU32(append(appendName(b, GasUsedExport), 0x03), used)
	b = appendU32(append(appendName(b, GasLimitExport), 0x03), limit)
	return b
}

// funcParam returns the single parameter type of function type t, which must have no results.
func funcParam(types []byte, t uint32) (byte, error) {
	r := &reader{b: types}
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	for i := uint32(0); i < n; i++ {
		if form, err := r.byte(); err != nil || form != 0x60 {
			return 0, errors.New("wasm: type section not handled")
		}
		np, err := r.u32()
		if err != nil {
			return 0, err
		}
		start := r.pos
		if err := r.skip(int(np)); err != nil {
			return 0, err
		}
		nr, err := r.u32()
		if err != nil {
			return 0, err
		}
		if err := r.skip(int(nr)); err != nil {
			return 0, err
		}
		if i == t {
			if np != 1 || nr != 0 || (types[start] != 0x7f && types[start] != 0x7e) {
				return 0, errors.New("wasm: metering.usegas is not (i32 or i64) -> ()")
			}
			return types[start], nil
		}
	}
	return 0, errors.New("wasm: metering.usegas has no type")
}

// scanImports returns the function index of metering.usegas (-1 if absent) and its type, the
// number of imported functions and of imported globals.
func scanImports(body []byte) (usegas int, usegasType uint32, funcs, globals int, err error) {
	usegas = -1
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return
	}
	name := func() (string, error) {
		l, err := r.u32()
		if err != nil {
			return "", err
		}
		start := r.pos
		if err := r.skip(int(l)); err != nil {
			return "", err
		}
		return string(r.b[start:r.pos]), nil
	}
	for i := uint32(0); i < n; i++ {
		mod, e1 := name()
		fld, e2 := name()
		kind, e3 := r.byte()
		if err = errors.Join(e1, e2, e3); err != nil {
			return
		}
		switch kind {
		case 0x00: // function: type index
			var t uint32
			if t, err = r.u32(); err != nil {
				return
			}
			if mod == "metering" && fld == "usegas" {
				usegas, usegasType = funcs, t
			}
			funcs++
		case 0x01: // table: reftype + limits
			if err = r.skip(1); err != nil {
				return
			}
			if err = skipLimits(r); err != nil {
				return
			}
		case 0x02: // memory: limits
			if err = skipLimits(r); err != nil {
				return
			}
		case 0x03: // global: valtype + mut
			if err = r.skip(2); err != nil {
				return
			}
			globals++
		default:
			err = fmt.Errorf("wasm: import kind %#x not handled", kind)
			return
		}
	}
	return
}

func skipLimits(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x03 {
		return fmt.Errorf("wasm: limits flags %#x not handled", flags)
	}
	if err := r.skipLEB(10); err != nil {
		return err
	}
	if flags&1 != 0 {
		return r.skipLEB(10)
	}
	return nil
}
