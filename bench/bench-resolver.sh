#!/usr/bin/env bash
# Resolver benchmark: a local NSD (tests/lib/dns-server.sh) serving 40,000 confirming
# 198.18.0.0/16 hosts; distinct uncached lookups/s at 1, 10 and 100 in flight, cache-hit
# latency, cache memory. Peer in the same run: `dig -f` resolving PTRs one at a time.
#   bench/bench-resolver.sh BUILD_DIR   (a Release build; builds ip25b-bench-resolver if needed)
set -euo pipefail
build=${1:?usage: bench/bench-resolver.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/tests/ip25b-bench-resolver
[ -x "$bin" ] || cmake --build "$build" --target ip25b-bench-resolver -j2 >/dev/null
source "$src/tests/lib/dns-server.sh"
work=$(mktemp -d)
trap 'dns_server_stop; rm -rf "$work"' EXIT
trap 'exit 143' TERM INT HUP # so the EXIT trap stops the servers
hosts=40000
python3 "$src/tests/lib/gen-ptr-zones.py" "$hosts" "$work"
port=$(dns_free_port)
dns_server_start "$work" "$port" "$work"/*.zone
echo "== resolver (c-ares, one loop thread, PTR + forward A per lookup) vs NSD 127.0.0.1:$port"
"$bin" "127.0.0.1:$port" "$hosts"
if command -v dig >/dev/null; then
    n=2000
    for i in $(seq 1 $n); do echo "-x 198.18.$((i >> 8)).$((i & 255))"; done >"$work/dig.batch"
    t0=$(date +%s.%N)
    dig +short +tries=1 +time=2 @127.0.0.1 -p "$port" -f "$work/dig.batch" >"$work/dig.out"
    t1=$(date +%s.%N)
    got=$(grep -c bench.test "$work/dig.out" || true)
    echo "peer: dig -f, PTR only, 1 in flight: $(python3 -c "print(round($n/($t1-$t0)))") lookups/s ($got/$n answered)"
fi
