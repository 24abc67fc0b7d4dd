package wasmbin

import (
	"bytes"
	"errors"
)

// Rename rewrites the names of a module's imports and exports (nothing else changes). It exists
// for tests that need the same code under another format's naming, such as the minified imports
// ("a"."x") and exports of the oldest AO format.
func Rename(wasm []byte, imp func(module, name string) (string, string), exp func(name string) string) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, errors.New("wasm: not a version 1 binary")
	}
	out := append([]byte(nil), wasm[:8]...)
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
		body := wasm[start:r.pos]
		switch id {
		case 2:
			body, err = renameImports(body, imp)
		case 7:
			body, err = renameExports(body, exp)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, nil
}

func readName(r *reader) (string, error) {
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

func renameImports(body []byte, f func(string, string) (string, string)) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		mod, e1 := readName(r)
		name, e2 := readName(r)
		if err := errors.Join(e1, e2); err != nil {
			return nil, err
		}
		descStart := r.pos
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch kind {
		case 0x00:
			err = r.skipLEB(5)
		case 0x01:
			if err = r.skip(1); err == nil {
				err = skipLimits(r)
			}
		case 0x02:
			err = skipLimits(r)
		case 0x03:
			err = r.skip(2)
		default:
			err = errors.New("wasm: unknown import kind")
		}
		if err != nil {
			return nil, err
		}
		mod, name = f(mod, name)
		out = appendName(appendName(out, mod), name)
		out = append(out, body[descStart:r.pos]...)
	}
	return out, nil
}

func renameExports(body []byte, f func(string) string) ([]byte, error) {
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
		descStart := r.pos
		if err := r.skip(1); err != nil {
			return nil, err
		}
		if err := r.skipLEB(5); err != nil {
			return nil, err
		}
		out = appendName(out, f(name))
		out = append(out, body[descStart:r.pos]...)
	}
	return out, nil
}
