// Package benchmodule embeds the process module `actorweave bench` runs when no --module is given:
// src/benchmodule.wasm, built from the project's own C (src/benchmodule.c) by src/build.sh with emscripten and
// metered like the aos builds, so that a fresh clone runs every scenario without `make deps`.
//
// The module answers what the scenarios ask of the aos-like Lua test module with a fixed
// vocabulary of commands in an owner's Eval (count, noop, ping, fanout, token, transfer, ...: the
// list is at the top of src/benchmodule.c) and handles Ping, Loop, Transfer and the notices by Action.
// It is cheap by design: with it the scenarios measure the node around a module, not Lua; --module
// with the Lua module or a real aos build measures evaluation as AO processes pay for it.
//
// TestBuildReproducible rebuilds the module with emcc when emcc is on PATH and requires the same
// bytes as the committed file.
package benchmodule

import _ "embed"

// Wasm is src/benchmodule.wasm.
//
//go:embed src/benchmodule.wasm
var Wasm []byte

// Format is the Module-Format the module is built for (the emscripten2 glue of the test modules).
const Format = "wasm32-unknown-emscripten2"
