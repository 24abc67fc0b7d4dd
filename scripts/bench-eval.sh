#!/usr/bin/env bash
# bench-eval.sh: evaluation throughput of `actorweave eval` against the reference loader
# (@permaweb/ao-loader under node, default mode and UNSAFE_MEMORY), in the same run, on the
# aos-like Lua test module: N sequential Eval messages `x = (x or 0) + 1; return x`.
#
#   scripts/bench-eval.sh [N] [ROUNDS]      (defaults 2000 and 3; needs `make deps`)
#
# actorweave's rate is net of start-up: (N-1) / (time of N messages - time of 1 message), both
# whole `actorweave eval` runs with a warm compilation cache. The reference rates come from the
# driver's own clock around its handle() loop (start-up excluded). Rounds alternate the three so
# that noise from other work on the machine spreads over all of them. Measured, never asserted.
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
# --memory-hash=false: the reference side does not hash memory either (with hashing, see the
# extra column: SHA-256 of ~9 MB per message costs more than a small message's evaluation).
aw() { "$work/actorweave" eval --module "$mod" --format wasm32-unknown-emscripten2 --cache-dir "$work/cache" "${@:2}" <"$1"; }
aw "$work/one.jsonl" >/dev/null # warm the compilation cache
now() { date +%s%N; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.1f", n / (ns / 1e9) }'; }
for r in $(seq 1 "$rounds"); do
	t0=$(now); aw "$work/one.jsonl" >/dev/null; t1=$(now)
	aw "$work/msgs.jsonl" --memory-hash=false >"$work/out.jsonl"; t2=$(now)
	aw "$work/msgs.jsonl" >/dev/null; t3=$(now)
	last=$(tail -n 1 "$work/out.jsonl" | grep -o '"output":[0-9]*')
	[ "$last" = "\"output\":$n" ] || { echo "actorweave: last output $last, want $n" >&2; exit 1; }
	awr=$(rate $((n - 1)) $(((t2 - t1) - (t1 - t0))))
	awtotal=$(rate "$n" $((t2 - t1)))
	awhash=$(rate $((n - 1)) $(((t3 - t2) - (t1 - t0))))
	def=$(AW_MODULE="$mod" AW_FORMAT=wasm32-unknown-emscripten2 AW_BENCH="$n" node testdata/node/aoloader-run.cjs 2>/dev/null)
	uns=$(AW_MODULE="$mod" AW_FORMAT=wasm32-unknown-emscripten2 AW_BENCH="$n" AW_UNSAFE_MEMORY=1 node testdata/node/aoloader-run.cjs 2>/dev/null)
	defr=$(echo "$def" | grep -o '"rate":[0-9.]*' | cut -d: -f2)
	unsr=$(echo "$uns" | grep -o '"rate":[0-9.]*' | cut -d: -f2)
	awk -v r="$r" -v n="$n" -v aw="$awr" -v awt="$awtotal" -v awh="$awhash" -v d="$defr" -v u="$unsr" 'BEGIN {
		printf "round %d, %d messages: actorweave eval %.0f msg/s (%.0f incl. start-up, %.0f with --memory-hash) | ao-loader default %.0f msg/s | ao-loader UNSAFE_MEMORY %.0f msg/s | actorweave/default %.1fx, actorweave/unsafe %.1fx\n",
			r, n, aw, awt, awh, d, u, aw / d, aw / u }'
done
