#!/usr/bin/env bash
# Generic tier benchmark: the cost per name of GenericDetector::detect() (target: under
# 2 us at p50 and p99) and of a whole classification with the shipped sources, over the
# 120,000-name corpus of shared/bench/gen_hostnames.py.
#   bench/bench-generic.sh BUILD_DIR   (a Release build; builds ip25b-bench-generic if needed)
set -euo pipefail
build=${1:?usage: bench/bench-generic.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
shared=${IP25B_SHARED_DIR:-$src/../shared}
bin=$build/tests/ip25b-bench-generic
cmake --build "$build" --target ip25b-bench-generic -j2 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$shared/bench/gen_hostnames.py" --outdir "$tmp" >/dev/null
echo "== generic tier ($(nproc) cores, $(uname -m))"
"$bin" "$src/rules" <"$tmp/hostnames.txt"
