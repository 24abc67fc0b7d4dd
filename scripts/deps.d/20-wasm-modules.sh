#!/usr/bin/env bash
# Builds the WebAssembly test modules of runtime/ from source, offline, with Debian's emscripten:
#   - aos-like Lua 5.3 processes (Lua from Debian's lua5.3 source package + runtime/testdata/modules/lua/*)
#   - small C programs exercising setjmp/longjmp, heap growth, time and stdio;
#   - the benchmark module embedded in actorweave (bench/benchmodule/src), to check the committed one.
# Every module is also metered with @permaweb/wasm-metering (the reference loader's own metering
# rewrite, from testdata/node) so that it imports metering.usegas like the aos builds do.
# Outputs go to testdata/build/wasm/ (git-ignored). Idempotent: installs only what is missing and
# rebuilds only when a source is newer than its output.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
log() { printf 'deps(wasm): %s\n' "$*" >&2; }

need=()
command -v emcc >/dev/null 2>&1 || need+=(emscripten)
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

src="$root/testdata/build/src"
out="$root/testdata/build/wasm"
mkdir -p "$src" "$out"

# Lua 5.3 sources from Debian's source package, through a temporary deb-src entry for the same archive
# as the installed packages (removed again afterwards).
luadir=$(ls -d "$src"/lua5.3-*/src 2>/dev/null | head -n1 || true)
if [ -z "$luadir" ]; then
	log "fetching Debian's lua5.3 source package"
	command -v dpkg-source >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null; }
	tmpsrc=/etc/apt/sources.list.d/actorweave-deb-src.sources
	srcs=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v actorweave | head -n1 || true)
	if [ -n "$srcs" ]; then
		sed -e 's/^Types: *deb$/Types: deb-src/' "$srcs" >"$tmpsrc"
	else
		grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"${tmpsrc%.sources}.list"
	fi
	trap 'rm -f "$tmpsrc" "${tmpsrc%.sources}.list"; apt-get update -qq || true' EXIT
	apt-get update -qq
	(cd "$src" && apt-get source -qq lua5.3 >/dev/null)
	rm -f "$tmpsrc" "${tmpsrc%.sources}.list"
	trap - EXIT
	apt-get update -qq || true
	luadir=$(ls -d "$src"/lua5.3-*/src | head -n1)
fi

printf '#define DEB_HOST_MULTIARCH "wasm32-emscripten"\n' >"$src/lua5.3-deb-multiarch.h" # Debian's luaconf.h wants it

export NODE_PATH=/usr/share/nodejs   # emcc's JS optimizer needs acorn (Debian's node-acorn)
mods="$root/runtime/testdata/modules"
meter="$root/testdata/node/meter.cjs"
[ -d "$root/testdata/node/node_modules/@permaweb/wasm-metering" ] || { log "run scripts/deps.sh (npm ci in testdata/node) first"; exit 1; }
# The memory layout of the aos 1.x builds: 6 MiB initial, growth allowed up to 500 MiB.
common=(-O2 -DLUA_COMPAT_5_2 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=6291456 -sMAXIMUM_MEMORY=524288000
	-sEXPORTED_FUNCTIONS=_main,_handle,_malloc,_free,_fflush,_emscripten_stack_init,_emscripten_stack_get_end
	-sEXPORTED_RUNTIME_METHODS=cwrap -sENVIRONMENT=node --js-library "$mods/library.js")
shared=("$mods/shim.c" "$mods/shim.h" "$mods/msg.h" "$mods/library.js" "$0" "$meter")

stale() { # stale OUT SRC... : true when OUT is missing or older than any SRC
	local o=$1; shift
	[ -e "$o" ] || return 0
	local s
	for s in "$@"; do [ "$s" -nt "$o" ] && return 0; done
	return 1
}

# build NAME DEPS -- EMCC-ARGS... : emcc to NAME.raw.wasm (+ NAME.raw.js, emscripten's own glue),
# then meter it into NAME.wasm with the reference loader's metering rewrite.
build() {
	local name=$1; shift
	local deps=()
	while [ "$1" != "--" ]; do deps+=("$1"); shift; done
	shift
	if stale "$out/$name.wasm" "${deps[@]}" "${shared[@]}"; then
		log "building $name"
		emcc "${common[@]}" "$@" "$mods/shim.c" -o "$out/$name.raw.js"
		node "$meter" "$out/$name.raw.wasm" "$out/$name.wasm.tmp"
		mv "$out/$name.wasm.tmp" "$out/$name.wasm"
	fi
}

# Lua library objects, compiled once.
luaobj="$src/lua-obj"
mkdir -p "$luaobj"
lua_objs=()
for c in "$luadir"/*.c; do
	b=$(basename "$c" .c)
	case "$b" in lua|luac) continue ;; esac
	o="$luaobj/$b.o"
	if stale "$o" "$c"; then emcc -O2 -DLUA_COMPAT_5_2 -I"$src" -c "$c" -o "$o"; fi
	lua_objs+=("$o")
done

# Lua processes: lua/NAME.c + lua/NAME.lua (the program, embedded as a C string).
for m in "$mods"/lua/*.c; do
	name=$(basename "$m" .c)
	hdr="$src/$name.lua.h"
	if stale "$hdr" "${m%.c}.lua"; then
		node -e 'const fs=require("fs");fs.writeFileSync(process.argv[2],"static const char PROCESS_LUA[] = "+JSON.stringify(fs.readFileSync(process.argv[1],"utf8"))+";\n")' "${m%.c}.lua" "$hdr"
	fi
	build "$name" "$m" "$hdr" -- -I"$luadir" -I"$src" -DPROCESS_LUA_H="\"$name.lua.h\"" "$m" "${lua_objs[@]}"
done

# Small C programs: c/NAME.c.
for m in "$mods"/c/*.c; do
	build "$(basename "$m" .c)" "$m" -- "$m"
done


# The benchmark module embedded in actorweave (bench/benchmodule): our own C, built by its own
# script (emcc with the memory layout above, then the Go port of the reference metering) into
# testdata/build/wasm/benchmodule.wasm. The committed bench/benchmodule/src/benchmodule.wasm is the
# same script's output; TestBuildReproducible (bench/benchmodule) rebuilds it and compares bytes.
bm="$root/bench/benchmodule/src"
if stale "$out/benchmodule.wasm" "$bm/benchmodule.c" "$bm/build.sh"; then
	log "building benchmodule"
	"$bm/build.sh" "$out/benchmodule.wasm"
fi

# wasm64 (memory64) variants, for the wasm64-unknown-emscripten-draft_2024_02_15 and -metering
# formats. Debian's emcc 3.1.6 builds them with -sMEMORY64=1 once it has wasm64 system libraries:
# its own cache is frozen and holds only wasm32 ones, so a writable cache in testdata/build/emcache
# (headers copied, wasm32 libraries linked) builds them the first time (several minutes, nice'd).
# emcc's post-link step runs node with --experimental-wasm-bigint, which node 20 rejects: NODE_JS is
# a wrapper that drops it. NAME64.raw.wasm is the module as emcc wrote it (loaded by the -metering
# formats), NAME64.wasm the same metered by wasm-metering with an i64 meter.
emcache="$root/testdata/build/emcache"
if [ ! -e "$emcache/config" ]; then
	log "preparing a writable emscripten cache for wasm64 in $emcache"
	sys=/usr/share/emscripten # Debian's emscripten package
	mkdir -p "$emcache/sysroot/lib"
	cp -r "$sys/cache/sysroot/include" "$emcache/sysroot/"
	cp "$sys/cache/sysroot_install.stamp" "$emcache/"
	ln -sfn "$sys/cache/sysroot/lib/wasm32-emscripten" "$emcache/sysroot/lib/wasm32-emscripten"
	cat >"$emcache/node-nobigint" <<'WRAP'
#!/bin/sh
# emcc 3.1.6 runs node with --experimental-wasm-bigint, which node 20 rejects (BigInt integration is
# on by default); its post-link step also instantiates the memory64 module, which needs memory64.
for a; do shift; [ "$a" = --experimental-wasm-bigint ] || set -- "$@" "$a"; done
exec node --experimental-wasm-memory64 "$@"
WRAP
	chmod +x "$emcache/node-nobigint"
	{ sed -e 's/^FROZEN_CACHE = True.*/FROZEN_CACHE = False/' "$sys/.emscripten"; echo
	  echo "CACHE = '$emcache'"; echo "NODE_JS = '$emcache/node-nobigint'"; } >"$emcache/config"
fi
em64() { EM_CONFIG="$emcache/config" nice -n 10 emcc -sMEMORY64=1 "$@"; }
common64=(-O1 -DLUA_COMPAT_5_2 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=6291456 -sMAXIMUM_MEMORY=17179869184
	-sEXPORTED_FUNCTIONS=_main,_handle,_malloc,_free,_fflush,_emscripten_stack_init,_emscripten_stack_get_end
	-sEXPORTED_RUNTIME_METHODS=cwrap -sENVIRONMENT=node --js-library "$mods/library.js")
# The wasm64 modules carry the names of the glue the reference loader's wasm64 format binds
# (a newer emscripten): renamed imports and stack API exports. They are linked at -O1: at -O2
# binaryen inlines the trapping malloc stub that emcc 3.1.6's wasm64 setjmp lowering leaves
# (malloc declared (i32) -> i64), before wasmrename can give it the body it meant.
renames64=(import:abort=_abort_js
	import:_emscripten_date_now=emscripten_date_now import:system=_emscripten_system
	export:stackSave=emscripten_stack_get_current export:stackRestore=_emscripten_stack_restore
	export:stackAlloc=_emscripten_stack_alloc)
build64() {
	local name=$1; shift
	local deps=()
	while [ "$1" != "--" ]; do deps+=("$1"); shift; done
	shift
	if stale "$out/${name}64.wasm" "${deps[@]}" "${shared[@]}" "$mods/wasm64/shim64.c"; then
		log "building ${name}64 (wasm64)"
		em64 "${common64[@]}" "$@" "$mods/shim.c" "$mods/wasm64/shim64.c" -o "$out/${name}64.emcc.js" 2>&1 |
			grep -v -e 'signature mismatch' -e '^>>> defined as' -e '^$' >&2 || true
		[ -s "$out/${name}64.emcc.wasm" ] || { log "emcc failed for ${name}64"; exit 1; }
		(cd "$root" && go run ./runtime/internal/wasmbin/wasmrename "$out/${name}64.emcc.wasm" "$out/${name}64.raw.wasm" \
			fix-malloc-stubs "${renames64[@]}")
		node "$meter" "$out/${name}64.raw.wasm" "$out/${name}64.wasm.tmp" i64
		mv "$out/${name}64.wasm.tmp" "$out/${name}64.wasm"
	fi
}
luaobj64="$src/lua-obj64"
mkdir -p "$luaobj64"
lua_objs64=()
for c in "$luadir"/*.c; do
	b=$(basename "$c" .c)
	case "$b" in lua|luac) continue ;; esac
	o="$luaobj64/$b.o"
	if stale "$o" "$c"; then em64 -O2 -DLUA_COMPAT_5_2 -I"$src" -c "$c" -o "$o"; fi
	lua_objs64+=("$o")
done
for m in "$mods"/lua/*.c; do
	name=$(basename "$m" .c)
	build64 "$name" "$m" "$src/$name.lua.h" -- -I"$luadir" -I"$src" -DPROCESS_LUA_H="\"$name.lua.h\"" "$m" "${lua_objs64[@]}"
done
# sjlj.c is left out: binaryen 108 aborts on it under -sMEMORY64 (an assertion in wasm-opt).
for m in "$mods"/c/*.c; do
	case "$(basename "$m" .c)" in sjlj) continue ;; esac
	build64 "$(basename "$m" .c)" "$m" -- "$m"
done

# A freestanding memory64 module (clang, no libc) for the memory64 lowering's tests.
if stale "$out/lowering64.wasm" "$mods/wasm64/lowering.c"; then
	log "building lowering64"
	clang-14 --target=wasm64-unknown-unknown -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
		-o "$out/lowering64.wasm" "$mods/wasm64/lowering.c"
fi
log "modules in $out"
