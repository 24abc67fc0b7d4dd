#!/usr/bin/env bash
# Installs arlocal 1.1.66 (a real local Arweave gateway, npm) into testdata/arlocal for the Arweave
# flush and recovery tests (docs/design.md §6):
#   - package.json pins arlocal and overrides avsc to the registry's 5.7.9 (arbundles 0.6.x names a
#     GitHub branch, which the registry-only install cannot fetch);
#   - sqlite3 has no reachable prebuilt binary, so node-gyp builds it from source (~60 s on 2 cores)
#     against the Debian nodejs headers (npm_config_nodedir=/usr), which needs python3, make, g++.
# Idempotent: does nothing when node_modules matches package-lock.json and sqlite3 loads.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=testdata/arlocal
log() { printf 'deps(arlocal): %s\n' "$*" >&2; }

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

ok() {
	[ -f "$dir/node_modules/arlocal/bin/index.js" ] &&
		[ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ] &&
		(cd "$dir" && node -e "require('sqlite3')" >/dev/null 2>&1)
}
if ok; then
	exit 0
fi
log "npm ci in $dir (builds sqlite3 from source, about a minute)"
nodedir=/usr
[ -f /usr/include/node/node.h ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
(cd "$dir" && npm_config_nodedir="$nodedir" npm ci --no-audit --no-fund --loglevel=error)
(cd "$dir" && node -e "require('sqlite3')") || { log "sqlite3 does not load after the install"; exit 1; }
log "ok"
