#!/usr/bin/env bash
# iproute2 (`ip`): node.TestClusterPartition cuts a member off with network namespaces and veth pairs.
set -euo pipefail
if ! command -v ip >/dev/null 2>&1; then
	printf 'deps: installing iproute2\n' >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: iproute2 is missing and this is not root: apt-get install -y iproute2" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
