package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/table"
)

// Errno values in emscripten's (WASI) numbering.
const (
	errnoBADF   = 8
	errnoINVAL  = 28
	errnoNOENT  = 44
	errnoNOSYS  = 52
	errnoNOTTY  = 59
	errnoSPIPE  = 70
	tcgets      = 21505
	tcsets      = 21509
	tzNameV1V2  = "Coordinated Universal Time"
	tzNameV3V4  = "UTC"
	stackCookie = 0x02135467
)

// Sentinels a host function panics with; wazero unwinds to the nearest Call and returns them
// wrapped, so errors.Is finds them.
var (
	errLongjmp = errors.New("emscripten longjmp")
	errAbort   = errors.New("the module called abort()")
)

type exitError struct{ code int32 }

func (e exitError) Error() string { return fmt.Sprintf("the module called exit(%d)", e.code) }

// hostVars is the host-side state of one process that the module can observe. It is saved with
// every base snapshot and restored with it, so that a reverted message leaves no trace here either.
type hostVars struct {
	tempRet0    uint32
	dateCounter float64 // v3/v4: Date.now() is a counter starting at 10000
	tzsetCalled bool
}

// host implements the emscripten imports for one instance.
type host struct {
	gen         generation
	thisProgram string
	memLimit    uint64
	heapMax     uint64
	stdio       io.Writer
	vars        hostVars
	inst        *Instance
	pool        map[uint32][]api.Function // free api.Functions per table index, for invoke_*
	stacks      [][]uint64                // free call stacks of invoke_*
	// ceilingHit: the module asked for more memory than this node gives any process (a wasm64
	// module over MaxWasm64Memory) while its Memory-Limit allowed it; the message is an Error.
	ceilingHit bool
	compiled   []wazero.CompiledModule // this instance's compiled host modules, closed with it
	wd         driveState              // WeaveDrive (weavedrive.go)
}

// importFn describes one imported function as the module declares it.
type importFn struct {
	module, name, canonical string
	params, results         []api.ValueType
}

func (h *host) fn(imp importFn) api.GoModuleFunc {
	if imp.module == "metering" && imp.name == "usegas" {
		return h.inst.gas.usegas
	}
	if h.inst.mod.wasm64 {
		f := h.fn64(imp)
		if f == nil {
			f = h.fn32(imp)
		}
		if strings.HasPrefix(imp.canonical, "__syscall_") && len(imp.results) == 1 && imp.results[0] == api.ValueTypeI64 {
			f = signExtend64(f)
		}
		return f
	}
	return h.fn32(imp)
}

// fn32 returns the implementation of an import in the 32-bit ABI.
func (h *host) fn32(imp importFn) api.GoModuleFunc {
	switch imp.canonical {
	case "abort", "_abort_js":
		return func(context.Context, api.Module, []uint64) { panic(errAbort) }
	case "exit":
		return func(_ context.Context, _ api.Module, s []uint64) { panic(exitError{int32(s[0])}) }
	case "getTempRet0":
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = uint64(h.vars.tempRet0) }
	case "setTempRet0":
		return func(_ context.Context, _ api.Module, s []uint64) { h.vars.tempRet0 = uint32(s[0]) }
	case "_emscripten_throw_longjmp":
		return func(context.Context, api.Module, []uint64) { panic(errLongjmp) }
	case "emscripten_memcpy_big", "_emscripten_memcpy_js":
		return func(_ context.Context, m api.Module, s []uint64) {
			dst, src, n := uint32(s[0]), uint32(s[1]), uint32(s[2])
			buf, _ := m.Memory().Read(0, m.Memory().Size())
			if uint64(dst)+uint64(n) > uint64(len(buf)) || uint64(src)+uint64(n) > uint64(len(buf)) {
				panic(errors.New("memcpy out of bounds"))
			}
			copy(buf[dst:dst+n], buf[src:src+n])
			if len(imp.results) > 0 {
				s[0] = uint64(dst)
			}
		}
	case "emscripten_resize_heap":
		return func(_ context.Context, m api.Module, s []uint64) { s[0] = h.resizeHeap(m.Memory(), uint32(s[0])) }
	case "system", "_emscripten_system":
		// Never run anything on the host (ao-loader 0.0.49's emscripten4 glue does, under node).
		return func(_ context.Context, m api.Module, s []uint64) {
			if uint32(s[0]) == 0 {
				s[0] = 0
				return
			}
			h.setErrno(m, errnoNOSYS)
			s[0] = uint64(uint32(0xffffffff))
		}
	case "_emscripten_date_now", "emscripten_date_now":
		return func(_ context.Context, _ api.Module, s []uint64) {
			if h.gen <= genV2 {
				s[0] = api.EncodeF64(0)
				return
			}
			s[0] = api.EncodeF64(h.vars.dateCounter)
			h.vars.dateCounter++
		}
	case "emscripten_get_now":
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = api.EncodeF64(math.NaN()) }
	case "_emscripten_get_now_is_monotonic":
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = 1 }
	case "_tzset_js":
		return h.tzset
	case "_mktime_js":
		return func(_ context.Context, m api.Module, s []uint64) { h.mktime(m, s, imp) }
	case "_localtime_js", "_gmtime_js":
		local := imp.canonical == "_localtime_js"
		return func(_ context.Context, m api.Module, s []uint64) { h.breakTime(m, s, imp, local) }
	case "strftime":
		return func(_ context.Context, m api.Module, s []uint64) {
			s[0] = uint64(strftime(m.Memory(), uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3])))
		}
	case "environ_sizes_get":
		return func(_ context.Context, m api.Module, s []uint64) {
			env := h.environ()
			size := 0
			for _, e := range env {
				size += len(e) + 1
			}
			m.Memory().WriteUint32Le(uint32(s[0]), uint32(len(env)))
			m.Memory().WriteUint32Le(uint32(s[1]), uint32(size))
			s[0] = 0
		}
	case "environ_get":
		return func(_ context.Context, m api.Module, s []uint64) {
			ptrs, buf := uint32(s[0]), uint32(s[1])
			for i, e := range h.environ() {
				m.Memory().WriteUint32Le(ptrs+uint32(4*i), buf)
				m.Memory().WriteString(buf, e)
				m.Memory().WriteByte(buf+uint32(len(e)), 0)
				buf += uint32(len(e) + 1)
			}
			s[0] = 0
		}
	case "fd_write":
		return func(_ context.Context, m api.Module, s []uint64) { s[0] = h.fdWrite(m.Memory(), s) }
	case "fd_read":
		return func(_ context.Context, m api.Module, s []uint64) {
			if uint32(s[0]) > 2 {
				s[0] = errnoBADF
				return
			}
			m.Memory().WriteUint32Le(uint32(s[3]), 0) // stdin is at end of file
			s[0] = 0
		}
	case "fd_close":
		return func(_ context.Context, _ api.Module, s []uint64) {
			if d := h.wd.fds[int32(uint32(s[0]))]; d != nil {
				_ = d.f.Close()
				delete(h.wd.fds, int32(uint32(s[0])))
				s[0] = 0
				return
			}
			if uint32(s[0]) > 2 {
				s[0] = errnoBADF
				return
			}
			s[0] = 0
		}
	case "fd_seek":
		n := len(imp.params)
		return func(_ context.Context, m api.Module, s []uint64) { s[0] = h.fdSeek(m, s, n) }
	case "__syscall_ioctl":
		return func(_ context.Context, _ api.Module, s []uint64) {
			fd, op := uint32(s[0]), uint32(s[1])
			switch {
			case fd > 2:
				s[0] = negErrno(errnoBADF)
			case op == tcgets || op == tcsets || op == 21510 || op == 21511 || op == 21512 ||
				op == 21506 || op == 21507 || op == 21508 || op == 21523 || op == 21524:
				s[0] = 0
			default:
				s[0] = negErrno(errnoNOTTY)
			}
		}
	case "__syscall_fcntl64":
		return func(_ context.Context, _ api.Module, s []uint64) {
			if uint32(s[0]) > 2 {
				s[0] = negErrno(errnoBADF)
				return
			}
			s[0] = 0
		}
	case "__syscall_dup3":
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = negErrno(errnoBADF) }
	case "__syscall_openat", "__syscall_open", "__syscall_unlinkat", "__syscall_unlink",
		"__syscall_rmdir", "__syscall_renameat", "__syscall_rename", "__syscall_lstat64",
		"__syscall_stat64", "__syscall_readlinkat", "__syscall_faccessat", "__syscall_newfstatat":
		// No file system: every path is absent.
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = negErrno(errnoNOENT) }
	// emscripten 3.1.6 (Debian) imports.
	case "clock":
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 }
	case "time":
		return func(_ context.Context, m api.Module, s []uint64) {
			if p := uint32(s[0]); p != 0 {
				if imp.results[0] == api.ValueTypeI64 {
					m.Memory().WriteUint64Le(p, 0)
				} else {
					m.Memory().WriteUint32Le(p, 0)
				}
			}
			s[0] = 0
		}
	case "difftime":
		return func(_ context.Context, _ api.Module, s []uint64) {
			a, b := signedParam(s[0], imp.params[0]), signedParam(s[1], imp.params[1])
			s[0] = api.EncodeF64(a - b)
		}
	case "__clock_gettime", "clock_gettime":
		return func(_ context.Context, m api.Module, s []uint64) {
			ts := uint32(s[1])
			m.Memory().Write(ts, make([]byte, 16))
			s[0] = 0
		}
	// emscripten4 imports.
	case "metering_gasUsed":
		return func(_ context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(uint32(h.inst.gasUsed()))
		}
	// WeaveDrive (weavedrive.go): the glue's asyncify imports, answered synchronously (Go blocks).
	case "__asyncjs__weavedrive_open":
		return h.driveOpen
	case "__asyncjs__weavedrive_read":
		return h.driveRead
	case "__asyncjs__weavedrive_close":
		return h.driveClose
	}
	switch {
	case strings.HasPrefix(imp.canonical, "invoke_"):
		return h.invoke(imp)
	case strings.HasPrefix(imp.canonical, "__syscall_"):
		return func(_ context.Context, _ api.Module, s []uint64) { s[0] = negErrno(errnoNOSYS) }
	}
	name := imp.module + "." + imp.name
	return func(context.Context, api.Module, []uint64) {
		panic(fmt.Errorf("import %s is not implemented by actorweave", name))
	}
}

func negErrno(e int32) uint64 { return uint64(uint32(-e)) }

func signedParam(v uint64, t api.ValueType) float64 {
	switch t {
	case api.ValueTypeI32:
		return float64(int32(v))
	case api.ValueTypeI64:
		return float64(int64(v))
	case api.ValueTypeF64:
		return api.DecodeF64(v)
	case api.ValueTypeF32:
		return float64(api.DecodeF32(v))
	}
	return 0
}

// environ is what the reference glue's getEnvStrings returns.
func (h *host) environ() []string {
	if h.gen >= genV4 {
		return nil
	}
	return []string{"USER=web_user", "LOGNAME=web_user", "PATH=/", "PWD=/", "HOME=/home/web_user",
		"LANG=C.UTF-8", "_=" + h.thisProgram}
}

func (h *host) setErrno(m api.Module, errno uint32) {
	f := h.inst.export("__errno_location")
	if f == nil {
		return
	}
	r, err := f.Call(context.Background())
	if err == nil && len(r) == 1 {
		m.Memory().WriteUint32Le(uint32(r[0]), errno)
	}
}

// resizeHeap is emscripten's emscripten_resize_heap, with the reference glue's exact growth policy
// (in float64 arithmetic, as JavaScript computes it) so that memory sizes match the reference.
// Growth beyond the instance's memory limit fails like growth beyond the module's maximum does:
// malloc returns NULL and Lua reports "not enough memory".
func (h *host) resizeHeap(mem api.Memory, requested uint32) uint64 {
	oldSize := float64(mem.Size())
	req := float64(requested)
	maxHeap := float64(h.heapMax)
	if req > maxHeap {
		return 0
	}
	alignUp := func(x, m float64) float64 { return x + math.Mod(m-math.Mod(x, m), m) }
	for cutDown := 1.0; cutDown <= 4; cutDown *= 2 {
		over := oldSize * (1 + 0.2/cutDown)
		over = math.Min(over, req+100663296)
		newSize := math.Min(maxHeap, alignUp(math.Max(req, over), 65536))
		if uint64(newSize) > h.memLimit {
			continue
		}
		pages := uint32(int64(newSize-oldSize+65535)) >> 16
		if _, ok := mem.Grow(pages); ok {
			return 1
		}
	}
	return 0
}

func (h *host) fdWrite(mem api.Memory, s []uint64) uint64 {
	fd, iov, iovcnt, pnum := uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3])
	if fd != 1 && fd != 2 {
		return errnoBADF
	}
	var n uint32
	for i := uint32(0); i < iovcnt; i++ {
		ptr, _ := mem.ReadUint32Le(iov + 8*i)
		l, _ := mem.ReadUint32Le(iov + 8*i + 4)
		if h.stdio != nil {
			if b, ok := mem.Read(ptr, l); ok {
				_, _ = h.stdio.Write(b)
			}
		}
		n += l
	}
	mem.WriteUint32Le(pnum, n)
	return 0
}

// invoke implements invoke_<sig>(tableIndex, args...): call the table entry and, if it longjmps,
// restore the stack pointer and set __THREW__ like the JS glue's try/catch does.
func (h *host) invoke(imp importFn) api.GoModuleFunc {
	params, results := imp.params[1:], imp.results
	dyn := h.dynCall(imp) // fixed per import: looked up once, not per call
	size := max(len(params), len(results), 1)
	if dyn != "" {
		size = max(1+len(params), len(results))
	}
	// Free api.Functions of the dynCall_ export (one per nesting depth in use). The closure is
	// built with each wazero instance (buildHostModules), so these belong to that instance.
	var dynFree []api.Function
	return func(ctx context.Context, m api.Module, s []uint64) {
		idx := uint32(s[0])
		in := h.inst
		sp := in.stackSave(ctx)
		var err error
		stack := h.takeStack(size)
		if dyn != "" {
			// The wasm64 glue calls the module's exported dynCall_<sig>(index, args...): metered
			// code, so the gas is the reference's only this way.
			var f api.Function
			if k := len(dynFree); k > 0 {
				f, dynFree = dynFree[k-1], dynFree[:k-1]
			} else {
				f = in.wm.ExportedFunction(dyn)
			}
			copy(stack, s[:1+len(params)])
			err = f.CallWithStack(ctx, stack)
			dynFree = append(dynFree, f)
		} else {
			f := h.takeFn(m, idx, params, results)
			copy(stack, s[1:1+len(params)])
			err = f.CallWithStack(ctx, stack)
			h.pool[idx] = append(h.pool[idx], f)
		}
		if err != nil {
			h.stacks = append(h.stacks, stack)
			if !errors.Is(err, errLongjmp) {
				panic(err)
			}
			in.stackRestore(ctx, sp)
			in.setThrew(ctx, 1, 0)
			for i := range results {
				s[i] = 0
			}
			return
		}
		copy(s, stack[:len(results)])
		h.stacks = append(h.stacks, stack)
	}
}

// takeStack returns a call stack of n slots from the free list of the invokes' stacks (nested
// invokes each hold one; a finished invoke gives its own back).
func (h *host) takeStack(n int) []uint64 {
	if k := len(h.stacks); k > 0 {
		st := h.stacks[k-1]
		h.stacks = h.stacks[:k-1]
		if cap(st) >= n {
			st = st[:n]
			clear(st)
			return st
		}
	}
	return make([]uint64, n, max(n, 8))
}

// dynCall returns the exported dynCall_<sig> a wasm64 module's invoke_<sig> goes through, or "".
func (h *host) dynCall(imp importFn) string {
	if !h.inst.mod.wasm64 {
		return ""
	}
	name := "dynCall_" + strings.TrimPrefix(imp.canonical, "invoke_")
	if !h.inst.mod.hasExport(name) {
		return ""
	}
	return name
}

// takeFn returns an api.Function for a table slot. Lua re-enters the same slot recursively (pcall
// inside pcall) and an api.Function must not be re-entered while active, hence a free list.
func (h *host) takeFn(m api.Module, idx uint32, params, results []api.ValueType) api.Function {
	if fs := h.pool[idx]; len(fs) > 0 {
		f := fs[len(fs)-1]
		h.pool[idx] = fs[:len(fs)-1]
		return f
	}
	return table.LookupFunction(m, 0, idx, params, results)
}

// buildHostModules instantiates, for one instance, an anonymous host module per imported module
// name with exactly the functions (and signatures) the guest declares.
func (h *host) buildHostModules(ctx context.Context, r wazero.Runtime, imports []importFn) (map[string]api.Module, error) {
	byModule := map[string][]importFn{}
	for _, imp := range imports {
		byModule[imp.module] = append(byModule[imp.module], imp)
	}
	out := map[string]api.Module{}
	for name, imps := range byModule {
		b := r.NewHostModuleBuilder(name)
		for _, imp := range imps {
			b.NewFunctionBuilder().WithGoModuleFunction(h.fn(imp), imp.params, imp.results).Export(imp.name)
		}
		cm, err := b.Compile(ctx)
		if err != nil {
			return nil, fmt.Errorf("host module %s: %w", name, err)
		}
		// The compiled host module holds this instance's host closures: it must be closed with the
		// instance, or wazero's compiled-module cache keeps every closed instance alive.
		h.compiled = append(h.compiled, cm)
		mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			return nil, fmt.Errorf("host module %s: %w", name, err)
		}
		out[name] = mod
	}
	return out, nil
}
