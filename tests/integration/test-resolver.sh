#!/usr/bin/env bash
# The resolver (src/dns/resolver.cpp) against a real NSD and the scripted broken server:
# runs the Boost.Test runner tests/resolver/resolver-dns-test.cpp of this build.
set -uo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
bin=$build/tests/resolver-dns-test
[ -x "$bin" ] || { echo "FAIL: $bin not built" >&2; exit 1; }
source "$src/tests/lib/resolver-servers.sh"
work=$(mktemp -d)
trap 'resolver_servers_stop; rm -rf "$work"' EXIT
trap 'exit 143' TERM INT HUP # so the EXIT trap stops the servers
resolver_servers_start "$work" || { echo "FAIL: DNS servers did not start" >&2; exit 1; }
timeout 300 "$bin" --log_level=test_suite --report_level=short "$@"
