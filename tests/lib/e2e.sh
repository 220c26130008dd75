# Common frame of the end-to-end tests (source this file first):
# temp dir, cleanup of everything the test started, assertions, an SMTP
# client that connects from a chosen loopback source address.

set -uo pipefail
_e2e_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=net.sh
. "$_e2e_lib_dir/net.sh"

E2E_SOURCE_DIR=${IP25B_SOURCE_DIR:-$(cd "$_e2e_lib_dir/../.." && pwd)}
E2E_BUILD_DIR=${IP25B_BUILD_DIR:-$E2E_SOURCE_DIR/build}
E2E_PASS=0
E2E_FAIL=0
E2E_CLEANUPS=()
E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ip25b-e2e.XXXXXX")
chmod 755 "$E2E_WORK"
# The shipped rules, readable by every user: a milter started with -u reads its rules
# after the privilege drop, and a checkout may sit where only its owner can enter
# (a clone under `mktemp -d` is 0700).
E2E_RULES=$E2E_WORK/rules
cp -r "$E2E_SOURCE_DIR/rules" "$E2E_RULES" && chmod -R a+rX "$E2E_RULES"

# e2e_on_exit CMD: run CMD (a function name plus args) at exit, last first.
e2e_on_exit() { E2E_CLEANUPS+=("$*"); }

_e2e_cleanup() {
    local i
    for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${E2E_CLEANUPS[$i]}" || true
    done
    if [ "$E2E_FAIL" -ne 0 ] || [ -n "${E2E_KEEP:-}" ]; then
        echo "e2e: work dir kept for inspection: $E2E_WORK" >&2
    else
        rm -rf "$E2E_WORK"
    fi
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT TERM

# e2e_skip REASON: the test cannot run here. ctest reports exit 77 as skipped
# (SKIP_RETURN_CODE), never as passed; under CI=true a missing component is a
# failure, because CI installs everything the suite needs.
e2e_skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: cannot run under CI: $*"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "ok   - $*"; }
not_ok() { E2E_FAIL=$((E2E_FAIL + 1)); echo "FAIL - $*"; }

# expect DESCRIPTION FILE REGEX: FILE has a line matching REGEX.
expect() {
    if grep -Eq -- "$3" "$2"; then ok "$1"; else
        not_ok "$1 (no /$3/ in $2)"
        sed 's/^/    | /' "$2" | tail -n 40
    fi
}
# expect_not DESCRIPTION FILE REGEX
expect_not() {
    if ! grep -Eq -- "$3" "$2"; then ok "$1"; else
        not_ok "$1 (unexpected /$3/ in $2)"
        grep -E -- "$3" "$2" | sed 's/^/    | /'
    fi
}

e2e_finish() {
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# smtp_session OUT PORT SRC_ADDR [swaks options...]: one SMTP session to
# 127.0.0.1:PORT from the loopback address SRC_ADDR; the transcript goes to
# OUT. Returns swaks's status (0 = message accepted).
E2E_MAIL_FROM=${E2E_MAIL_FROM:-sender@example.net}
E2E_RCPT_TO=${E2E_RCPT_TO:-postmaster@ip25b.test}
smtp_session() {
    local out=$1 port=$2 src=$3
    shift 3
    timeout 60 swaks --server "127.0.0.1:$port" --local-interface "$src" \
        --helo client.example.net --from "$E2E_MAIL_FROM" --to "$E2E_RCPT_TO" \
        --timeout 30 --header "Subject: ip25b e2e" "$@" >"$out" 2>&1
}

# milter_start CONFIG [ip25b-milter options...]: start the milter from the
# build dir in the foreground on a free loopback port. Sets MILTER_PID,
# MILTER_PORT, MILTER_OUT (its stdout+stderr). Stopped by pid at exit.
MILTER_PID=
milter_start() {
    local conf=$1
    shift
    local bin=$E2E_BUILD_DIR/ip25b-milter
    [ -x "$bin" ] || { echo "milter_start: $bin is not built" >&2; return 1; }
    MILTER_PORT=${MILTER_PORT:-$(free_port)}
    MILTER_OUT=$E2E_WORK/milter.out
    local served i
    served=$(grep -c "listening on" "$MILTER_OUT" 2>/dev/null || true)
    "$bin" -f -c "$conf" -p "inet:$MILTER_PORT@127.0.0.1" "$@" >>"$MILTER_OUT" 2>&1 &
    MILTER_PID=$!
    # Loading and linting every shipped rule takes seconds under the sanitizers.
    # The socket accepts connections before the rule set is built; libmilter
    # answers only once it serves, which the milter logs as "listening on".
    for ((i = 0; i < 900; i++)); do
        [ "$(grep -c "listening on" "$MILTER_OUT" 2>/dev/null || true)" -gt "${served:-0}" ] &&
            wait_port 127.0.0.1 "$MILTER_PORT" 10 && return 0
        kill -0 "$MILTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "milter_start: the milter does not serve:" >&2
    tail -n 30 "$MILTER_OUT" >&2
    return 1
}
# milter_reload: SIGUSR1, then wait (bounded) until the milter reports the
# outcome; returns 0 when the new set is in force, 1 when it kept the old.
milter_reload() {
    local before i
    before=$(grep -cE 'reloaded|reload failed' "$MILTER_OUT")
    kill -USR1 "$MILTER_PID" || return 1
    for ((i = 0; i < 900; i++)); do
        if [ "$(grep -cE 'reloaded|reload failed' "$MILTER_OUT")" -gt "$before" ]; then
            grep -E 'reloaded|reload failed' "$MILTER_OUT" | tail -n1 | grep -q reloaded
            return
        fi
        sleep 0.1
    done
    echo "milter_reload: no outcome logged after 90 s" >&2
    return 1
}
milter_stop() {
    [ -n "${MILTER_PID:-}" ] || return 0
    stop_pid "$MILTER_PID" 15
    MILTER_PID=
}
e2e_on_exit milter_stop

# json_decisions FILTER: print the decision-log records (JSON lines in
# $DECISIONS) that match a python expression over `r`, one per line.
json_decisions() {
    python3 - "$DECISIONS" "$1" <<'PY'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    r = json.loads(line)
    if eval(expr, {}, {"r": r}):
        print(line)
PY
}
# expect_decision DESCRIPTION PY_EXPR: some decision record satisfies PY_EXPR.
expect_decision() {
    local hits
    hits=$(json_decisions "$2" | wc -l)
    if [ "$hits" -gt 0 ]; then ok "$1"; else
        not_ok "$1 (no decision record with $2)"
        tail -n 5 "$DECISIONS" 2>/dev/null | sed 's/^/    | /'
    fi
}

# e2e_dns_start: the tests' DNS server with tests/data/zones on a free
# port. Sets DNS_PORT.
e2e_dns_start() {
    # shellcheck source=dns-server.sh
    . "$_e2e_lib_dir/dns-server.sh"
    DNS_PORT=$(dns_free_port)
    dns_server_start "$E2E_WORK" "$DNS_PORT" "$E2E_SOURCE_DIR"/tests/data/zones/*.zone || return 1
    e2e_on_exit dns_server_stop
}

# e2e_milter_conf FILE [key=value...]: write a milter config for the e2e
# tests: the shipped allowlist and ISP rules, the operator's own
# pool = 127.0.0.12 and 2001:db8::12, loopback NOT exempt (the test clients
# are loopback addresses), the tests' DNS server, decisions to $DECISIONS.
# Options: dynamic=ACTION dns_failure=accept|tempfail dry_run=true|false
# dns=HOST:PORT unknown_ptr=ACTION stage=connect|helo|mail|rcpt
# require_fcrdns=true|false (default false, as shipped)
# rules_extra=', "FILE"' (appended to the rule list)
DECISIONS=$E2E_WORK/decisions.jsonl
e2e_milter_conf() {
    local file=$1
    shift
    local dynamic=reject dns_failure=accept dry_run=false dns="127.0.0.1:${DNS_PORT:-53}"
    local unknown_ptr=accept rules_extra="" stage=rcpt require_fcrdns=false kv
    for kv in "$@"; do
        case $kv in
        dynamic=*) dynamic=${kv#*=} ;;
        dns_failure=*) dns_failure=${kv#*=} ;;
        dry_run=*) dry_run=${kv#*=} ;;
        dns=*) dns=${kv#*=} ;;
        unknown_ptr=*) unknown_ptr=${kv#*=} ;;
        rules_extra=*) rules_extra=${kv#*=} ;;
        stage=*) stage=${kv#*=} ;;
        require_fcrdns=*) require_fcrdns=${kv#*=} ;;
        *) echo "e2e_milter_conf: unknown option $kv" >&2; return 1 ;;
        esac
    done
    cat >"$file" <<TOML
# written by tests/lib/e2e.sh
[rules]
files = ["$E2E_RULES/allowlist", "$E2E_RULES/isp"$rules_extra]
self_ranges = ["127.0.0.12/32", "2001:db8::12/128"]
require_fcrdns = $require_fcrdns

[dns]
servers = ["$dns"]
timeout_ms = 500
tries = 1
deadline_ms = 2000

[policy]
stage = "$stage"
local_ranges = []
dns_failure = "$dns_failure"
dry_run = $dry_run

[policy.action]
dynamic = "$dynamic"
unknown_ptr = "$unknown_ptr"

[log]
json_file = "$DECISIONS"
syslog = false
level = "debug"
TOML
}
