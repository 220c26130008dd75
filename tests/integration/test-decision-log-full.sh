#!/usr/bin/env bash
# test-decision-log-full.sh — issue 10, item 4, against the real ip25b-milter:
# the decision log on a small tmpfs that fills up during 600 sessions.
#   - every line of the file is one whole JSON record (none torn, none glued);
#   - the records lost are exactly the "records dropped" of `ip25b status`
#     and Prometheus, and the lost sessions still got their answer;
#   - with log.syslog = false the failure is said on stderr and in syslog,
#     the first at once, then at most one line per 10 s;
#   - after space comes back the next records are whole, on their own lines,
#     and "writable again after N dropped records" is said once.
# Runs in a mount namespace of its own (unshare -m): the tmpfs and a /dev
# whose /dev/log is this test's syslog listener exist only there.
if [ -z "${IP25B_IN_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
    unshare -m --propagation private true 2>/dev/null; then
    IP25B_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/e2e.sh"
[ -n "${IP25B_IN_NS:-}" ] || e2e_skip "needs root and a mount namespace (unshare -m) for a tmpfs"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"
[ -x "$E2E_BUILD_DIR/ip25b" ] || e2e_skip "ip25b (the CLI, for status) is not built"
command -v python3 >/dev/null || e2e_skip "python3 missing"
w=$E2E_WORK
cli=$E2E_BUILD_DIR/ip25b
sessions=${FULL_SESSIONS:-600}

# --- the small disk: 256 KiB, 160 KiB of it left for the log
disk=$w/disk
mkdir -p "$disk"
mount -t tmpfs -o size=256k tmpfs "$disk" || { not_ok "mount tmpfs"; e2e_finish; exit 1; }
e2e_on_exit "umount -l $disk"
head -c $((96 * 1024)) /dev/zero >"$disk/filler"

# --- syslog: a listener on a private /dev/log (/dev rebuilt from bind mounts)
mkdir -p "$w/dev"
devs=()
for n in null zero full random urandom tty; do
    [ -e "/dev/$n" ] || continue
    touch "$w/dev/$n" && mount --bind "/dev/$n" "$w/dev/$n" && devs+=("$w/dev/$n")
done
# (only this namespace sees them; unmounted before the work dir is removed)
e2e_on_exit 'umount -l ${devs[*]}'
ln -s /proc/self/fd "$w/dev/fd"
ln -s /proc/self/fd/0 "$w/dev/stdin"
ln -s /proc/self/fd/1 "$w/dev/stdout"
ln -s /proc/self/fd/2 "$w/dev/stderr"
mkdir -p "$w/dev/shm"
python3 - "$w/dev/log" "$w/syslog.txt" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
PY
syslogd=$!
e2e_on_exit "stop_pid $syslogd"
for ((i = 0; i < 50; i++)); do [ -S "$w/dev/log" ] && break; sleep 0.1; done
mount --rbind "$w/dev" /dev || { not_ok "private /dev"; e2e_finish; exit 1; }
e2e_on_exit "umount -R -l /dev"
logger -u /dev/log "probe" 2>/dev/null || python3 -c 'import syslog; syslog.syslog("probe")'
wait_file_grep "$w/syslog.txt" probe 5 && ok "syslog listener on the private /dev/log" ||
    not_ok "syslog listener gets nothing"

# --- the milter: PTR lookups fail fast (nothing on 127.0.0.1:9), so every
# session is decided at RCPT (dns_failure = accept) and writes a record.
conf=$w/m.conf
metrics_port=$(free_port)
cat >"$conf" <<TOML
[rules]
files = ["$E2E_RULES/isp"]
[dns]
servers = ["127.0.0.1:9"]
timeout_ms = 200
tries = 1
deadline_ms = 300
[log]
json_file = "$disk/decisions.jsonl"
syslog = false
[milter]
control_socket = "$w/ctl.sock"
[metrics]
listen = "127.0.0.1:$metrics_port"
TOML
DECISIONS=$disk/decisions.jsonl
milter_start "$conf" || { not_ok "milter starts"; e2e_finish; exit 1; }
# The port accepts before the rules are loaded; sessions are served from this line on.
wait_file_grep "$MILTER_OUT" 'listening on' 300 || { not_ok "milter serves"; e2e_finish; exit 1; }
ok "milter started, decision log on a 256 KiB tmpfs"

# check_whole FILE: every line one whole JSON record; prints the count
check_whole() {
    python3 - "$1" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("ends in a partial line: %r" % data[-80:])
n = 0
for i, line in enumerate(data.splitlines(), 1):
    try:
        r = json.loads(line)
        assert isinstance(r, dict) and "session" in r
    except Exception as e:
        sys.exit("line %d is not one whole record (%s): %r" % (i, e, line[:120]))
    n += 1
print(n)
PY
}
status_json() { "$cli" status --socket "$w/ctl.sock" --json; }

# --- 600 sessions; the disk fills up on the way
t0=$(date +%s)
if python3 "$E2E_SOURCE_DIR/tests/lib/milter-client.py" flood --port "$MILTER_PORT" \
    --count "$sessions" --net 10.1.0.0 --concurrency 16 >"$w/flood1.txt" 2>&1; then
    ok "all $sessions sessions answered while the log filled up: $(head -1 "$w/flood1.txt")"
else
    not_ok "sessions failed while the log filled up"; cat "$w/flood1.txt"
fi
# Records are written when a session ends: wait until file + dropped account for all.
dropped=-1
for ((i = 0; i < 100; i++)); do
    status_json >"$w/status1.json" 2>/dev/null &&
        dropped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision_log"]["records_dropped"])' "$w/status1.json")
    [ $((dropped + $(wc -l <"$DECISIONS"))) -ge "$sessions" ] && break
    sleep 0.1
done
# The writer runs behind the sessions: the first failure (and its alarm) may come after
# the flood returned, but not after every drop was counted; +1 for the second it fell in.
t1=$(($(date +%s) + 1))
if lines=$(check_whole "$DECISIONS" 2>"$w/whole1.err"); then
    ok "every line is one whole record ($lines of $sessions written)"
else
    not_ok "torn or glued record: $(cat "$w/whole1.err")"; lines=0
fi
lost=$((sessions - lines))
[ "$lost" -gt 0 ] && ok "the disk filled up: $lost records lost" || not_ok "nothing lost: the disk never filled"
writable=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision_log"]["writable"])' "$w/status1.json")
[ "$dropped" = "$lost" ] && ok "status: records_dropped $dropped == records lost" ||
    not_ok "status says $dropped dropped, $lost lost"
[ "$writable" = False ] && ok "status: the log is not writable" || not_ok "status: writable=$writable while full"
"$cli" status --socket "$w/ctl.sock" >"$w/status1.txt"
expect "status text names the dropped records" "$w/status1.txt" "^decision log: NOT WRITABLE, $lost records dropped$"
python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' \
    "$metrics_port" >"$w/metrics.txt" 2>&1
expect "Prometheus: records dropped" "$w/metrics.txt" "^ip25b_decision_log_records_dropped_total $lost\$"
expect "Prometheus: not writable" "$w/metrics.txt" '^ip25b_decision_log_writable 0$'

expect "stderr: the first failure at once, with the reason" "$MILTER_OUT" \
    "error: cannot write decision log $disk/decisions\\.jsonl: No space left on device; record of session .* dropped"
expect "syslog (log.syslog = false): the same failure" "$w/syslog.txt" \
    "cannot write decision log $disk/decisions\\.jsonl: No space left on device"
first=$(grep -c 'cannot write decision log' "$MILTER_OUT")
[ "$first" -eq 1 ] && ok "the first-failure line is said once" || not_ok "first-failure line $first times"
still=$(grep -c 'still not writable' "$MILTER_OUT")
max_still=$(((t1 - t0) / 10 + 1))
[ "$still" -le "$max_still" ] && ok "rate-limited: $still 'still not writable' lines in $((t1 - t0)) s" ||
    not_ok "$still 'still not writable' lines in $((t1 - t0)) s (at most $max_still)"
sum=$(python3 - "$MILTER_OUT" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
print(1 + sum(int(n) for n in re.findall(r"still not writable \([^)]*\): (\d+) more", text)))
PY
)
[ "$sum" -le "$lost" ] && ok "the lines account for $sum of $lost drops so far (the rest since the last line)" ||
    not_ok "the lines count $sum drops, more than $lost lost"

# --- still full 10 s later: one "still not writable" line, with the count
now=$(date +%s)
[ "$now" -lt $((t1 + 10)) ] && sleep $((t1 + 10 - now))
before=$(grep -c 'still not writable' "$MILTER_OUT")
if python3 "$E2E_SOURCE_DIR/tests/lib/milter-client.py" flood --port "$MILTER_PORT" \
    --count 10 --net 10.3.0.0 --concurrency 1 >"$w/flood3.txt" 2>&1; then
    ok "10 more sessions answered, the disk still full"
else not_ok "sessions failed with the disk still full"; cat "$w/flood3.txt"; fi
for ((i = 0; i < 50; i++)); do
    [ "$(grep -c 'still not writable' "$MILTER_OUT")" -gt "$before" ] && break
    sleep 0.1
done
sleep 0.5 # the other nine records, dropped without a line
[ "$(grep -c 'still not writable' "$MILTER_OUT")" -eq $((before + 1)) ] &&
    ok "after 10 s one 'still not writable' line, the next nine drops silent" ||
    not_ok "$(($(grep -c 'still not writable' "$MILTER_OUT") - before)) 'still not writable' lines for 10 drops"
expect "it counts every drop since the failure" "$MILTER_OUT" \
    "error: decision log .* still not writable \(No space left on device\): [0-9]+ more records dropped, $((lost + 1)) since it failed"
expect "syslog: still not writable" "$w/syslog.txt" "still not writable .* $((lost + 1)) since it failed"
lost=$((lost + 10))

# --- space comes back
rm -f "$disk/filler"
if python3 "$E2E_SOURCE_DIR/tests/lib/milter-client.py" flood --port "$MILTER_PORT" \
    --count 20 --net 10.2.0.0 --concurrency 4 >"$w/flood2.txt" 2>&1; then
    ok "20 sessions after space came back"
else not_ok "sessions after recovery failed"; cat "$w/flood2.txt"; fi
for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$DECISIONS")" -ge $((lines + 20)) ] && break
    sleep 0.1
done
if lines2=$(check_whole "$DECISIONS" 2>"$w/whole2.err"); then
    [ "$lines2" -eq $((lines + 20)) ] && ok "after recovery: 20 more whole records" ||
        not_ok "after recovery: $((lines2 - lines)) new records, want 20"
else not_ok "torn or glued record after recovery: $(cat "$w/whole2.err")"; fi
tail -n 20 "$DECISIONS" | grep -c '"client_ip":"10\.2\.' | grep -qx 20 &&
    ok "the last 20 lines are the new sessions" || not_ok "the new sessions are not the last 20 lines"
expect "stderr: writable again after exactly the records lost" "$MILTER_OUT" \
    "notice: decision log $disk/decisions\\.jsonl writable again after $lost dropped records"
expect "syslog: writable again" "$w/syslog.txt" "writable again after $lost dropped records"
status_json >"$w/status2.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["decision_log"]; assert d["writable"] is True and d["records_dropped"] == int(sys.argv[2]), d' \
    "$w/status2.json" "$lost"; then
    ok "status: writable again, records_dropped still $lost"
else not_ok "status after recovery: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision_log"])' "$w/status2.json")"; fi
pid_alive "$MILTER_PID" && ok "the milter is still running" || not_ok "the milter died"
milter_stop
e2e_finish
