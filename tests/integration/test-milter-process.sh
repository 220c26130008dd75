#!/usr/bin/env bash
# Socket and process hygiene of ip25b-milter (issue 8, item 3):
#   - a unix socket gets the configured mode and group; with -u the MTA's
#     group can connect (Postfix's user in that group reaches it);
#   - a live instance on the same socket or pid file makes a second start fail
#     with a clear error; a stale socket and pid file are replaced;
#   - pid file and sockets are gone after every exit (stop, start-up failure
#     after the pid file was created, -u with root-owned directories);
#   - the decision log is opened as the service user and follows a rename +
#     SIGUSR1 rotation;
#   - errors carry errno text (config open, listen);
#   - SIGUSR2 writes the counters and does not stop the milter;
#   - the rules are read after the drop, as the service user; a refused rule
#     set (unreadable, or one lint refuses) reaches the terminal via the parent.
. "$(dirname "$0")/../lib/e2e.sh"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"
[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (privilege drop to nobody)"
command -v python3 >/dev/null || e2e_skip "python3 missing"
milter=$E2E_BUILD_DIR/ip25b-milter
w=$E2E_WORK

# A group the test creates, as packaging would create "ip25b"; removed at exit.
grp=ip25bt$$
groupadd "$grp" || { not_ok "groupadd"; e2e_finish; exit 1; }
e2e_on_exit "groupdel $grp"

conf=$w/m.conf
run=$w/run            # root-owned, like /run: the service user cannot write here
logs=$w/logs          # the service user's log directory
mkdir -p "$run" "$logs"
chmod 755 "$run"
chown nobody "$logs"
cat >"$conf" <<TOML
[rules]
files = ["$E2E_RULES/isp"]
[dns]
servers = ["127.0.0.1:9"]
timeout_ms = 200
tries = 1
deadline_ms = 300
[log]
json_file = "$logs/decisions.jsonl"
syslog = false
[milter]
socket_group = "$grp"
socket_mode = "0660"
TOML

start() { # start OUT [args...]: foreground milter; sets PID
    local out=$1
    shift
    "$milter" -f -c "$conf" "$@" >"$out" 2>&1 &
    PID=$!
    local i
    for ((i = 0; i < 900; i++)); do # every shipped rule, under the sanitizers: seconds
        grep -q "listening on" "$out" && return 0
        pid_alive "$PID" || return 1
        sleep 0.1
    done
    return 1
}
e2e_on_exit 'stop_pid "${PID:-}"'

sock=$run/milter.sock
pidf=$run/milter.pid
if start "$w/a.out" -p "unix:$sock" -P "$pidf" -u nobody; then ok "starts with -u nobody on a unix socket"; else
    not_ok "starts with -u nobody"; cat "$w/a.out"; e2e_finish; exit 1
fi
first=$PID
# mode and group
perm=$(stat -c '%a %G' "$sock")
[ "$perm" = "660 $grp" ] && ok "socket is mode 0660, group $grp" || not_ok "socket is '$perm', want '660 $grp'"
ctl_perm=$(stat -c '%a %G' "$sock.ctl" 2>/dev/null)
[ "$ctl_perm" = "660 $grp" ] && ok "control socket next to it, same mode and group" || not_ok "control socket is '$ctl_perm'"
[ "$(stat -c %U "$logs/decisions.jsonl" 2>/dev/null)" = nobody ] && ok "decision log created by the service user" ||
    not_ok "decision log owner is $(stat -c %U "$logs/decisions.jsonl" 2>/dev/null)"
# a user in the group can connect (as Postfix's user would); one outside cannot
useradd -M -N -g "$grp" -s /usr/sbin/nologin "u$grp" && e2e_on_exit "userdel u$grp"
probe='import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("connected")'
if setpriv --reuid="u$grp" --regid="$grp" --clear-groups /usr/bin/python3 -c "$probe" "$sock" >"$w/probe.out" 2>&1; then
    ok "a member of the socket group can connect"
else not_ok "a member of the socket group cannot connect: $(cat "$w/probe.out")"; fi
if setpriv --reuid=daemon --regid=daemon --clear-groups /usr/bin/python3 -c "$probe" "$sock" >"$w/probe2.out" 2>&1; then
    not_ok "a user outside the group (daemon) could connect"
else expect "a user outside the group (daemon) cannot connect" "$w/probe2.out" 'PermissionError'; fi

# second instance: same pid file, then same socket
PID=
if "$milter" -f -c "$conf" -p "unix:$w/other.sock" -P "$pidf" >"$w/b.out" 2>&1; then
    not_ok "second instance on the same pid file started"
else expect "second instance on the same pid file: clear error" "$w/b.out" "another instance is running \\(pid $first\\)"; fi
if "$milter" -f -c "$conf" -p "unix:$sock" -P "$w/other.pid" >"$w/c.out" 2>&1; then
    not_ok "second instance on the same socket started"
else expect "second instance on the same socket: clear error" "$w/c.out" 'another instance is listening on this socket'; fi
[ "$(cat "$pidf")" = "$first" ] && ok "the first instance's pid file is untouched" || not_ok "pid file now says $(cat "$pidf")"
[ ! -e "$w/other.pid" ] && ok "the refused instance left no pid file" || not_ok "refused instance left $w/other.pid"

# SIGUSR2: counters to the log, still running
kill -USR2 "$first"
if wait_file_grep "$w/a.out" 'counters: sessions' 5 && pid_alive "$first"; then ok "SIGUSR2 logs the counters and the milter keeps running"; else
    not_ok "SIGUSR2"; tail -5 "$w/a.out"; fi

# (rotation by rename + SIGUSR1 is tested through Postfix: test-postfix-ops.sh)
PID=$first
stop_pid "$first" 15
for f in "$sock" "$sock.ctl" "$pidf"; do
    [ ! -e "$f" ] && ok "after stop (with -u): $(basename "$f") removed" || not_ok "after stop (with -u): $f left behind"
done

# stale files from a crash are replaced
start "$w/d.out" -p "unix:$sock" -P "$pidf" -u nobody || { not_ok "restart"; cat "$w/d.out"; }
crashed=$PID
child=$(pgrep -P "$crashed" | head -1) # the milter under the supervisor
kill -KILL "$crashed" "$child"           # a crash: nothing cleans up
{ wait "$crashed"; } 2>/dev/null
sleep 0.3
[ -e "$sock" ] && [ -e "$pidf" ] && ok "a killed instance leaves stale socket and pid file" || not_ok "no stale files to test with"
if start "$w/e.out" -p "unix:$sock" -P "$pidf" -u nobody; then ok "stale socket and pid file are replaced"; else
    not_ok "start over stale files"; cat "$w/e.out"; fi
[ "$(cat "$pidf" 2>/dev/null)" = "$PID" ] && ok "pid file names the new instance" || not_ok "pid file says $(cat "$pidf" 2>/dev/null), want $PID"
stop_pid "$PID" 15
PID=

# failure after the pid file was created: listening fails -> no pid file left
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(300)' >"$w/busy.port" &
busy=$!
e2e_on_exit "stop_pid $busy"
for ((i = 0; i < 50; i++)); do [ -s "$w/busy.port" ] && break; sleep 0.1; done
port=$(cat "$w/busy.port")
if "$milter" -f -c "$conf" -p "inet:$port@127.0.0.1" -P "$pidf" >"$w/f.out" 2>&1; then
    not_ok "listening on a busy port succeeded"
else
    expect "listen failure carries errno text" "$w/f.out" "cannot listen on inet:$port@127\\.0\\.0\\.1: Address already in use"
fi
[ ! -e "$pidf" ] && ok "failed start-up removed its pid file" || not_ok "failed start-up left $pidf"

# -u, and the service user cannot write the decision log's directory: the
# log is opened after the drop, so the start fails (with the reason), and the
# root supervisor still removes the pid file and socket in root's directory.
mkdir -p "$w/rootonly"
chmod 755 "$w/rootonly"
sed "s|^json_file = .*|json_file = \"$w/rootonly/decisions.jsonl\"|" "$conf" >"$w/ro.conf"
if "$milter" -f -c "$w/ro.conf" -p "unix:$sock" -P "$pidf" -u nobody >"$w/h.out" 2>&1; then
    not_ok "start with an unwritable log directory succeeded"
else
    expect "decision log opened as the service user: Permission denied" "$w/h.out" \
        "rootonly/decisions\.jsonl.*cannot open decision log: Permission denied"
fi
[ ! -e "$pidf" ] && [ ! -e "$sock" ] && [ ! -e "$sock.ctl" ] &&
    ok "failed start-up with -u: pid file and sockets removed by the supervisor" ||
    not_ok "failed start-up with -u left: $(ls "$run")"

# The rules are read, linted and compiled once, after the drop, as the
# service user (as a reload reads them): a rule file only root can read
# refuses the start, and the daemon's parent prints why; so does a rule
# `ip25b lint` refuses, with file:line. The supervisor cleans up either way.
private=$w/private.toml
cp "$(find "$E2E_RULES/isp" -name '*.toml' | sort | head -1)" "$private"
chmod 600 "$private"
cp "$E2E_SOURCE_DIR/tests/data/reload/backtracker.toml" "$w/lintbad.toml"
for bad in private lintbad; do
    sed "s|^files = .*|files = [\"$w/$bad.toml\"]|" "$conf" >"$w/$bad.conf"
    if "$milter" -c "$w/$bad.conf" -p "unix:$sock" -P "$pidf" -u nobody >"$w/$bad.out" 2>&1; then
        not_ok "daemon started with $bad.toml"
        stop_pid "$(cat "$pidf" 2>/dev/null)" 15
    elif [ $bad = private ]; then
        expect "rules read as the service user: the parent prints the refusal" "$w/$bad.out" \
            "^ip25b-milter: $private.*Permission denied"
    else
        expect "a rule lint refuses: the daemon's parent prints file:line" "$w/$bad.out" \
            "^ip25b-milter: $w/lintbad\.toml:[0-9]+: lint: "
    fi
    [ ! -e "$pidf" ] && [ ! -e "$sock" ] && ok "refused start ($bad): pid file and socket removed" ||
        not_ok "refused start ($bad) left: $(ls "$run")"
done

# A rule directory the service user cannot enter, at the top or nested (as
# rules/isp/jp/ in rules/isp/): the start is refused and says why; the rules in
# it are never skipped quietly.
mkdir -p "$w/privtop" "$w/privnest/jp"
cp "$private" "$w/privtop/" && chmod 700 "$w/privtop"
cp "$private" "$w/privnest/jp/" && chmod 700 "$w/privnest/jp"
for d in privtop:privtop privnest:privnest/jp; do
    name=${d%%:*} denied=$w/${d#*:}
    sed "s|^files = .*|files = [\"$w/$name\"]|" "$conf" >"$w/$name.conf"
    if "$milter" -c "$w/$name.conf" -p "unix:$sock" -P "$pidf" -u nobody >"$w/$name.out" 2>&1; then
        not_ok "daemon started with a rule directory nobody cannot enter ($name)"
        stop_pid "$(cat "$pidf" 2>/dev/null)" 15
    else
        expect "an unreadable rule directory ($name): the refusal names it and why" "$w/$name.out" \
            "^ip25b-milter: $denied: cannot read directory: Permission denied"
    fi
done

# config open failure carries errno text
chmod 600 "$conf"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$milter" -n -c "$conf" >"$w/g.out" 2>&1; then
    not_ok "unreadable config accepted"
else expect "unreadable config: errno text" "$w/g.out" "cannot open config file: Permission denied"; fi
chmod 644 "$conf"

e2e_finish
