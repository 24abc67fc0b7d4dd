package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// The wasm64 host ABI (FormatWasm64): the emscripten4 generation of the glue with 64-bit pointers
// and sizes, as @permaweb/ao-loader 0.0.49's wasm64-emscripten format binds it. The module's
// memory is lowered to 32 bits at compile time (wasmbin.LowerMemory64), so every pointer the
// module passes is below 4 GiB or invalid; what differs from the 32-bit ABI is the width of
// pointers, size_t and long *inside memory*: WASI iovecs are {u64 ptr, u64 len}, sizes written
// back are u64, tzset's timezone and tm_gmtoff are 64-bit longs. Every import not handled here
// behaves as in the 32-bit ABI (its i64 pointer arguments are below 4 GiB).

// errPointer64 is the trap of a pointer at or above 4 GiB handed to the host.
var errPointer64 = errors.New("out of bounds memory access (a 64-bit pointer at or above 4 GiB)")

// lowerWasm64 lowers a memory64 module for wazero; a module the lowering does not fully
// understand is refused as a format error naming what it met.
func lowerWasm64(wasm []byte) ([]byte, error) {
	low, info, err := wasmbin.LowerMemory64(wasm)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrFormat, FormatWasm64, err)
	}
	if !info.Memory64 {
		return nil, fmt.Errorf("%w %s: the module has no 64-bit memory (memory64): a wasm32 module?", ErrFormat, FormatWasm64)
	}
	return low, nil
}

// CheckModule tells, before a module is published, whether a node would compile it under
// format: the format is supported and the module's memory is the one the format says (a wasm32
// module tagged wasm64, or the other way round, is refused when a process is spawned).
func CheckModule(wasm []byte, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	if isWasm64(format) {
		_, err := lowerWasm64(wasm)
		return err
	}
	if _, info, err := wasmbin.LowerMemory64(wasm); err == nil && info.Memory64 {
		return fmt.Errorf("%w %s: the module has a 64-bit memory (memory64): publish it as %s", ErrFormat, format, FormatWasm64)
	}
	return nil
}

// MemoryCeiling returns the memory limit a process of this format really gets for its
// Memory-Limit, and whether that is less than the tag says (a wasm64 process tagged 16-gb runs
// with a 4 GiB ceiling here, since its memory is lowered to 32 bits).
func MemoryCeiling(format string, limit uint64) (uint64, bool) {
	if isWasm64(format) && limit > MaxWasm64Memory {
		return MaxWasm64Memory, true
	}
	return limit, false
}

// ErrMemoryCeiling is the Error of a message that needed more memory than this node's ceiling.
const ErrMemoryCeiling = "memory limit of this node: 4 GiB (the process's Memory-Limit is larger; wasm64 memory is lowered to 32 bits here)"

// ptr64 narrows a 64-bit pointer argument, trapping (as a memory64 engine would on the access)
// when it is 4 GiB or more.
func ptr64(v uint64) uint32 {
	if v>>32 != 0 {
		panic(errPointer64)
	}
	return uint32(v)
}

// fn64 returns the wasm64 implementation of an import whose 64-bit ABI differs, or nil.
func (h *host) fn64(imp importFn) api.GoModuleFunc {
	switch imp.canonical {
	case "fd_write":
		return func(_ context.Context, m api.Module, s []uint64) {
			fd, iov, iovcnt, pnum := uint32(s[0]), ptr64(s[1]), ptr64(s[2]), ptr64(s[3])
			if fd != 1 && fd != 2 {
				s[0] = errnoBADF
				return
			}
			mem := m.Memory()
			var n uint64
			for i := uint32(0); i < iovcnt; i++ {
				p, ok1 := mem.ReadUint64Le(iov + 16*i)
				l, ok2 := mem.ReadUint64Le(iov + 16*i + 8)
				if !ok1 || !ok2 {
					panic(errPointer64)
				}
				if h.stdio != nil && p>>32 == 0 && l>>32 == 0 {
					if b, ok := mem.Read(uint32(p), uint32(l)); ok {
						_, _ = h.stdio.Write(b)
					}
				}
				n += l
			}
			mem.WriteUint64Le(pnum, n)
			s[0] = 0
		}
	case "fd_read":
		return func(_ context.Context, m api.Module, s []uint64) {
			if uint32(s[0]) > 2 {
				s[0] = errnoBADF
				return
			}
			m.Memory().WriteUint64Le(ptr64(s[3]), 0) // stdin is at end of file
			s[0] = 0
		}
	case "environ_sizes_get":
		return func(_ context.Context, m api.Module, s []uint64) {
			env := h.environ()
			size := 0
			for _, e := range env {
				size += len(e) + 1
			}
			m.Memory().WriteUint64Le(ptr64(s[0]), uint64(len(env)))
			m.Memory().WriteUint64Le(ptr64(s[1]), uint64(size))
			s[0] = 0
		}
	case "environ_get":
		return func(_ context.Context, m api.Module, s []uint64) {
			ptrs, buf := ptr64(s[0]), ptr64(s[1])
			for i, e := range h.environ() {
				m.Memory().WriteUint64Le(ptrs+uint32(8*i), uint64(buf))
				m.Memory().WriteString(buf, e)
				m.Memory().WriteByte(buf+uint32(len(e)), 0)
				buf += uint32(len(e) + 1)
			}
			s[0] = 0
		}
	case "_tzset_js":
		return func(_ context.Context, m api.Module, s []uint64) {
			if h.vars.tzsetCalled {
				return
			}
			h.vars.tzsetCalled = true
			mem := m.Memory()
			mem.WriteUint64Le(ptr64(s[0]), 0) // long timezone
			mem.WriteUint32Le(ptr64(s[1]), 0) // int daylight
			if len(s) >= 4 {
				for _, p := range []uint32{ptr64(s[2]), ptr64(s[3])} {
					mem.WriteString(p, tzNameV3V4)
					mem.WriteByte(p+uint32(len(tzNameV3V4)), 0)
				}
			}
		}
	case "_localtime_js", "_gmtime_js":
		local := imp.canonical == "_localtime_js"
		return func(_ context.Context, m api.Module, s []uint64) {
			secs, ti := timeArg(m, s, imp)
			tm := ptr64(s[ti])
			writeTm(m.Memory(), tm, unixUTC(secs))
			if local { // tm_isdst (int at 32) and tm_gmtoff (long at 40): UTC
				m.Memory().WriteUint32Le(tm+32, 0)
				m.Memory().WriteUint64Le(tm+40, 0)
			}
		}
	case "emscripten_resize_heap":
		return func(_ context.Context, m api.Module, s []uint64) {
			if s[0] > h.heapMax || s[0]>>32 != 0 {
				// Over the ceiling: malloc fails. Within the process's Memory-Limit the reference
				// would have grown, so the message must not succeed differently here.
				if s[0] <= h.memLimit {
					h.ceilingHit = true
				}
				s[0] = 0
				return
			}
			s[0] = h.resizeHeap(m.Memory(), uint32(s[0]))
		}
	case "emscripten_memcpy_big", "_emscripten_memcpy_js":
		return func(_ context.Context, m api.Module, s []uint64) {
			dst, src, n := ptr64(s[0]), ptr64(s[1]), ptr64(s[2])
			buf, _ := m.Memory().Read(0, m.Memory().Size())
			if uint64(dst)+uint64(n) > uint64(len(buf)) || uint64(src)+uint64(n) > uint64(len(buf)) {
				panic(errPointer64)
			}
			copy(buf[dst:dst+n], buf[src:src+n])
			if len(imp.results) > 0 {
				s[0] = uint64(dst)
			}
		}
	}
	return nil
}

func unixUTC(secs int64) time.Time { return time.Unix(secs, 0).UTC() }

// signExtend64 makes a 32-bit negative errno a 64-bit one, for syscalls the wasm64 module
// declares with an i64 result.
func signExtend64(f api.GoModuleFunc) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, s []uint64) {
		f(ctx, m, s)
		s[0] = uint64(int64(int32(uint32(s[0]))))
	}
}
