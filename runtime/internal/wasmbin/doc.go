// Package wasmbin rewrites WebAssembly binaries for the runtime. It owns two transformations:
// inlining the gas counter of metered AO modules (InlineMeter) and lowering a 64-bit memory
// (memory64) to a 32-bit one with the same bytes (LowerMemory64), since wazero has no memory64.
// It must not execute anything and must refuse, rather than guess, any input it does not fully
// understand: InlineMeter's callers fall back to running the module unmodified, LowerMemory64's
// refuse the module (ErrUnsupported names what was not understood).
package wasmbin
