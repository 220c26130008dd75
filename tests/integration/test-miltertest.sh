#!/usr/bin/env bash
# test-miltertest.sh — protocol-level tests of ip25b-milter with OpenDKIM's miltertest.
#
# Starts a real DNS server (NSD, tests/lib/dns-server.sh) on loopback with the
# zones in tests/miltertest/zones, the milter in the foreground pointed at it,
# and runs each tests/miltertest/*.lua script against the milter; then checks
# the decision log, a reload with a broken and a changed config (SIGUSR1), and
# a clean stop (SIGTERM). Everything listens on 127.0.0.1/::1 only and is
# stopped by pid.
# ThreadSanitizer run (40 concurrent sessions under reloads, drain on stop):
#   cmake -B build-tsan -DIP25B_TSAN=ON && cmake --build build-tsan --target ip25b-milter
#   TSAN_OPTIONS=suppressions=$PWD/tests/miltertest/tsan.supp IP25B_BUILD_DIR=build-tsan \
#     IP25B_SOURCE_DIR=$PWD bash tests/integration/test-miltertest.sh
# (the suppressions cover a race inside libmilter's smfi_stop only).
set -euo pipefail

build=${IP25B_BUILD_DIR:?set IP25B_BUILD_DIR}
src=${IP25B_SOURCE_DIR:?set IP25B_SOURCE_DIR}
milter=$build/ip25b-milter
scripts=$src/tests/miltertest
command -v miltertest >/dev/null || { echo "miltertest not installed (package miltertest)"; exit 1; }
[ -x "$milter" ] || { echo "$milter not built"; exit 1; }

work=$(mktemp -d /tmp/ip25b-miltertest.XXXXXX)
# shellcheck source=../lib/dns-server.sh
source "$src/tests/lib/dns-server.sh"
milter_pid=

stop_milter() {
    [ -n "$milter_pid" ] || return 0
    kill -TERM "$milter_pid" 2>/dev/null || true
    local i
    for i in $(seq 100); do kill -0 "$milter_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$milter_pid" 2>/dev/null || true
    wait "$milter_pid" 2>/dev/null || true
    milter_pid=
}
cleanup() {
    local rc=$?
    set +e # the helpers' kill of an already-gone process must not change the result
    stop_milter
    dns_server_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    echo "--- milter log"; tail -n 60 "$work/milter.log" 2>/dev/null || true
    exit 1
}

dns_port=$(dns_free_port)
dns_server_start "$work" "$dns_port" "$scripts/zones/127.rev.zone" "$scripts/zones/ip6.rev.zone" \
    "$scripts/zones/test.zone" servfail:broken.test || fail "DNS server did not start"
milter_port=$(dns_free_port)
socket="inet:$milter_port@127.0.0.1"
log=$work/decisions.jsonl

# write_config DYNAMIC_ACTION DNS_FAILURE_ACTION [RULE_FILE] [STAGE]
write_config() {
    cat >"$work/ip25b.conf" <<EOF
[rules]
files = ["${3:-$scripts/rules/isp-test.toml}"]
self_ranges = ["127.0.0.7/32"]
[dns]
servers = ["127.0.0.1:$dns_port"]
timeout_ms = 300
tries = 1
deadline_ms = 1500
[policy]
local_ranges = []
dns_failure = "$2"
stage = "${4:-rcpt}"
[policy.action]
dynamic = "$1"
[log]
json_file = "$log"
syslog = false
level = "debug"
[milter]
socket = "$socket"
EOF
}

start_milter() {
    "$milter" -f -c "$work/ip25b.conf" >>"$work/milter.log" 2>&1 &
    milter_pid=$!
    local i
    for i in $(seq 100); do
        grep -q "listening on" "$work/milter.log" 2>/dev/null && return 0
        kill -0 "$milter_pid" 2>/dev/null || fail "milter exited during start-up"
        sleep 0.1
    done
    fail "milter did not start listening within 10 s"
}

run() { # run SCRIPT [-D var=value]...
    local name=$1
    shift
    echo "--- $name"
    timeout 60 miltertest ${MT_VERBOSE:-} -D socket="$socket" -D dir="$scripts" "$@" -s "$scripts/$name.lua" \
        >"$work/$name.out" 2>&1 || { cat "$work/$name.out"; fail "$name"; }
}

# records_for QUEUE_ID: the decision records whose queue id is QUEUE_ID, one JSON per line.
record() { # record QUEUE_ID FIELD -> value of FIELD in the only record with that queue id
    python3 - "$log" "$1" "$2" <<'PY'
import json, sys
path, qid, field = sys.argv[1:]
recs = [json.loads(l) for l in open(path) if l.strip()]
hits = [r for r in recs if r.get("queue_id") == qid]
if len(hits) != 1:
    sys.exit(f"{len(hits)} records with queue_id {qid}")
v = hits[0][field]
print(json.dumps(v) if isinstance(v, (list, dict)) or v is None else v)
PY
}

expect_record() { # expect_record QUEUE_ID FIELD VALUE
    local got
    got=$(record "$1" "$2") || fail "no single record for $1: $got"
    [ "$got" = "$3" ] || fail "record $1: $2 is '$got', expected '$3'"
}

# Wait (bounded) until the milter has written N records: it writes at xxfi_close,
# which may come a moment after miltertest has gone.
wait_records() {
    local i
    for i in $(seq 50); do
        [ "$(wc -l <"$log" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "expected $1 decision records, have $(wc -l <"$log" 2>/dev/null || echo 0)"
}

write_config reject accept
"$milter" -n -c "$work/ip25b.conf" >"$work/check.out" 2>&1 || { cat "$work/check.out"; fail "-n rejects a good config"; }
start_milter

run reject-rcpt
run auth-pass
run static-accept
run ipv6
run unknown-family
run missing-macros
run abort
run dns-failure -D expect=continue
run late-auth
wait_records 13

text="127.0.0.2 (dyn-127-0-0-2.pool.isp.test) is a dynamic address of ISP-TEST; send through your provider's mail server (port 587, SMTP AUTH)"
expect_record QRCPT1 action reject
expect_record QRCPT1 stage rcpt
expect_record QRCPT1 class dynamic
expect_record QRCPT1 isp ISP-TEST
expect_record QRCPT1 rule isp-test-pool
expect_record QRCPT1 ptr dyn-127-0-0-2.pool.isp.test
expect_record QRCPT1 ptr_status confirmed
expect_record QRCPT1 sender bot@example.net
expect_record QRCPT1 recipients '["user@example.org", "second@example.org"]'
expect_record QRCPT1 reply "550 5.7.1 $text"
expect_record QAUTH1 action accept
expect_record QAUTH1 reason authenticated
expect_record QAUTH1 auth user
expect_record QOK127.0.0.3 class none
expect_record QOK127.0.0.4 ptr_status no-ptr
expect_record QOK127.0.0.4 class unknown-ptr
expect_record QUNCONF5 ptr_status unconfirmed
expect_record QUNCONF5 class dynamic
expect_record QUNCONF5 action reject
expect_record QSELF7 class self-dynamic
expect_record QSELF7 action reject
expect_record QSELF7 ptr_status not-looked-up
expect_record QV6 client_ip 2001:db8::25
expect_record QV6 ptr dyn6-25.pool.isp.test
expect_record QV6 action reject
expect_record QUNSPEC reason "no client address"
expect_record QUNSPEC action accept
expect_record QAFTER action reject
expect_record QABORT2 action accept
expect_record QDNS ptr_status tempfail
expect_record QDNS action accept
# Refused, then authenticated on the same connection: recorded as passed.
expect_record QLATE action accept
expect_record QLATE refused_before_auth reject
expect_record QLATE auth user
# The abruptly dropped session (QDROP) never reached its stage: no record.
record QDROP action >/dev/null 2>&1 && fail "a session dropped before its stage left a record"
# miltertest reports only the reply code; a small MTA-side client shows the
# text at the protocol level, and what was negotiated away.
python3 "$scripts/milter-client.py" 127.0.0.1 "$milter_port" 127.0.0.2 bot@example.net \
    user@example.org >"$work/client.out" 2>&1 || { cat "$work/client.out"; fail "milter-client"; }
grep -qxF "rcpt y 550 5.7.1 $text" "$work/client.out" || { cat "$work/client.out"; fail "reply text on the wire"; }
# DATA stays: Postfix tells the queue id ("i") only from DATA on.
grep -qx "negotiate protocol=0x170" "$work/client.out" ||
    { cat "$work/client.out"; fail "expected NOHDRS NOEOH NOBODY NOUNKNOWN only"; }

# Postfix XCLIENT: the proxy's own session (here a dynamic address) ends with
# QUIT_NC before MAIL; only the real client (static) is judged, and the
# proxy's session leaves no record.
before=$(wc -l <"$log")
python3 "$scripts/milter-client.py" --xclient-proxy 127.0.0.2 127.0.0.1 "$milter_port" 127.0.0.3 \
    a@example.net xclient@example.org >"$work/xclient.out" 2>&1 ||
    { cat "$work/xclient.out"; fail "milter-client --xclient-proxy"; }
grep -qx "proxy connect c" "$work/xclient.out" && grep -qx "rcpt a" "$work/xclient.out" ||
    { cat "$work/xclient.out"; fail "XCLIENT: the real client was not accepted"; }
wait_records $((before + 1))
sleep 0.3
[ "$(wc -l <"$log")" = $((before + 1)) ] || fail "XCLIENT: expected one record, not one per milter session"
python3 - "$log" <<'PY' || fail "XCLIENT record is not the real client's"
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["client_ip"] == "127.0.0.3" and r["recipients"] == ["xclient@example.org"], r
PY

reloads() { grep -c "reloaded: rule set" "$work/milter.log" || true; }
wait_reloads() { # wait_reloads N: until N successful reloads were logged (bounded)
    local i
    for i in $(seq 100); do [ "$(reloads)" -ge "$1" ] && return 0; sleep 0.05; done
    fail "expected $1 reloads, saw $(reloads)"
}

# 40 concurrent sessions (dynamic and static clients) while the same config
# is reloaded three times: every session gets the right answer.
pids=()
for n in $(seq 40); do
    ip=127.0.0.$((2 + n % 2)) # .2 dynamic, .3 static
    python3 "$scripts/milter-client.py" 127.0.0.1 "$milter_port" "$ip" a@example.net \
        "r$n@example.org" >"$work/par$n.out" 2>&1 &
    pids+=($!)
done
for n in 1 2 3; do kill -USR1 "$milter_pid"; wait_reloads "$n"; done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent client failed"; done
for n in $(seq 40); do
    if [ $((n % 2)) = 0 ]; then want="rcpt y 550 5.7.1 $text"; else want="rcpt a"; fi
    grep -qxF "$want" "$work/par$n.out" || { cat "$work/par$n.out"; fail "concurrent session $n"; }
done
kill -0 "$milter_pid" || fail "milter died under concurrent sessions and reloads"

# Log rotation: rename the decision log, SIGUSR1 reopens it under its name.
mv "$log" "$log.1"
kill -USR1 "$milter_pid"
wait_reloads 4
run reject-rcpt
wait_records 1
record QRCPT1 action >/dev/null || fail "no record in the reopened decision log"

# Reload with a broken rule file: the old set keeps running, the error names file:line.
printf 'format = 1\nkind = "isp"\n[meta]\nname = "broken"\nnonsense = 1\n' >"$work/broken.toml"
write_config tag tempfail "$work/broken.toml"
kill -USR1 "$milter_pid"
for i in $(seq 50); do grep -q "reload failed" "$work/milter.log" && break; sleep 0.1; done
grep -q "reload failed.*broken.toml:[0-9]" "$work/milter.log" || fail "broken reload not logged with file:line"
run reject-rcpt
run dns-failure -D expect=continue

# A good reload while a session is open: tag instead of reject, DNS failure
# -> tempfail; the open session keeps the old set.
write_config tag tempfail
run reload-in-flight -D pid="$milter_pid"
wait_reloads 5
expect_record QINFLIGHT action reject
expect_record QAFTERRELOAD action tag
run tag
run dns-failure -D expect=tempfail
expect_record QTAG action tag

# -n reports a broken config with file:line and exit status 1.
write_config reject accept "$work/broken.toml"
if "$milter" -n -c "$work/ip25b.conf" >"$work/check.out" 2>&1; then fail "-n accepted a broken rule file"; fi
grep -q "broken.toml:[0-9]" "$work/check.out" || { cat "$work/check.out"; fail "-n error without file:line"; }

# SIGTERM with a session open: that session is still served, its record is
# written, and the milter exits 0.
# Enforcement at connect.
write_config reject accept "" connect
kill -USR1 "$milter_pid"
wait_reloads 6
run connect-stage

write_config reject accept
kill -USR1 "$milter_pid"
wait_reloads 7
run stop-in-flight -D pid="$milter_pid"
rc=0
for i in $(seq 100); do kill -0 "$milter_pid" 2>/dev/null || break; sleep 0.1; done
wait "$milter_pid" || rc=$?
milter_pid=
[ "$rc" = 0 ] || fail "milter exit status $rc after SIGTERM"
expect_record QSTOP action reject
grep -q "stopped (" "$work/milter.log" || fail "no clean stop logged"
echo "PASS: test-miltertest"
