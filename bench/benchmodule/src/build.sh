#!/usr/bin/env bash
# Builds the embedded benchmark module from benchmodule.c: emcc (Debian's emscripten 3.1.6, the
# flags and memory layout of the test modules in scripts/deps.d/20-wasm-modules.sh), then the
# reference metering (runtime/internal/wasmbin/wasmmeter, our Go port of @permaweb/wasm-metering).
#   bench/benchmodule/src/build.sh OUT.wasm
# bench/benchmodule/src/benchmodule.wasm is this script's output, committed; TestBuildReproducible
# rebuilds it and compares the bytes.
set -euo pipefail
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NODE_PATH=/usr/share/nodejs # emcc's JS optimizer needs acorn (Debian's node-acorn)
(cd "$here" && emcc -O2 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=6291456 -sMAXIMUM_MEMORY=524288000 \
	-sEXPORTED_FUNCTIONS=_main,_handle,_malloc,_free,_fflush,_emscripten_stack_init,_emscripten_stack_get_end \
	-sEXPORTED_RUNTIME_METHODS=cwrap -sENVIRONMENT=node benchmodule.c -o "$tmp/benchmodule.js")
(cd "$root" && go run ./runtime/internal/wasmbin/wasmmeter "$tmp/benchmodule.wasm" "$out")
