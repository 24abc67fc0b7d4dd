#!/usr/bin/env bash
# bench-eval.sh: evaluation throughput of actorweave's runtime against the reference loader
# (@permaweb/ao-loader under node, default mode and UNSAFE_MEMORY), in the same run, on the
# aos-like Lua test module: N sequential Eval messages `x = (x or 0) + 1; return x`.
#
#   scripts/bench-eval.sh [N] [ROUNDS] [more flags of `actorweave bench eval`]   (needs `make deps`)
#
# The measurement lives in Go now (bench/eval.go, `actorweave bench eval`); this is a shortcut.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
rounds=${2:-3}
shift $(($# < 2 ? $# : 2))
exec go run ./cmd/actorweave bench eval --module testdata/build/wasm/aoslike.wasm --messages "$n" --rounds "$rounds" "$@"
