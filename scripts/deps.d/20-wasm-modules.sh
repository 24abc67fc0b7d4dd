#!/usr/bin/env bash
# Builds the WebAssembly test modules of runtime/ from source, offline, with Debian's emscripten:
#   - aos-like Lua 5.3 processes (Lua from Debian's lua5.3 source package + runtime/testdata/modules/lua/*)
#   - small C programs exercising setjmp/longjmp, heap growth, time and stdio.
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

export NODE_PATH=/usr/share/nodejs   # emcc's JS optimizer needs acorn (Debian's node-acorn)
export EM_CACHE_QUIET=1
mods="$root/runtime/testdata/modules"
meter="$root/testdata/node/meter.cjs"
common=(-O2 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=6291456 -sMAXIMUM_MEMORY=524288000
	-sEXPORTED_FUNCTIONS=_main,_handle,_malloc,_free,_fflush,_emscripten_stack_init,_emscripten_stack_get_end
	-sEXPORTED_RUNTIME_METHODS=cwrap -sENVIRONMENT=node)

newer() { # newer OUT SRC... : true when OUT is missing or older than any SRC
	local o=$1; shift
	[ -e "$o" ] || return 0
	for s in "$@"; do [ "$s" -nt "$o" ] && return 0; done
	return 1
}

build() { # build NAME SOURCES... : emcc to NAME.raw.wasm (+ .js glue), then meter to NAME.wasm
	local name=$1; shift
	local deps=("$@" "$0" "$meter")
	if newer "$out/$name.wasm" "${deps[@]}"; then
		log "building $name"
		emcc "${common[@]}" "${CFLAGS_EXTRA[@]}" "$@" -o "$out/$name.raw.js"
		node "$meter" "$out/$name.raw.wasm" "$out/$name.wasm"
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
	if newer "$o" "$c"; then emcc -O2 -DLUA_COMPAT_5_2 -c "$c" -o "$o"; fi
	lua_objs+=("$o")
done

CFLAGS_EXTRA=(-I"$luadir" -DLUA_COMPAT_5_2)
for m in "$mods"/lua/*.c; do
	name=$(basename "$m" .c)
	lua_src="${m%.c}.lua"
	# The Lua program is embedded as a C string by the wrapper (generated header).
	hdr="$src/$name.lua.h"
	if newer "$hdr" "$lua_src"; then
		node -e 'const fs=require("fs");const s=fs.readFileSync(process.argv[1],"utf8");fs.writeFileSync(process.argv[2],"static const char PROCESS_LUA[] = "+JSON.stringify(s)+";\n")' "$lua_src" "$hdr"
	fi
	CFLAGS_EXTRA=(-I"$luadir" -I"$src" -DLUA_COMPAT_5_2 -DPROCESS_LUA_H="\"$name.lua.h\"")
	build "$name" "$m" "$mods/lua/shim.c" "${lua_objs[@]}"
done

CFLAGS_EXTRA=()
for m in "$mods"/c/*.c; do
	build "$(basename "$m" .c)" "$m" "$mods/lua/shim.c"
done
log "modules in $out"
