package runtime

import (
	"errors"
	"fmt"
	"strings"
)

// Module formats (the Module-Format tag).
const (
	FormatEmscripten  = "wasm32-unknown-emscripten"  // aos 1.x, minified imports (module "a")
	FormatEmscripten2 = "wasm32-unknown-emscripten2" // aos 1.x, readable imports
	FormatEmscripten3 = "wasm32-unknown-emscripten3"
	FormatEmscripten4 = "wasm32-unknown-emscripten4" // aos 2.x
	// FormatWasm64 is aos 2.0.x's default: the emscripten4 glue with 64-bit pointers (memory64),
	// lowered to a 32-bit memory at compile time (wasmbin.LowerMemory64), so at most 4 GiB.
	FormatWasm64 = "wasm64-unknown-emscripten-draft_2024_02_15"
	// The -metering formats are loaded unmetered and metered at load time as the reference loader
	// does with @permaweb/wasm-metering (wasmbin.MeterReference): an i32 meter for wasm32 (the
	// emscripten4 glue), an i64 meter for wasm64 (the wasm64 glue).
	FormatWasm32Metering = "wasm32-unknown-emscripten-metering"
	FormatWasm64Metering = "wasm64-unknown-emscripten-draft_2024_10_16-metering"
)

// MaxWasm64Memory is the largest memory a wasm64 process has here: its memory is lowered to a
// 32-bit one. Larger Memory-Limit tags (aos' 16-gb builds) run with this ceiling.
const MaxWasm64Memory uint64 = 4 << 30

// ErrFormat is wrapped by every error about a module format.
var ErrFormat = errors.New("unsupported module format")

// SupportedFormats lists the module formats this runtime runs.
func SupportedFormats() []string {
	return []string{FormatEmscripten, FormatEmscripten2, FormatEmscripten3, FormatEmscripten4, FormatWasm64,
		FormatWasm32Metering, FormatWasm64Metering}
}

// meteredAtLoad tells whether a format's modules are metered at load time.
func meteredAtLoad(format string) bool { return strings.HasSuffix(format, "-metering") }

// isWasm64 tells whether a format's modules have a 64-bit memory and 64-bit pointers.
func isWasm64(format string) bool { return strings.HasPrefix(format, "wasm64-") }

// CheckFormat returns nil for a supported format and otherwise an error that says why.
func CheckFormat(format string) error {
	for _, f := range SupportedFormats() {
		if format == f {
			return nil
		}
	}
	switch {
	}
	return fmt.Errorf("%w %q (supported: %s)", ErrFormat, format, strings.Join(SupportedFormats(), ", "))
}

// generation tells which emscripten glue a format follows.
type generation int

const (
	genV1 generation = 1 // minified, main(0,0), no stack cookie
	genV2 generation = 2 // stack_init + cookie, main(1, argv), fflush(0); UTF-16 sized strings; date 0
	genV3 generation = 3 // stack_init + cookie, main(0,0); UTF-8 sized strings; date counter
	genV4 generation = 4 // ctors only; new stack API; UTF-8 sized strings; date counter; empty env
)

func formatGeneration(format string) generation {
	switch format {
	case FormatEmscripten:
		return genV1
	case FormatEmscripten2:
		return genV2
	case FormatEmscripten3:
		return genV3
	default:
		return genV4
	}
}

// minifiedImports maps the single-letter imports of module "a" of the oldest format to the
// functions the reference loader's emscripten.cjs binds to them (its asmLibraryArg).
var minifiedImports = map[string]string{
	"a": "_emscripten_date_now", "b": "setTempRet0", "c": "fd_close", "d": "__syscall_fcntl64",
	"e": "__syscall_unlinkat", "f": "fd_write", "g": "__syscall_openat", "h": "getTempRet0",
	"i": "_mktime_js", "j": "_tzset_js", "k": "emscripten_memcpy_big", "l": "exit", "m": "system",
	"n": "strftime", "o": "fd_seek", "p": "_emscripten_throw_longjmp", "q": "emscripten_resize_heap",
	"r": "__syscall_lstat64", "s": "__syscall_renameat", "t": "__syscall_rmdir", "u": "environ_get",
	"v": "environ_sizes_get", "w": "__syscall_dup3", "x": "invoke_vii", "y": "fd_read",
	"z": "__syscall_ioctl", "A": "_emscripten_get_now_is_monotonic", "B": "_gmtime_js",
	"C": "_localtime_js", "D": "abort",
}

// minifiedExports maps the exports of the oldest format to their readable names.
var minifiedExports = map[string]string{
	"memory": "E", "__wasm_call_ctors": "F", "handle": "G", "main": "H",
	"__indirect_function_table": "I", "malloc": "J", "__errno_location": "K", "setThrew": "L",
	"stackSave": "M", "stackRestore": "N", "stackAlloc": "O",
}
