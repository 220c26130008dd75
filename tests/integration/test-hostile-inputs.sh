#!/usr/bin/env bash
# Hostile files and bytes (issue 10): every JSON writer survives invalid UTF-8; config,
# tables, rule files and logs that are FIFOs or devices are refused at once with
# "file: reason" (a FIFO used to hang, /dev/zero to abort with bad_alloc); a running
# milter keeps its rule set when a reload meets such a file; and `ip25b match` answers
# hostile patterns (deep backtracking, deep if/endif nesting) exactly as `postmap -q`.
set -euo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
ip25b=$build/ip25b
milter=$build/ip25b-milter
# shellcheck source=../lib/net.sh
source "$src/tests/lib/net.sh"
for tool in "$ip25b" "$milter"; do
    [ -x "$tool" ] || { echo "$tool not built" >&2; exit 1; }
done
if ! command -v postmap >/dev/null; then
    echo "postmap missing (packages postfix, postfix-pcre)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi

tmp=$(mktemp -d /tmp/ip25b-hostile.XXXXXX)
milter_pid=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$milter_pid" ]; then
        kill -KILL "$milter_pid" 2>/dev/null
        wait "$milter_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run_bounded SECONDS CMD...: runs CMD, fails the test on a hang or a crash (signal).
run_bounded() {
    local secs=$1 rc=0
    shift
    timeout "$secs" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ $rc -ne 124 ] || fail "hangs: $*"
    [ $rc -lt 128 ] || fail "crashed with signal $((rc - 128)): $* ($(head -c 300 "$tmp/err"))"
    return $rc
}

# 1. JSON output with invalid UTF-8 (aborted with nlohmann type_error before).
run_bounded 20 "$ip25b" check --ip 118.8.132.157 --ptr "$(printf 'a.ocn.ne.jp\xff')" --json || true
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["ip"]=="118.8.132.157"' "$tmp/out" ||
    fail "check --json with invalid UTF-8: $(cat "$tmp/out" "$tmp/err")"
echo "check --json: invalid UTF-8 replaced, valid JSON"
printf '{"action":"reject","class":"dynamic","client_ip":"192.0.2.1","time":"2026-11-2\xc3\xa9"}\n' >"$tmp/log"
run_bounded 20 "$ip25b" report --json "$tmp/log" || fail "report --json: $(cat "$tmp/err")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" || fail "report --json output"
echo "report --json: a split UTF-8 sequence does not abort it"

# 2. FIFOs and devices as config, table, rule file and log: refused at once.
mkfifo "$tmp/fifo"
for bad in "$tmp/fifo" /dev/zero; do
    rc=0; run_bounded 10 "$ip25b" check --ip 192.0.2.1 --ptr x.example -c "$bad" || rc=$?
    [ $rc -ne 0 ] && grep -q "$bad: config file is not a regular file" "$tmp/err" ||
        fail "check -c $bad: rc $rc: $(cat "$tmp/err")"
    rc=0; run_bounded 10 "$ip25b" match --table "pcre:$bad" </dev/null || rc=$?
    [ $rc -ne 0 ] && grep -q "$bad: table is not a regular file" "$tmp/err" ||
        fail "match --table pcre:$bad: rc $rc: $(cat "$tmp/err")"
    rc=0; run_bounded 10 "$ip25b" lint "$bad" || rc=$?
    # lint prints its findings on stdout
    [ $rc -ne 0 ] && grep -q "$bad: rule file is not a regular file" "$tmp/out" ||
        fail "lint $bad: rc $rc: $(cat "$tmp/out" "$tmp/err")"
    rc=0; run_bounded 10 "$ip25b" report "$bad" || rc=$?
    [ $rc -ne 0 ] && grep -q "$bad: log is not a regular file" "$tmp/err" ||
        fail "report $bad: rc $rc: $(cat "$tmp/err")"
done
echo "FIFO and /dev/zero: refused by check -c, match --table, lint and report"

# 3. A running milter meets a FIFO, /dev/zero and a FIFO config on reload: it keeps its
# rule set each time, stays up, and takes the next good reload.
port=$(free_port)
printf '/\\.dyn\\.example$/ dynamic\n' >"$tmp/good.pcre"
ln -s "$tmp/good.pcre" "$tmp/table.pcre"
cat >"$tmp/ip25b.conf" <<CONF
[rules]
files = ["pcre:$tmp/table.pcre"]
[dns]
servers = ["127.0.0.1:$(free_port)"]
[log]
syslog = false
[milter]
socket = "inet:$port@127.0.0.1"
CONF
cp "$tmp/ip25b.conf" "$tmp/good.conf"
"$milter" -f -c "$tmp/ip25b.conf" >"$tmp/milter.log" 2>&1 &
milter_pid=$!
wait_port 127.0.0.1 "$port" 30 || fail "milter did not start: $(cat "$tmp/milter.log")"
failures() { grep -c "reload failed" "$tmp/milter.log" || true; }
reloads() { grep -c "reloaded: rule set" "$tmp/milter.log" || true; }
# reload_and_expect COUNTER N: SIGUSR1, then wait (bounded) until COUNTER reaches N.
reload_and_expect() {
    kill -USR1 "$milter_pid"
    local _
    for _ in $(seq 100); do [ "$("$1")" -ge "$2" ] && return 0; sleep 0.1; done
    fail "after SIGUSR1: expected $1 = $2 ($(tail -3 "$tmp/milter.log"))"
}
ln -sf "$tmp/fifo" "$tmp/table.pcre"
reload_and_expect failures 1
grep -q "reload failed.*table.pcre: table is not a regular file" "$tmp/milter.log" || fail "FIFO reason"
ln -sf /dev/zero "$tmp/table.pcre"
reload_and_expect failures 2
rm "$tmp/ip25b.conf" && mkfifo "$tmp/ip25b.conf"
reload_and_expect failures 3
grep -q "reload failed.*ip25b.conf: config file is not a regular file" "$tmp/milter.log" ||
    fail "FIFO config reason"
kill -0 "$milter_pid" || fail "milter died on a failed reload"
rm "$tmp/ip25b.conf" && cp "$tmp/good.conf" "$tmp/ip25b.conf"
ln -sf "$tmp/good.pcre" "$tmp/table.pcre"
reload_and_expect reloads 1
kill -TERM "$milter_pid"
rc=0; wait "$milter_pid" || rc=$?
milter_pid=
[ $rc -eq 0 ] || fail "milter exit $rc after SIGTERM"
echo "milter: 3 failed reloads kept the old set, the next good one was taken"

# 4. Hostile patterns against the real postmap.
touch "$tmp/main.cf"
{
    printf '/^(a+)+$/ catastrophic\n'
    printf '/(.*a){20}/ twenty\n'
    printf 'if /a/\n%.0s' $(seq 100)
    printf '/b$/ deep\n'
    printf 'endif\n%.0s' $(seq 100)
    printf '/./ any\n'
} >"$tmp/hostile.pcre"
printf '%s\n' aaaaaaaaaaaaaaaaaaaa-.b aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa- aaaaaaaaaaaaaaaa \
    xab xb zzz.example >"$tmp/names"
timeout 120 "$ip25b" match --table "pcre:$tmp/hostile.pcre" <"$tmp/names" 2>"$tmp/m.err" |
    LC_ALL=C sort >"$tmp/ours" || fail "ip25b match on hostile patterns: $(cat "$tmp/m.err")"
timeout 120 postmap -c "$tmp" -q - "pcre:$tmp/hostile.pcre" <"$tmp/names" 2>/dev/null |
    LC_ALL=C sort >"$tmp/theirs" || true
grep -q $'^aaaaaaaaaaaaaaaaaaaa-.b\ttwenty$' "$tmp/theirs" || fail "postmap's own answer changed"
diff "$tmp/ours" "$tmp/theirs" >&2 || fail "hostile patterns: answers differ from postmap"
echo "hostile patterns: $(wc -l <"$tmp/ours") answers identical to postmap"
echo PASS
