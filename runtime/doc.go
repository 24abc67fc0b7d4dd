// Package runtime owns the wazero engine that runs AO process modules: the compiled-module cache, one
// instance per activation, the emscripten host ABI (aos-compatible), memory snapshots, memory and
// compute limits, and deterministic host functions.
//
// It must not know about actors or storage.
package runtime
