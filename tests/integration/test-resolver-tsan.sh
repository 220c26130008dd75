#!/usr/bin/env bash
# The resolver's threads under ThreadSanitizer: builds just tests/resolver/resolver-dns-test
# (six translation units) with -DIP25B_TSAN=ON in its own directory beside the main build,
# then runs it against NSD and the scripted server like test-resolver.sh does.
set -uo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
tsan=$build/tsan-resolver
cmake -S "$src" -B "$tsan" -DCMAKE_BUILD_TYPE=Debug -DIP25B_TSAN=ON -DIP25B_SANITIZE=OFF \
    -DCMAKE_CXX_FLAGS=-O1 >"$build/tsan-resolver.log" 2>&1 &&
    cmake --build "$tsan" --target resolver-dns-test -j2 >>"$build/tsan-resolver.log" 2>&1 ||
    { cat "$build/tsan-resolver.log" >&2; echo "FAIL: ThreadSanitizer build" >&2; exit 1; }

source "$src/tests/lib/resolver-servers.sh"
work=$(mktemp -d)
trap 'resolver_servers_stop; rm -rf "$work"' EXIT
trap 'exit 143' TERM INT HUP # so the EXIT trap stops the servers
resolver_servers_start "$work" || { echo "FAIL: DNS servers did not start" >&2; exit 1; }
# Some kernels map memory where TSan's shadow should be; without ASLR it always fits.
run=()
setarch "$(uname -m)" -R true 2>/dev/null && run=(setarch "$(uname -m)" -R)
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
    timeout 600 "${run[@]}" "$tsan/tests/resolver-dns-test" --report_level=short \
    --run_test=concurrency,failures,cache "$@"
