#!/usr/bin/env bash
# test-soak-smoke.sh — a short soak (tests/soak/run-soak.sh): at most 5,000 sessions
# (150/s) or 30 s of load against the milter of this build, with reloads every 2 s, NSD frozen and
# restarted, clients dropping after CONNECT and MAIL, and 2,000 idle connections held
# under a 1,024-FD soft limit. Fails on a lost,
# duplicated or torn decision record, a 5xx not caused by a dynamic PTR, a failed or
# timed-out session, a failed reload, or a milter that dies or does not stop cleanly.
# The full soak: contrib/dev.sh soak.
set -euo pipefail
build=${IP25B_BUILD_DIR:?set IP25B_BUILD_DIR}
src=${IP25B_SOURCE_DIR:?set IP25B_SOURCE_DIR}
# The driver is not part of the default build.
if [ ! -x "$build/tests/ip25b-soak" ]; then
    cmake --build "$build" --target ip25b-soak >/dev/null || { echo "FAIL: cannot build ip25b-soak"; exit 1; }
fi
SOAK_HOSTS=${SOAK_HOSTS:-1000} SOAK_RELOAD_EVERY=2 SOAK_DNS_EVERY=8 SOAK_IDLE=2000 \
    SOAK_IDLE_AT=8 SOAK_IDLE_HOLD=15 SOAK_WARMUP=5 SOAK_CONCURRENCY=16 SOAK_RATE=150 \
    bash "$src/tests/soak/run-soak.sh" "$build" 5000 30
