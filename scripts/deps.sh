#!/usr/bin/env bash
# Installs everything the test suite needs that is not a Go module, from the registries this project
# may use (Debian packages, npm). Idempotent: a second run does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf 'deps: %s\n' "$*" >&2; }

# npm packages used as interop oracles (arbundles signer, ao-loader, aoconnect, arlocal).
if [ ! -d testdata/node/node_modules ] || [ testdata/node/package-lock.json -nt testdata/node/node_modules/.package-lock.json ]; then
	log "npm ci in testdata/node"
	(cd testdata/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# Further steps (Debian packages, test modules) are appended by the issues that need them.
for step in scripts/deps.d/*.sh; do
	[ -e "$step" ] || continue
	log "running $step"
	bash "$step"
done
log "ok"
