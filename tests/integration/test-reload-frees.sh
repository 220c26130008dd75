#!/usr/bin/env bash
# test-reload-frees.sh — an old rule set is freed once its last session ends.
#
# Starts ip25b-milter in the foreground with a big generated pcre: table
# (bench/gen-load-rules.py), holds one milter session open, and reloads
# (SIGUSR1) to a 21-rule table with a changed [dns] section (so the new set
# gets a resolver of its own). While the session lasts the first set, its
# resolver thread included, must stay; once the session ends the set must be
# gone: RSS well below the big set's, threads and FDs back to what they were
# with one set loaded. A second reload checks the same without any session.
# Everything listens on 127.0.0.1; nothing answers DNS (no lookup is made).
set -euo pipefail

build=${IP25B_BUILD_DIR:?set IP25B_BUILD_DIR}
src=${IP25B_SOURCE_DIR:?set IP25B_SOURCE_DIR}
milter=$build/ip25b-milter
rules=${IP25B_RELOAD_RULES:-60000}
if [ ! -x "$milter" ]; then
    echo "$milter not built"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
# shellcheck source=../lib/net.sh
source "$src/tests/lib/net.sh"

work=$(mktemp -d /tmp/ip25b-reload.XXXXXX)
milter_pid=
client_pid=
cleanup() {
    local rc=$?
    set +e
    [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null && wait "$client_pid" 2>/dev/null
    [ -n "$milter_pid" ] && stop_pid "$milter_pid"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "--- milter log"
    tail -n 30 "$work/milter.log" 2>/dev/null || true
    exit 1
}

python3 "$src/bench/gen-load-rules.py" --shape mixed --rules "$rules" --table "$work/big.pcre"
for i in $(seq 21); do
    printf '/^dyn-[0-9]+\\.small%d\\.example$/ REJECT small %d\n' "$i" "$i"
done >"$work/small.pcre"
dns_port=$(free_port)
milter_port=$(free_port)

# write_config TABLE DNS_TIMEOUT_MS
write_config() {
    cat >"$work/ip25b.conf" <<EOF
[rules]
files = ["pcre:$1"]
[dns]
servers = ["127.0.0.1:$dns_port"]
timeout_ms = $2
tries = 1
deadline_ms = 1500
[log]
json_file = "$work/decisions.jsonl"
syslog = false
EOF
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$milter_pid/status"; }
threads() { ls "/proc/$milter_pid/task" | wc -l; }
# resolver threads name themselves "ip25b-resolver"
resolvers() { cat "/proc/$milter_pid/task/"*/comm 2>/dev/null | grep -cx ip25b-resolver || true; }
fds() { ls "/proc/$milter_pid/fd" | wc -l; }
# reload N: SIGUSR1, then wait for "reloaded: rule set N"
reload() {
    kill -USR1 "$milter_pid"
    wait_file_grep "$work/milter.log" "reloaded: rule set $1" 120 || fail "reload $1 not logged"
}

write_config "$work/big.pcre" 300
"$milter" -f -c "$work/ip25b.conf" -p "inet:$milter_port@127.0.0.1" >"$work/milter.log" 2>&1 &
milter_pid=$!
wait_file_grep "$work/milter.log" "listening on" 120 || fail "milter did not start"
wait_port 127.0.0.1 "$milter_port" 20 || fail "milter does not listen"
sleep 0.5
rss_big=$(rss_kb)
threads_one=$(threads)
fds_one=$(fds)
echo "one big set ($rules rules): RSS $rss_big KiB, $threads_one threads, $fds_one FDs"
[ "$(resolvers)" -eq 1 ] || fail "expected 1 resolver thread, got $(resolvers)"

# A session that starts now keeps the big set until it ends.
python3 - "$src/tests/lib/milter-client.py" "$milter_port" "$work" <<'EOF' &
import importlib.util, os, struct, sys, time
spec = importlib.util.spec_from_file_location("mc", sys.argv[1])
mc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mc)
port, work = int(sys.argv[2]), sys.argv[3]
s = mc.Session("127.0.0.1", port, 30)
s.negotiate()
s.sock.sendall(s.macros(b"C", [("j", "mx.test")]) + s.packet(
    b"C", b"[192.0.2.1]\0" + b"4" + struct.pack("!H", 40000) + b"192.0.2.1\0"))
open(os.path.join(work, "session.open"), "w").close()
while not os.path.exists(os.path.join(work, "session.release")):
    time.sleep(0.05)
s.quit()
EOF
client_pid=$!
for _ in $(seq 100); do [ -e "$work/session.open" ] && break; sleep 0.1; done
[ -e "$work/session.open" ] || fail "session did not open"
sleep 0.3
fds_session=$(fds)

write_config "$work/small.pcre" 400
reload 2
sleep 0.5
echo "after reload, session open: RSS $(rss_kb) KiB, $(threads) threads, $(resolvers) resolvers"
# Set 1 (with its resolver thread) is still in use; set 2 brings its own.
[ "$(resolvers)" -eq 2 ] || fail "expected 2 resolver threads while the old session lasts, got $(resolvers)"

touch "$work/session.release"
wait "$client_pid" || fail "session client failed"
client_pid=
ok=
for _ in $(seq 100); do
    if [ "$(resolvers)" -eq 1 ] && [ "$(fds)" -le "$fds_one" ]; then ok=1; break; fi
    sleep 0.1
done
rss_small=$(rss_kb)
# libmilter may keep an idle worker thread from the session: only the
# resolver threads must be back to one.
threads_after=$(threads)
echo "after the session ended: RSS $rss_small KiB, $threads_after threads, $(resolvers) resolvers, $(fds) FDs"
[ -n "$ok" ] || fail "old set not freed: $(resolvers) resolver threads (want 1), $(fds) FDs (want <= $fds_one, $fds_session with the session)"
# AddressSanitizer keeps freed memory in its quarantine and its own heap, so
# RSS says nothing about the rule set there; the threads and FDs above still do.
if readelf -d "$milter" 2>/dev/null | grep -q "NEEDED.*libasan"; then # ldd misreports under ASAN_OPTIONS
    echo "RSS not checked: the milter is built with AddressSanitizer"
else
    [ "$rss_small" -lt $((rss_big / 2)) ] || fail "RSS $rss_small KiB not below half of $rss_big KiB"
fi

# No session at all: the replaced set goes at once.
write_config "$work/small.pcre" 500
reload 3
sleep 0.5
[ "$(resolvers)" -eq 1 ] || fail "reload 3: $(resolvers) resolver threads, want 1"
[ "$(threads)" -le "$threads_after" ] || fail "reload 3: $(threads) threads, want <= $threads_after"
[ "$(fds)" -le "$fds_one" ] || fail "reload 3: $(fds) FDs, want <= $fds_one"
echo "after reload 3: RSS $(rss_kb) KiB, $(threads) threads, $(fds) FDs"
echo "PASS"
