// Package runtime owns the wazero engine that runs AO process modules: the compiled-module cache, one
// instance per activation, the emscripten host ABI (aos-compatible), memory snapshots, memory and
// compute limits, and deterministic host functions.
//
// It must not know about actors or storage: callers hand it module bytes, message and env JSON, and
// memory images, and get results and memory images back.
//
// # API
//
//	eng, _ := runtime.NewEngine(ctx, runtime.DefaultConfig())  // wazero runtimes + compilation cache
//	mod, _ := eng.Compile(ctx, wasm, "wasm32-unknown-emscripten2")
//	in, _ := eng.Instantiate(ctx, mod, runtime.Limits{...})     // runs the emscripten start-up
//	res, _ := in.Handle(ctx, msgJSON, envJSON)                   // Error results never advance memory
//	mem, sha := in.Snapshot()                                    // whole linear memory + SHA-256
//	in2, _ := eng.Restore(ctx, mod, limits, mem)                 // a fresh instance from a snapshot
//
// The `actorweave eval` verb (cmd/actorweave/eval.go) drives exactly this.
//
// # Formats
//
// wasm32-unknown-emscripten (minified imports "a".x and exports), -emscripten2, -emscripten3 and
// -emscripten4, and modules built by Debian's emcc 3.1.6 (loaded as emscripten2: their extra
// imports clock, time, difftime, __clock_gettime, __syscall_open/unlink/rename are answered).
// The host is import-driven: every import the module declares is resolved by name (through the
// minified table for the oldest format) with the module's own signature; unknown __syscall_* answer
// -ENOSYS, unknown invoke_* are generic, any other unknown import traps when called. The start-up
// sequence, string passing, time, environment and tzset follow the reference glue of each
// generation (format.go, instance.go boot).
//
// Which reference glue each format follows: @permaweb/ao-loader 0.0.49 as published on npm (its
// dist/index.cjs, not the repository source: they differ, e.g. _emscripten_date_now is 0 in the
// published emscripten/emscripten2 glue). The reference CU pins ao-loader 0.0.44, whose
// emscripten4 glue passes the 7 default environment strings where 0.0.49's passes none; actorweave
// follows 0.0.49 (the version the loader tests and aos 2.x builds are checked against), so an
// emscripten4 process that reads its environment sees an empty one, as under 0.0.49.
//
// wasm64-unknown-emscripten-draft_2024_02_15 (aos 2.0.x's default): wazero has no memory64, so the
// module is lowered at compile time to a 32-bit memory with the same bytes
// (internal/wasmbin.LowerMemory64, like binaryen's Memory64Lowering): limits become 32-bit with the
// maximum capped at 65,536 pages, active data offsets i32, every address operand narrowed where it
// is used (memory.size/grow widened back). An address at or above 4 GiB traps as an out-of-bounds
// access instead of wrapping; the check is `shr 32; if (nonzero) out-of-bounds load`. A module
// the lowering does not fully understand (multi-memory, table64, shared memory, atomics, SIMD
// memory access, tag sections, unknown opcodes) or whose initial memory is over 4 GiB is refused
// (ErrFormat, 422) naming what it met. The host ABI (host64.go) is ao-loader 0.0.49's wasm64 glue:
// the emscripten4 generation with 64-bit pointers; WASI iovecs are 16 bytes, sizes written back
// are u64, tzset's timezone and tm_gmtoff are 64-bit longs, pointers handed to the host at or
// above 4 GiB trap, 'emsc' is written at address 0 with the stack cookie, and invoke_<sig> goes
// through the module's exported dynCall_<sig> (metered code: the gas matches only this way). The
// glue's asyncify __asyncjs__* imports (WeaveDrive) are answered synchronously (Go can block), see
// WeaveDrive below. Memory-Limit above 4 GiB (the 16-gb builds) runs with 4 GiB as the
// ceiling (MemoryCeiling): a message that asks the heap for more, within its tag, is an Error
// (ErrMemoryCeiling), never a different success and never an advance.
//
// The -metering formats (wasm32-unknown-emscripten-metering with the emscripten4 glue,
// wasm64-unknown-emscripten-draft_2024_10_16-metering with the wasm64 glue) are loaded unmetered
// and metered at load time by internal/wasmbin.MeterReference, a port of @permaweb/wasm-metering
// 0.2.2 (default cost table; an i32 meter for wasm32, i64 for wasm64): on the test modules it
// writes byte-identical code to the JavaScript original, and the meter is then inlined as for
// pre-metered modules. A module that already imports metering.usegas is refused, as the reference
// throws "importing metering function is not allowed"; so is anything the reference's parser
// cannot read (post-MVP opcodes other than sign extension, passive segments).
//
// # Determinism
//
// No host function reads the wall clock, randomness or host state: _emscripten_date_now is 0
// (emscripten 1/2) or a per-instance counter from 10000 (3/4), emscripten_get_now is NaN, the zone
// is UTC, the environment is the glue's fixed one with _=Config.ThisProgram, files do not exist
// (WeaveDrive's come from the caller's Drive, which must answer the same bytes on every replay),
// stdin is at EOF, stdout/stderr go to Engine.Stdio or nowhere, system() and _emscripten_system()
// are always refused (ENOSYS; the reference loader's emscripten4 glue really runs the command).
// argv[0] (ThisProgram) lies on the C stack and so shapes Lua's string-hash seed, the heap layout and
// the gas count: it must be the same wherever a process is replayed. The reference glue also puts
// node's command-line arguments (process.argv.slice(2)) into argv; the test driver therefore takes
// its options from the environment.
//
// # WeaveDrive
//
// __asyncjs__weavedrive_open/read/close (the imports aos's libc wrapper declares for fopen, fread
// and fclose) and fd_seek on their descriptors are answered through a Drive the caller gives each
// instance (weavedrive.go):
//
//	in.SetDrive(drive, readBudget)   // Drive.Open(ctx, DrivePath{Kind, ID}, blockHeight) -> DriveFile
//
// The runtime parses the path (ParseDrivePath: /data/<id>, /tx/<id>, /block/<height>; other
// categories answer 0; traversal and ids of the wrong shape are Errors), keeps the descriptors (the
// lowest free from 3, closed at the end of each message), copies into linear memory within its
// bounds, charges the per-message read budget, and reads the message's Block-Height for the
// drive. A Drive's ErrDriveNotFound is the reference's "HALT: FILE NOT FOUND" (an Error for wasm64,
// 0 for the others, as their glues answer); any other Drive error is the message's Error. It
// follows @permaweb/weavedrive 0.0.18 (permaweb/aos extensions/weavedrive/src/index.js at d6964cbf)
// under @permaweb/ao-loader 0.0.49's emscripten4 and wasm64 glue; the differences are in
// docs/wasm-abi.md §3.1. With no drive, open answers 0.
//
// # Metering
//
// Modules that import metering.usegas are charged as the reference charges them: used += n at every
// call, out of gas ("out of gas!") when used > Compute-Limit, reset before each message; GasUsed is
// used. Metered modules call usegas at every basic block: 98,151 calls for one small aos-like Eval.
//
//   - inline (internal/wasmbin.InlineMeter, the default): each `call usegas` is replaced by the
//     counting itself on two globals added to (and exported by) the module: used += n; if used >
//     soft { usegas(0) }. The import keeps its index, so nothing is renumbered; it is bound to a Go
//     check that decides out of gas, deadline and cancellation, and sets the next soft limit
//     meterQuantum (50M gas, ~0.2-0.4 ms) ahead. The rewrite refuses any opcode it does not know;
//   - otherwise usegas is a Go function counting every call (~35-40 ns a call, docs/wasm-abi.md §4).
//
// The regular return to Go matters: compiled WebAssembly cannot be preempted, so a module that never
// leaves it holds up every stop-the-world of the Go runtime. A first design (an auxiliary WebAssembly
// module holding the counter, with the deadline set from a timer
// goroutine) hung the whole test process when a collection started during an endless loop: the
// collection waited for the loop, the loop for the timer (TestDeadlineWhileCollecting reproduces it).
// Measured on the aos-like module: no metering 228 µs/msg; auxiliary metering module 679 µs (a
// cross-module call per block); inline 320-380 µs. GasUsed is the same in every variant and the same
// as the reference (TestDifferentialAoLoader, TestGoUsegasMatchesInline).
//
// # Limits
//
// Memory-Limit: emscripten_resize_heap refuses growth beyond it (malloc fails; Lua reports "not
// enough memory"), the module's initial memory must fit, and a message that leaves memory above it
// (memory.grow) is an Error. Compute-Limit: as above (metered modules only). Deadline: a wall-clock
// bound per message, checked by the meter at every quantum for metered modules. Modules without
// metering are compiled in a second wazero runtime with WithCloseOnContextDone, whose compiled code
// leaves for Go at every loop iteration and call: measured 5x slower (1,140 vs 228 µs/msg on the
// aos-like module built without metering), but it is their only bound. A message too large for the
// module's C stack is an Error before it runs (the reference would overwrite memory below the stack).
//
// # Errors never advance state
//
// A message that errors (its own Error, {"ok":false}, a trap, out of gas, memory or time) yields a
// Result with Error, and the instance continues from its memory before the message. Options
// measured (BenchmarkUndoCost, BenchmarkErrorRevert; aos-like module grown to 9,175,040 bytes):
//
//   - copy the whole memory before every message: ~1 ms per message (1.6x the evaluation itself);
//   - re-instantiate and boot, then replay, on error: needs the log of every message since boot;
//   - copy-on-write pages (mmap MAP_PRIVATE of a memfd + /proc/self/pagemap to find dirty pages):
//     O(dirty pages), but Linux-only and fragile under wazero's allocator; not built;
//   - chosen: a base snapshot every SnapshotEvery (64) successful messages or JournalBytes (8 MiB)
//     of message JSON, plus a journal of the successful messages since. On error: write the base
//     back (same wazero instance if it is alive and its memory has the base's size, else a fresh
//     instance), replay the journal (each reply's SHA-256 is checked, so a divergence is an error,
//     not silent), take a new base. Per message this costs a journal append (~3 µs) plus 1/64 of a
//     copy (~15 µs); an error costs a restore, the replay of at most 63 messages (tens of ms) and a
//     copy. Replays are deterministic by construction (invariant 3) and at most double the work of
//     the messages they repeat.
//
// The first base of a new instance is its boot, not a copy (Instance.baseBoot): a failure before
// the first snapshot boots a fresh instance (boot is deterministic) and replays the journal. An
// activation therefore copies nothing: `actorweave bench activation --processes 300 --wake 200
// --clients 1`, before/after in one run at load 7 on 2 cores: wake-to-result p50 11.5 → 5.2 ms,
// p99 44 → 20 ms, spawns 69 → 89/s, peak RSS while spawning 1,089 → 145 MiB (each new instance
// held a 6 MiB copy of its memory, written right after boot).
//
// After an error the host state the module can observe (tzset done, the emscripten3/4 date
// counter) starts afresh, as the reference CU continues in a fresh instance after an error.
//
// # Instances, snapshots, compilation
//
// Compiled modules are cached by wazero's compilation cache (Config.CacheDir on disk) and by the
// Engine (by SHA-256). Each instance has its own host modules (per-instance state without context
// lookups) and its linear memory is one anonymous mapping reserved at the memory limit
// (memory_unix.go), so growth never moves or copies it. Snapshot copies the whole memory and its
// SHA-256; Restore instantiates without booting (after the first boot of the module in the engine
// has taught it the stack pointer between messages), sets the stack pointer, and writes the image.
// Like the reference loader, a snapshot is memory only.
//
// # Figures (2-core machine shared with other benchmarks: compare within a run)
//
// go test -run '^$' -bench 'BenchmarkEval$|UndoCost|ErrorRevert|Compile|InstantiateBoot|Restore' \
// -benchtime 2s -count 2 ./runtime/ (one run, two samples each, load average ~7 on 2 cores):
//
//	eval, aos-like, x = (x or 0) + 1       381-465 µs/msg
//	UndoCost (memory 13 MB)                eval 319-325 µs, full copy 396 µs (1.22-1.24x eval),
//	                                       journal append 1.2-1.3 µs
//	error revert, journal of 0/8/31/63     1.2-1.6 / 5.0 / 12-15 / 22-25 ms
//	compile, cold / warm disk cache        235-238 ms / 13.6-14.3 ms
//	instantiate + boot (Lua)               5.0-5.2 ms
//	restore 9,175,040 B / 64 MiB snapshot  6.6-6.8 ms / 41-43 ms
//
// scripts/bench-eval.sh 2000 3 (make bench-eval), 2,000 Eval messages, actorweave eval against
// @permaweb/ao-loader 0.0.49 under node 20 in the same run, msg/s net of start-up, wall (CPU):
//
//	actorweave eval (--memory-hash=false)  2,385-2,684 (2,579-2,852); 228-254 wall when hashing
//	ao-loader default mode                 204-220 (220-223)
//	ao-loader UNSAFE_MEMORY                253-287 (269-303)
//	ratio to default / to UNSAFE_MEMORY    11.0-12.7x (11.6-12.9x) / 8.3-10.6x (8.9-10.6x)
//
// # Figures, wasm64 (load average 9-14 on 2 cores, compare within a run only)
//
// Lowered aos-like Lua module (emcc 3.1.6 -sMEMORY64, linked -O1) against the same program built
// wasm32 and linked -O1, `actorweave bench eval --reference=false --messages 1800`, 3 interleaved
// rounds, msgs per CPU second: wasm32 1,709-2,507, wasm64 895-1,332 (wasm64 is ~1.9x the CPU per
// message: 64-bit pointer arithmetic and memory traffic of the wasm64 code, plus the narrowing of
// every address). The 4 GiB check alone, on clang's wasm64 loops of loads and stores
// (internal/wasmbin BenchmarkBoundsCheck, min of 10): 57 µs checked against 43 µs wrapping.
// `actorweave bench eval` on the wasm64 module against ao-loader 0.0.49 in the same run, 1,800
// messages, 2 rounds: 6.8x the default mode (4.4-9.2x), 5.2x UNSAFE_MEMORY; the module's memory
// stays at 6 MiB, so the default mode's copies are small. (At message 1,887 both ao-loader and
// actorweave report the same Error, a longjmp outside a protected call of this 3.1.6 wasm64 build,
// hence 1,800 messages.)
//
// Since invoke_* and the stack API stopped allocating and looking up per call (the wasm64 path
// built a "dynCall_<sig>" string and looked it up in two maps on every invoke), quiet machine,
// load 0.6-1: BenchmarkEvalMessageShape (`go test -run '^$' -bench EvalMessageShape -benchtime
// 1600x -count 3 ./runtime`, CPU µs per message, a fresh instance every 800): minimal message
// wasm32 407-491, wasm64 425-487 (about equal); the node's message shape wasm32 805-837, wasm64
// 994-1,159 (1.29x). Before the change, interleaved runs of both test binaries at load 5-7:
// wasm64 node shape 1,280-1,461 against 981-1,131 after; wasm32 771-937 against 713-773. `actorweave
// bench eval --rounds 3 --messages 800` on the wasm64 module against ao-loader 0.0.49 in the same
// run: 8.1x the default mode (8.7x in CPU), 4.8x UNSAFE_MEMORY.
//
// # Test modules
//
// Built from source by scripts/deps.d/20-wasm-modules.sh with Debian's emscripten 3.1.6 (sources
// in testdata/modules): an aos-like Lua 5.3 process (Lua from Debian's lua5.3 source package, a C
// wrapper for handle, a Lua program with JSON, Eval, print and ao.send) and C programs for
// setjmp/longjmp, traps, heap growth, time and stdio, and their wasm64 variants (NAME64.wasm,
// emcc -sMEMORY64 with a writable cache; testdata/modules/wasm64/shim64.c and
// internal/wasmbin/wasmrename give them the names and exports the reference's wasm64 glue binds,
// and fix the trapping malloc stub emcc 3.1.6's wasm64 setjmp lowering leaves). emcc 3.1.6's
// _localtime_js/_gmtime_js take a pointer to the time where the newer glue takes the time, so the
// wasm64 test modules' os.date/os.time are not comparable (the host follows the glue). shim.c replaces the libc entry points that
// emcc 3.1.6 turns into imports the reference loader lacks, and every module is metered with
// @permaweb/wasm-metering, so the same binaries run in @permaweb/ao-loader 0.0.49 and here.
package runtime
