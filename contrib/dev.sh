#!/usr/bin/env bash
# The project's two entry points (see README.md):
#   contrib/dev.sh run    install what is missing, build, run the milter in the foreground
#   contrib/dev.sh test   install what is missing, build with ASan/UBSan, run every test
#   contrib/dev.sh bench  install what is missing, build optimised, run the benchmarks
#   contrib/dev.sh package       build the Debian package (build-package/ip25b_*.deb), lintian it
#   contrib/dev.sh package-test  install that .deb into a fresh debootstrapped Debian 12 and
#                                run it the packaged way against Postfix (contrib/package-test.sh)
#   contrib/dev.sh soak [SESSIONS]
#                         build optimised, run the soak (default 1M sessions, stops at
#                         SOAK_TIME_LIMIT seconds, default 3600) and print its report
#   contrib/dev.sh fuzz [N|Ss]  build the libFuzzer targets with clang, run each for N
#                         executions (default 10000000) or S seconds, as one process per
#                         core (FUZZ_PROCS), print a report
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

install_missing() { # [LIST...]: package lists, default contrib/debian-packages.txt
    local wanted=() missing=()
    mapfile -t wanted < <(cat "${@:-contrib/debian-packages.txt}" | grep -vE '^\s*(#|$)')
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
package)
    install_missing contrib/debian-packages.txt contrib/debian-package-tools.txt
    # The tree's files as git knows them (tracked and new, not ignored: no build
    # directories), with contrib/debian as debian/.
    # The CMake build directory (obj-*) is kept between runs and file times are
    # preserved, so a rerun only compiles what changed.
    out=$here/build-package
    mkdir -p "$out/src/ip25b"
    find "$out/src/ip25b" -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        xargs -0 cp -p --parents -t "$out/src/ip25b"
    cp -r contrib/debian "$out/src/ip25b/debian"
    cp contrib/systemd/ip25b-milter.service "$out/src/ip25b/debian/ip25b.ip25b-milter.service"
    rm -f "$out"/ip25b_*.deb "$out"/ip25b-dbgsym_*.deb "$out"/ip25b_*.changes "$out"/ip25b_*.buildinfo
    # The unit tests run in `contrib/dev.sh test`; DEB_BUILD_OPTIONS may override.
    (cd "$out/src/ip25b" &&
        DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-"nocheck parallel=$(nproc)"} \
            dpkg-buildpackage -b -us -uc --no-pre-clean >"$out/build.log" 2>&1) ||
        { tail -n 40 "$out/build.log" >&2; exit 1; }
    mv "$out"/src/ip25b_*.deb "$out"/src/ip25b*.changes "$out"/src/ip25b*.buildinfo "$out"/ 2>/dev/null || true
    mv "$out"/src/ip25b-dbgsym_*.deb "$out"/ 2>/dev/null || true
    ls "$out"/ip25b_*.deb
    lintian --fail-on error,warning --info "$out"/ip25b_*.changes
    ;;
package-test)
    install_missing contrib/debian-packages.txt contrib/debian-package-tools.txt
    ls build-package/ip25b_*.deb >/dev/null 2>&1 || "$0" package
    exec bash contrib/package-test.sh "$here/build-package" "$@"
    ;;
soak)
    install_missing
    build build-release ip25b-milter,ip25b-soak -DCMAKE_BUILD_TYPE=Release
    # Every address of the 4 classes distinct (65,535 each: more than the PTR cache
    # holds); 2,000 idle connections from 30 s for 630 s with a 30-s milter timeout,
    # so libmilter's 600-s sweep closes them during the run; warm-up ends when the PTR
    # cache (100,000 entries) is full, about 300 s in (tests/soak/run-soak.sh).
    export SOAK_HOSTS=${SOAK_HOSTS:-65535} SOAK_IDLE_AT=${SOAK_IDLE_AT:-30} \
        SOAK_IDLE_HOLD=${SOAK_IDLE_HOLD:-630} SOAK_MILTER_TIMEOUT=${SOAK_MILTER_TIMEOUT:-30} \
        SOAK_WARMUP=${SOAK_WARMUP:-300}
    exec bash tests/soak/run-soak.sh "$here/build-release" "${1:-1000000}" "${SOAK_TIME_LIMIT:-3600}"
    ;;
fuzz)
    install_missing
    CC=clang-14 CXX=clang++-14 build build-fuzz fuzz-all -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DIP25B_FUZZ=ON
    FUZZ_PROCS=${FUZZ_PROCS:-$(nproc)} exec fuzz/run-fuzzers.sh "$here/build-fuzz" "${1:-10000000}"
    ;;
*)
    echo "usage: contrib/dev.sh run|test|bench|soak [SESSIONS]|fuzz [N|Ss]|package|package-test" >&2
    exit 2
    ;;
esac
