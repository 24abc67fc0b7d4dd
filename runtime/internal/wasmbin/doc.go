// Package wasmbin rewrites WebAssembly binaries for the runtime. It owns one transformation:
// inlining the gas counter of metered AO modules (InlineMeter). It must not execute anything and
// must refuse, rather than guess, any input it does not fully understand: callers fall back to
// running the module unmodified.
package wasmbin
