#!/usr/bin/env bash
# bench-eval.sh: evaluation throughput of `actorweave eval` against the reference loader
# (@permaweb/ao-loader under node, default mode and UNSAFE_MEMORY), in the same run, on the
# aos-like Lua test module: N sequential Eval messages `x = (x or 0) + 1; return x`.
#
#   scripts/bench-eval.sh [N] [ROUNDS]      (defaults 2000 and 3; needs `make deps`)
#
# Two measures per side, both net of start-up:
#   wall: actorweave (N-1) / (wall time of N messages - wall time of 1 message), whole
#         `actorweave eval` runs with a warm compilation cache; ao-loader: the driver's own clock
#         around its handle() loop.
#   cpu:  the same with CPU time (user+system) instead of wall time: on a shared machine it is
#         much less disturbed by other work than wall time.
# actorweave runs with --memory-hash=false, as the reference side does not hash memory either; the
# rate with hashing (SHA-256 of the whole memory after every message) is printed too. Each round
# runs the three in turn. Measured, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${1:-2000}
rounds=${2:-3}
mod="$root/testdata/build/wasm/aoslike.wasm"
[ -f "$mod" ] || { echo "missing $mod: run make deps" >&2; exit 1; }
work="$root/.cache/bench-eval"
mkdir -p "$work"
go build -o "$work/actorweave" ./cmd/actorweave
msg='{"Id":"1","Owner":"OWNER","From":"OWNER","Target":"PROCESS","Module":"MODULE","Timestamp":"0","Block-Height":"0","Tags":[{"name":"Action","value":"Eval"}],"Data":"x = (x or 0) + 1; return x"}'
awk -v n="$n" -v m="$msg" 'BEGIN { for (i = 0; i < n; i++) print m }' >"$work/msgs.jsonl"
head -n 1 "$work/msgs.jsonl" >"$work/one.jsonl"

# run_aw INPUT OUT [FLAGS...]: prints "WALL_NS CPU_S" of one actorweave eval run.
run_aw() {
	local in=$1 out=$2
	shift 2
	local t0 t1 cpu
	TIMEFORMAT='%U %S'
	t0=$(date +%s%N)
	cpu=$( { time "$work/actorweave" eval --module "$mod" --format wasm32-unknown-emscripten2 \
		--cache-dir "$work/cache" "$@" <"$in" >"$out"; } 2>&1 )
	t1=$(date +%s%N)
	echo "$((t1 - t0)) $(echo "$cpu" | awk '{ print $1 + $2 }')"
}
run_aw "$work/one.jsonl" /dev/null >/dev/null # warm the compilation cache
field() { echo "$1" | grep -o "\"$2\":[0-9.e+-]*" | cut -d: -f2; }

for r in $(seq 1 "$rounds"); do
	read -r w1 c1 < <(run_aw "$work/one.jsonl" /dev/null --memory-hash=false)
	read -r wn cn < <(run_aw "$work/msgs.jsonl" "$work/out.jsonl" --memory-hash=false)
	last=$(tail -n 1 "$work/out.jsonl" | grep -o '"output":[0-9]*')
	[ "$last" = "\"output\":$n" ] || { echo "actorweave: last output $last, want $n" >&2; exit 1; }
	read -r wh ch < <(run_aw "$work/msgs.jsonl" /dev/null)
	def=$(AW_MODULE="$mod" AW_FORMAT=wasm32-unknown-emscripten2 AW_BENCH="$n" node testdata/node/aoloader-run.cjs 2>/dev/null)
	uns=$(AW_MODULE="$mod" AW_FORMAT=wasm32-unknown-emscripten2 AW_BENCH="$n" AW_UNSAFE_MEMORY=1 node testdata/node/aoloader-run.cjs 2>/dev/null)
	awk -v r="$r" -v n="$n" -v w1="$w1" -v c1="$c1" -v wn="$wn" -v cn="$cn" -v wh="$wh" \
		-v dw="$(field "$def" rate)" -v dc="$(field "$def" cpuRate)" \
		-v uw="$(field "$uns" rate)" -v uc="$(field "$uns" cpuRate)" 'BEGIN {
		aw = (n - 1) / ((wn - w1) / 1e9); ac = (n - 1) / (cn - c1); ah = (n - 1) / ((wh - w1) / 1e9)
		printf "round %d, %d messages, msg/s wall (cpu):\n", r, n
		printf "  actorweave eval           %6.0f (%6.0f)   with --memory-hash %.0f (wall)\n", aw, ac, ah
		printf "  ao-loader default         %6.0f (%6.0f)   actorweave/default       %5.1fx (%5.1fx)\n", dw, dc, aw / dw, ac / dc
		printf "  ao-loader UNSAFE_MEMORY   %6.0f (%6.0f)   actorweave/UNSAFE_MEMORY %5.1fx (%5.1fx)\n", uw, uc, aw / uw, ac / uc
	}'
done
