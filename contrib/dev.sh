#!/usr/bin/env bash
# The project's two entry points (see README.md):
#   contrib/dev.sh run    install what is missing, build, run the milter in the foreground
#   contrib/dev.sh test   install what is missing, build with ASan/UBSan, run every test
#   contrib/dev.sh bench  install what is missing, build optimised, run the benchmarks
#   contrib/dev.sh fuzz [N|Ss]  build the libFuzzer targets with clang, run each for N
#                         executions (default 10000000) or S seconds, print a report
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

install_missing() {
    local wanted=() missing=()
    mapfile -t wanted < <(grep -vE '^\s*(#|$)' contrib/debian-packages.txt)
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "dev.sh: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # postfix asks debconf questions on install; answer "No configuration".
    echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR TARGETS [cmake args...]; TARGETS "all" or a comma-separated list
    local dir=$1 targets=$2
    shift 2
    cmake -S . -B "$dir" "$@" >/dev/null
    if [ "$targets" = all ]; then
        cmake --build "$dir" -j"$(nproc)"
    else
        cmake --build "$dir" -j"$(nproc)" --target ${targets//,/ }
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
run)
    install_missing
    build build ip25b-milter,ip25b-cli -DCMAKE_BUILD_TYPE=RelWithDebInfo
    exec build/ip25b-milter -f -c contrib/ip25b.conf -p "${IP25B_SOCKET:-inet:8899@127.0.0.1}" "$@"
    ;;
test)
    install_missing
    build build-test all -DCMAKE_BUILD_TYPE=Debug -DIP25B_SANITIZE=ON
    cd build-test
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j"$(nproc)" "$@"
    ;;
bench)
    install_missing
    build build-release all -DCMAKE_BUILD_TYPE=Release
    for b in bench/bench-*.sh; do bash "$b" "$here/build-release"; done
    ;;
fuzz)
    install_missing
    CC=clang-14 CXX=clang++-14 build build-fuzz fuzz-all -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DIP25B_FUZZ=ON
    exec fuzz/run-fuzzers.sh "$here/build-fuzz" "${1:-10000000}"
    ;;
*)
    echo "usage: contrib/dev.sh run|test|bench|fuzz [N|Ss]" >&2
    exit 2
    ;;
esac
