#!/usr/bin/env bash
# run-soak.sh — the soak: ip25b-milter under load, reloads, DNS restarts, drops and idle conns.
#
#   run-soak.sh BUILD_DIR SESSIONS [TIME_LIMIT_S]
#
# Starts NSD on loopback with generated 127.in-addr.arpa zones (gen-soak-zones.py), the
# milter in the foreground with the usual 1,024-FD soft limit, then ip25b-soak
# (soak-driver.cpp), which drives SESSIONS sessions (or stops at TIME_LIMIT_S), reloads
# the milter every few seconds, restarts or freezes NSD (this script's dns-restart step),
# holds idle connections, samples the milter's resources and checks every decision record.
# Prints the driver's report, the milter's own count of reloads, and its exit after
# SIGTERM. Exit status: 0 pass, 1 fail, 77 a component is missing (1 under CI=true).
# Tunables (environment): SOAK_HOSTS (addresses per class), SOAK_CONCURRENCY, SOAK_IDLE,
# SOAK_IDLE_AT, SOAK_IDLE_HOLD, SOAK_RELOAD_EVERY, SOAK_DNS_EVERY, SOAK_MILTER_TIMEOUT,
# SOAK_WARMUP, SOAK_RATE (sessions/s cap), SOAK_MILTER (the milter binary), SOAK_KEEP=1 (keep the work directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

# dns-restart WORKDIR: called by the driver. Odd calls freeze NSD for 4 s (queries
# time out: slow DNS), even calls kill it, leave it down 3 s and start it again.
if [ "${1:-}" = dns-restart ]; then
    work=$2
    pid=$(cat "$work/nsd.pidnum")
    n=$(($(cat "$work/dns-restarts" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$work/dns-restarts"
    if [ $((n % 2)) = 1 ]; then
        # NSD answers from a child process: freeze the parent and its children.
        pids="$pid $(ps -o pid= --ppid "$pid" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        kill -STOP $pids && sleep 4 && kill -CONT $pids
        exit
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    sleep 3
    setsid /usr/sbin/nsd -d -c "$work/nsd/nsd.conf" >>"$work/nsd-restarts.log" 2>&1 </dev/null &
    echo $! >"$work/nsd.pidnum"
    port=$(cat "$work/dns-port")
    for _ in $(seq 100); do
        dig +time=1 +tries=1 +norec @127.0.0.1 -p "$port" 127.in-addr.arpa SOA >/dev/null 2>&1 && exit 0
        sleep 0.1
    done
    echo "run-soak: NSD did not come back on port $port" >&2
    exit 1
fi

build=${1:?usage: run-soak.sh BUILD_DIR SESSIONS [TIME_LIMIT_S]}
sessions=${2:?usage: run-soak.sh BUILD_DIR SESSIONS [TIME_LIMIT_S]}
time_limit=${3:-3600}
hosts=${SOAK_HOSTS:-4096}

missing() {
    echo "run-soak: $*" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}
milter=${SOAK_MILTER:-$build/ip25b-milter} # SOAK_MILTER: another build to compare
[ -x "$milter" ] || missing "$milter not built"
driver=$build/tests/ip25b-soak
[ -x "$driver" ] || missing "$driver not built"
[ -x /usr/sbin/nsd ] || missing "nsd not installed (package nsd)"
command -v dig >/dev/null || missing "dig not installed (package bind9-dnsutils)"

work=$(mktemp -d /tmp/ip25b-soak.XXXXXX)
# shellcheck source=../lib/dns-server.sh
source "$src/tests/lib/dns-server.sh"
# shellcheck source=../lib/net.sh
source "$src/tests/lib/net.sh"
milter_pid=
cleanup() {
    local rc=$?
    set +e
    [ -n "$milter_pid" ] && stop_pid "$milter_pid" 10
    # The driver may have restarted NSD: stop the one running now.
    [ -s "$work/nsd.pidnum" ] && DNS_SERVER_PID=$(cat "$work/nsd.pidnum") && kill -CONT "$DNS_SERVER_PID" 2>/dev/null
    dns_server_stop
    if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "run-soak: kept $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT

python3 "$here/gen-soak-zones.py" "$hosts" "$work"
dns_port=$(dns_free_port)
echo "$dns_port" >"$work/dns-port"
dns_server_start "$work" "$dns_port" "$work/127.rev.zone" "$work/isp.test.zone" \
    "$work/partner.test.zone" servfail:broken.test || { echo "run-soak: NSD did not start"; exit 1; }
echo "$DNS_SERVER_PID" >"$work/nsd.pidnum"

milter_port=$(dns_free_port)
log=$work/decisions.jsonl
cat >"$work/ip25b.conf" <<EOF
[rules]
files = ["$src/tests/miltertest/rules/isp-test.toml"]
[dns]
servers = ["127.0.0.1:$dns_port"]
timeout_ms = 500
tries = 1
deadline_ms = 1500
[policy]
local_ranges = []
dns_failure = "tempfail"
[policy.action]
dynamic = "reject"
[log]
json_file = "$log"
syslog = false
level = "info"
[milter]
socket = "inet:$milter_port@127.0.0.1"
EOF
# SOAK_MILTER_TIMEOUT=none: leave the key out (a milter built before it existed).
[ "${SOAK_MILTER_TIMEOUT:-600}" = none ] || echo "timeout = ${SOAK_MILTER_TIMEOUT:-600}" >>"$work/ip25b.conf"
# The soft FD limit most daemons start with; the milter has to live with it.
(ulimit -Sn 1024 && exec "$milter" -f -c "$work/ip25b.conf") >"$work/milter.log" 2>&1 &
milter_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/milter.log" && break
    pid_alive "$milter_pid" || { cat "$work/milter.log"; echo "run-soak: milter exited"; exit 1; }
    sleep 0.1
done
grep -q "listening on" "$work/milter.log" || { cat "$work/milter.log"; exit 1; }

rc=0
"$driver" --port "$milter_port" --pid "$milter_pid" --log "$log" \
    --sessions "$sessions" --time-limit "$time_limit" --hosts "$hosts" \
    --concurrency "${SOAK_CONCURRENCY:-32}" --reload-every "${SOAK_RELOAD_EVERY:-3}" \
    --dns-restart-cmd "bash '$here/run-soak.sh' dns-restart '$work'" \
    --dns-restart-every "${SOAK_DNS_EVERY:-20}" \
    --idle "${SOAK_IDLE:-2000}" --idle-at "${SOAK_IDLE_AT:-20}" --idle-hold "${SOAK_IDLE_HOLD:-60}" \
    --warmup "${SOAK_WARMUP:-10}" --rate "${SOAK_RATE:-0}" --samples "$work/samples.csv" || rc=$?

ok_reloads=$(grep -c "reloaded: rule set" "$work/milter.log" || true)
bad_reloads=$(grep -c "reload failed" "$work/milter.log" || true)
echo "milter:       $ok_reloads reloads done, $bad_reloads failed; $(grep -ciE ' (error|critical):' "$work/milter.log" || true) error lines in its log"
grep -iE ' (error|critical):' "$work/milter.log" | sort | uniq -c | sort -rn | head -5 | sed 's/^/              /' || true
if ! pid_alive "$milter_pid"; then
    echo "milter:       EXITED during the soak"; tail -20 "$work/milter.log"; rc=1
else
    stop_pid "$milter_pid" 40
    mrc=0
    wait "$milter_pid" 2>/dev/null || mrc=$?
    milter_pid=
    grep -q "stopped (" "$work/milter.log" && [ "$mrc" = 0 ] && echo "milter:       clean stop after SIGTERM" ||
        { echo "milter:       no clean stop (exit $mrc)"; rc=1; }
fi
[ "$bad_reloads" = 0 ] || rc=1
exit "$rc"
