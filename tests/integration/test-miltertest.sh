#!/usr/bin/env bash
# test-miltertest.sh — protocol-level tests of ip25b-milter with OpenDKIM's miltertest.
#
# Starts a real DNS server (NSD, tests/lib/dns-server.sh) on loopback with the
# zones in tests/miltertest/zones, the milter in the foreground pointed at it,
# and runs each tests/miltertest/*.lua script against the milter; then checks
# the decision log, a reload with a broken and a changed config (SIGUSR1), and
# a clean stop (SIGTERM). Everything listens on 127.0.0.1/::1 only and is
# stopped by pid.
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
    stop_milter
    dns_server_stop
    rm -rf "$work"
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

# write_config DYNAMIC_ACTION DNS_FAILURE_ACTION [RULE_FILE]
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
    timeout 60 miltertest -D socket="$socket" -D dir="$scripts" "$@" -s "$scripts/$name.lua" \
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
wait_records 12

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
expect_record QOK127.0.0.5 ptr_status unconfirmed
expect_record QOK127.0.0.5 class unknown-ptr
expect_record QSELF7 class self-dynamic
expect_record QSELF7 action reject
expect_record QV6 client_ip 2001:db8::25
expect_record QV6 ptr dyn6-25.pool.isp.test
expect_record QV6 action reject
expect_record QUNSPEC reason "no client address"
expect_record QUNSPEC action accept
expect_record QAFTER action reject
expect_record QABORT2 action accept
expect_record QDNS ptr_status tempfail
expect_record QDNS action accept
# The abruptly dropped session (QDROP) never reached its stage: no record.
record QDROP action >/dev/null 2>&1 && fail "a session dropped before its stage left a record"
# miltertest -vv shows the reply the milter set; the text must be the template.
miltertest -vv -D socket="$socket" -D dir="$scripts" -s "$scripts/reject-rcpt.lua" >"$work/vv.out" 2>&1 ||
    fail "reject-rcpt (verbose)"
grep -qF "$text" "$work/vv.out" || { cat "$work/vv.out"; fail "reply text not seen by the MTA side"; }

# Reload with a broken rule file: the old set keeps running, the error names file:line.
printf 'format = 1\nkind = "isp"\n[meta]\nname = "broken"\nnonsense = 1\n' >"$work/broken.toml"
write_config tag tempfail "$work/broken.toml"
kill -USR1 "$milter_pid"
for i in $(seq 50); do grep -q "reload failed" "$work/milter.log" && break; sleep 0.1; done
grep -q "reload failed.*broken.toml:[0-9]" "$work/milter.log" || fail "broken reload not logged with file:line"
run reject-rcpt
run dns-failure -D expect=continue

# A good reload: tag instead of reject, DNS failure -> tempfail.
write_config tag tempfail
kill -USR1 "$milter_pid"
for i in $(seq 50); do grep -q "reloaded: rule set 2" "$work/milter.log" && break; sleep 0.1; done
grep -q "reloaded: rule set 2" "$work/milter.log" || fail "reload not done"
run tag
run dns-failure -D expect=tempfail
expect_record QTAG action tag

# -n reports a broken config with file:line and exit status 1.
write_config reject accept "$work/broken.toml"
if "$milter" -n -c "$work/ip25b.conf" >"$work/check.out" 2>&1; then fail "-n accepted a broken rule file"; fi
grep -q "broken.toml:[0-9]" "$work/check.out" || { cat "$work/check.out"; fail "-n error without file:line"; }

# Clean stop: exit status 0.
kill -TERM "$milter_pid"
rc=0
wait "$milter_pid" || rc=$?
milter_pid=
[ "$rc" = 0 ] || fail "milter exit status $rc after SIGTERM"
echo "PASS: test-miltertest"
