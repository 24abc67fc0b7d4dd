// Package benchmodule embeds the module `actorweave bench` runs when no --module is given: the
// aos-like Lua process (runtime/testdata/modules/lua/aoslike.lua and .c, Lua 5.3 and the shim), as
// `make deps` builds it from this repository's sources with Debian's emscripten 3.1.6
// (scripts/deps.d/20-wasm-modules.sh), so that a benchmark runs on a fresh clone after `make node`.
//
// The copy is checked, not trusted: TestEmbeddedIsTheBuild (run by `make test`, after `make deps`)
// compares it byte for byte with the module the build just produced, and fails when the sources or
// the toolchain changed without `make bench-module` refreshing it.
//
// It must not hold anything but that build.
package benchmodule

import _ "embed"

// Name is the --module value that selects the embedded module.
const Name = "builtin:aoslike"

// Format is the embedded module's Module-Format.
const Format = "wasm32-unknown-emscripten2"

// AOSLike is the embedded module's bytes.
//
//go:embed aoslike.wasm
var AOSLike []byte
