package runtime

// meterWasm returns the auxiliary module linked as the "metering" import of metered modules:
//
//	(module
//	  (global $used (export "used") (mut i64) (i64.const 0))
//	  (global $limit (export "limit") (mut i64) (i64.const 0))
//	  (func (export "usegas") (param i32)
//	    (global.set $used (i64.add (global.get $used) (i64.extend_i32_s (local.get 0))))
//	    (if (i64.gt_s (global.get $used) (global.get $limit)) (then unreachable))))
//
// Metered modules call usegas at every basic block (100k–250k calls for a small aos message).
// Keeping the counter in WebAssembly keeps those calls inside compiled code; a Go host function
// costs ~35–40 ns per call, ten times the evaluation itself (wasm-abi.md §4.3). The arithmetic is
// the reference loader's: used += n (n signed), out of gas when used > limit.
func meterWasm() []byte {
	sec := func(id byte, body ...byte) []byte {
		return append([]byte{id, byte(len(body))}, body...)
	}
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	var b []byte
	b = append(b, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
	b = append(b, sec(0x01, 0x01, 0x60, 0x01, 0x7f, 0x00)...) // type 0: (i32) -> ()
	b = append(b, sec(0x03, 0x01, 0x00)...)                   // func 0: type 0
	b = append(b, sec(0x06, 0x02,
		0x7e, 0x01, 0x42, 0x00, 0x0b, // used: mut i64 = 0
		0x7e, 0x01, 0x42, 0x00, 0x0b)...) // limit: mut i64 = 0
	var exp []byte
	exp = append(exp, 0x03)
	exp = append(append(exp, name("usegas")...), 0x00, 0x00)
	exp = append(append(exp, name("used")...), 0x03, 0x00)
	exp = append(append(exp, name("limit")...), 0x03, 0x01)
	b = append(b, sec(0x07, exp...)...)
	body := []byte{
		0x00,       // no locals
		0x23, 0x00, // global.get used
		0x20, 0x00, // local.get 0
		0xac,       // i64.extend_i32_s
		0x7c,       // i64.add
		0x24, 0x00, // global.set used
		0x23, 0x00, // global.get used
		0x23, 0x01, // global.get limit
		0x55,       // i64.gt_s
		0x04, 0x40, // if
		0x00, // unreachable
		0x0b, // end
		0x0b, // end
	}
	code := append([]byte{0x01, byte(len(body))}, body...)
	b = append(b, sec(0x0a, code...)...)
	return b
}
