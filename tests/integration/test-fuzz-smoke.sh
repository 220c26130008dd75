#!/usr/bin/env bash
# A short smoke of every libFuzzer target (fuzz/): builds them with clang in a separate
# build directory (ASan + UBSan + libFuzzer), replays fuzz/regressions/<target>/* (each
# an input that once crashed a target) and fuzzes each target from its seed corpus for
# a few thousand runs. The long run is `contrib/dev.sh fuzz`.
# Without clang-14 and libFuzzer this test is skipped (77), or fails under CI=true.
set -euo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
runs=${IP25B_FUZZ_SMOKE_RUNS:-3000}

missing() {
    echo "fuzz smoke: $1" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}
command -v clang++-14 >/dev/null || missing "clang++-14 missing (apt-get install clang-14)"
ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    missing "libFuzzer missing (apt-get install libfuzzer-14-dev)"

fuzz_build=$build/fuzz-smoke
CC=clang-14 CXX=clang++-14 cmake -S "$src" -B "$fuzz_build" -DIP25B_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$fuzz_build" -j"${IP25B_JOBS:-2}" --target fuzz-all >/dev/null

expected=$(ls "$src"/fuzz/fuzz-*.cpp | wc -l)
[ "$expected" -ge 8 ] || { echo "FAIL: only $expected fuzz targets" >&2; exit 1; }
# Two processes a target on one corpus (FUZZ_PROCS), as the long run uses the cores.
out=$(FUZZ_PROCS=2 "$src/fuzz/run-fuzzers.sh" "$fuzz_build" "$runs") || {
    echo "$out"
    echo "FAIL: a fuzz target crashed" >&2
    exit 1
}
echo "$out"
# Every target ran the requested number of inputs in all (a process that exits early or
# never starts leaves the sum short).
short=$(echo "$out" | awk -v n="$runs" 'NR > 1 && $2 < n { print $1 }')
[ -z "$short" ] || { echo "FAIL: targets ran fewer than $runs inputs: $short" >&2; exit 1; }
[ "$(echo "$out" | wc -l)" -eq $((expected + 1)) ] || { echo "FAIL: a target did not report" >&2; exit 1; }
echo "fuzz smoke: $expected targets, $runs runs each, no crash"
