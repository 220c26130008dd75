#!/usr/bin/env bash
# Stop signals reach ip25b-milter whatever it is doing (issue 10, items 1 and 6):
#   - `ip25b-milter -n` on a big rule set dies on SIGTERM and on SIGINT;
#   - SIGTERM during the start's loads (the foreground check, then the first
#     working set after the socket is open) stops at once, exit 0, pid file
#     and socket removed;
#   - without -f, SIGTERM to the parent waiting for the daemon's start is
#     passed on: both end;
#   - SIGUSR1 during the first load is followed by one reload;
#   - SIGTERM during a SIGUSR1 reload abandons it and stops at once;
#   - with a session held open, SIGTERM drains (the milter waits for it, and
#     stops when it ends); a second SIGTERM stops at once.
# "At once" is under $limit s; the big rule set is sized so that one load
# takes at least twice that (measured with -n first), so a daemon that waits
# for the load cannot pass.
. "$(dirname "$0")/../lib/e2e.sh"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"
command -v python3 >/dev/null || e2e_skip "python3 missing"
milter=$E2E_BUILD_DIR/ip25b-milter
client=$E2E_SOURCE_DIR/tests/lib/milter-client.py
w=$E2E_WORK
limit=3          # seconds: "at once", with room for a loaded machine
min_load=$((2 * limit))

# conf FILE TABLE [milter keys...]: a config loading one pcre: table.
conf() {
    local file=$1 table=$2
    shift 2
    cat >"$file" <<TOML
[rules]
files = ["pcre:$table"]
[dns]
servers = ["127.0.0.1:9"]
timeout_ms = 200
tries = 1
deadline_ms = 300
[log]
syslog = false
[milter]
$(printf '%s\n' "$@")
TOML
}

now_ms() { date +%s%3N; }
# gone_within PID SECONDS: waits for PID to end; sets RC (its exit status)
# and TOOK (ms from the call). Fails (and leaves PID running) past SECONDS.
gone_within() {
    local pid=$1 secs=$2 t0
    t0=$(now_ms)
    while [ $(($(now_ms) - t0)) -le $((secs * 1000)) ]; do
        if ! pid_alive "$pid"; then
            TOOK=$(($(now_ms) - t0))
            wait "$pid"
            RC=$?
            return 0
        fi
        sleep 0.05
    done
    TOOK=$(($(now_ms) - t0))
    return 1
}
PIDS=()
e2e_on_exit 'for p in "${PIDS[@]}"; do stop_pid "$p" 2; done'

printf '/^dyn-[0-9]+\\.example\\.net$/ REJECT dynamic pool\n' >"$w/small.pcre"

# The big set: unindexable rules (each goes to the prefilter scan), as many
# as make one -n load take at least $min_load s here.
n=${IP25B_SIGNAL_TEST_RULES:-40000}
load_secs=0
for attempt in 1 2 3 4; do # load time grows slower than the count: scale again
    python3 "$E2E_SOURCE_DIR/bench/gen-load-rules.py" --shape unindexable --rules "$n" --table "$w/big.pcre"
    conf "$w/big.conf" "$w/big.pcre"
    t0=$(now_ms)
    "$milter" -n -c "$w/big.conf" >"$w/n.out" 2>&1 || { not_ok "-n on the big set"; cat "$w/n.out"; e2e_finish; exit 1; }
    load_ms=$(($(now_ms) - t0))
    echo "# $n rules: -n takes $load_ms ms"
    [ "$load_ms" -ge $((min_load * 1000)) ] && break
    n=$((n * (min_load * 1000 + 2000) / (load_ms + 1)))
done
if [ "$load_ms" -ge $((min_load * 1000)) ]; then ok "a load of the big set takes $load_ms ms (>= $min_load s)"; else
    not_ok "the big set loads in $load_ms ms, too fast to tell a stop during a load"; e2e_finish; exit 1
fi

# --- -n dies on SIGTERM and SIGINT. A background job of a script starts
# with SIGINT ignored; give the check the default action an operator's
# terminal would.
for sig in TERM INT; do
    python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$milter" -n -c "$w/big.conf" >"$w/n.$sig.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # until python has reset SIGINT and exec'd the check (slow on a busy machine)
    for ((i = 0; i < 200; i++)); do
        [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */ip25b-milter ]] && break
        sleep 0.05
    done
    sleep 0.5
    kill -"$sig" "$pid"
    if gone_within "$pid" "$limit"; then
        want=$((128 + $(kill -l "$sig")))
        [ "$RC" -eq "$want" ] && ok "-n dies on SIG$sig during the load (${TOOK} ms, status $RC)" ||
            not_ok "-n ended with status $RC after SIG$sig, want $want (killed)"
    else
        not_ok "-n still runs ${limit} s after SIG$sig"
    fi
done

# --- SIGTERM during the foreground check (before the pid file and socket).
start_big() { # start_big TAG: foreground milter on a unix socket; sets PID
    "$milter" -f -c "$w/big.conf" -p "unix:$w/$1.sock" -P "$w/$1.pid" >"$w/$1.out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
}
start_big a1
sleep 1
kill -TERM "$PID"
if gone_within "$PID" "$limit"; then
    [ "$RC" -eq 0 ] && ok "SIGTERM during the start's check: exit 0 after ${TOOK} ms" ||
        not_ok "SIGTERM during the start's check: status $RC"
else not_ok "SIGTERM during the start's check: still running after $limit s"; fi
[ ! -e "$w/a1.pid" ] && [ ! -e "$w/a1.sock" ] && ok "no pid file or socket left" ||
    not_ok "left $(ls "$w"/a1.pid "$w"/a1.sock* 2>/dev/null | tr '\n' ' ')"

# --- SIGTERM during the first load: the socket and pid file exist, the
# working set is being built.
start_big a2
for ((i = 0; i < 50 * (2 * load_ms / 1000 + 30); i++)); do
    [ -S "$w/a2.sock" ] && break
    pid_alive "$PID" || break
    sleep 0.02
done
if [ -S "$w/a2.sock" ] && [ -s "$w/a2.pid" ] && ! grep -q 'listening on' "$w/a2.out"; then
    sleep 0.5
    kill -TERM "$PID"
    if gone_within "$PID" "$limit"; then
        [ "$RC" -eq 0 ] && ok "SIGTERM during the first load: exit 0 after ${TOOK} ms" ||
            not_ok "SIGTERM during the first load: status $RC"
    else not_ok "SIGTERM during the first load: still running after $limit s"; fi
    expect_not "it never started listening" "$w/a2.out" 'listening on'
    for f in a2.sock a2.sock.ctl a2.pid; do
        [ ! -e "$w/$f" ] && ok "first load stopped: $f removed" || not_ok "first load stopped: $f left behind"
    done
else
    not_ok "no moment with socket and pid file but no working set"; tail -5 "$w/a2.out"
fi

# --- the same with -u: the root supervisor forwards SIGTERM, the milter
# (now "nobody", who cannot unlink in root's directory) leaves at once, and
# the supervisor removes the files.
if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$w/run"
    chmod 755 "$w/run"
    "$milter" -f -c "$w/big.conf" -p "unix:$w/run/u.sock" -P "$w/run/u.pid" -u nobody >"$w/u.out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for ((i = 0; i < 50 * (2 * load_ms / 1000 + 30); i++)); do
        [ -S "$w/run/u.sock" ] && break
        pid_alive "$PID" || break
        sleep 0.02
    done
    if [ -S "$w/run/u.sock" ] && ! grep -q 'listening on' "$w/u.out"; then
        sleep 0.5
        kill -TERM "$PID"
        if gone_within "$PID" "$limit"; then
            [ "$RC" -eq 0 ] && ok "-u: SIGTERM during the first load: exit 0 after ${TOOK} ms" ||
                not_ok "-u: SIGTERM during the first load: status $RC"
        else not_ok "-u: SIGTERM during the first load: still running after $limit s"; fi
        for f in u.sock u.sock.ctl u.pid; do
            [ ! -e "$w/run/$f" ] && ok "-u: $f removed by the supervisor" || not_ok "-u: $f left behind"
        done
    else
        not_ok "-u: no moment with the socket open but no working set"; tail -5 "$w/u.out"
    fi
else
    echo "# not root: the -u case is left out"
fi

# --- without -f: the parent the shell started waits for the daemon's word;
# SIGTERM to it during the daemon's first load is passed on, and both end.
"$milter" -c "$w/big.conf" -p "unix:$w/f.sock" -P "$w/f.pid" >"$w/f.out" 2>&1 &
PID=$!
PIDS+=("$PID")
for ((i = 0; i < 50 * (2 * load_ms / 1000 + 30); i++)); do
    [ -s "$w/f.pid" ] && break
    pid_alive "$PID" || break
    sleep 0.02
done
daemon=$(cat "$w/f.pid" 2>/dev/null)
if [ -n "$daemon" ] && pid_alive "$PID"; then
    PIDS+=("$daemon")
    sleep 0.5
    kill -TERM "$PID"
    if gone_within "$PID" "$limit"; then
        [ "$RC" -eq 1 ] && ok "daemonizing parent: SIGTERM ends the start (${TOOK} ms, status 1)" ||
            not_ok "daemonizing parent: status $RC after SIGTERM, want 1"
    else not_ok "daemonizing parent: still running $limit s after SIGTERM"; fi
    expect "it says why" "$w/f.out" 'start-up stopped by Terminated'
    for ((i = 0; i < 20 * limit; i++)); do pid_alive "$daemon" || break; sleep 0.05; done
    pid_alive "$daemon" && not_ok "the daemon ($daemon) still runs" || ok "the daemon got the SIGTERM and is gone"
    for f in f.sock f.sock.ctl f.pid; do
        [ ! -e "$w/$f" ] && ok "daemonized start stopped: $f removed" || not_ok "daemonized start stopped: $f left behind"
    done
else
    not_ok "daemonizing parent: no moment with the daemon's pid file written and the start not done"
    cat "$w/f.out"
fi

# --- SIGUSR1 during the first load is not lost: one reload follows it (here
# of a small set the config was switched to meanwhile).
cp "$w/big.conf" "$w/e.conf"
"$milter" -f -c "$w/e.conf" -p "unix:$w/e.sock" -P "$w/e.pid" >"$w/e.out" 2>&1 &
PID=$!
PIDS+=("$PID")
for ((i = 0; i < 50 * (2 * load_ms / 1000 + 30); i++)); do
    [ -S "$w/e.sock" ] && break
    pid_alive "$PID" || break
    sleep 0.02
done
if [ -S "$w/e.sock" ] && ! grep -q 'listening on' "$w/e.out"; then
    conf "$w/e.conf" "$w/small.pcre"
    kill -USR1 "$PID"
    if wait_file_grep "$w/e.out" 'reloaded|reload failed' $((load_ms / 1000 + 30)); then
        expect "SIGUSR1 during the first load: the reload follows it" "$w/e.out" \
            'reloaded: rule set 2: 1 files, 1 rules'
    else not_ok "SIGUSR1 during the first load: no reload followed"; tail -5 "$w/e.out"; fi
    stop_pid "$PID" 10
else
    not_ok "no moment with the socket open but no working set"; tail -5 "$w/e.out"
fi

# --- SIGTERM during a reload: start on the small set, reload the big one.
conf "$w/b.conf" "$w/small.pcre"
"$milter" -f -c "$w/b.conf" -p "unix:$w/b.sock" -P "$w/b.pid" >"$w/b.out" 2>&1 &
PID=$!
PIDS+=("$PID")
if wait_file_grep "$w/b.out" 'listening on' 30; then
    conf "$w/b.conf" "$w/big.pcre"
    kill -USR1 "$PID"
    sleep 1
    if grep -qE 'reloaded|reload failed' "$w/b.out"; then not_ok "the reload ended within 1 s: nothing to interrupt"; fi
    kill -TERM "$PID"
    if gone_within "$PID" "$limit"; then
        [ "$RC" -eq 0 ] && ok "SIGTERM during a reload: exit 0 after ${TOOK} ms" ||
            not_ok "SIGTERM during a reload: status $RC"
    else not_ok "SIGTERM during a reload: still running after $limit s"; fi
    expect "the reload is abandoned" "$w/b.out" 'reload abandoned'
    expect_not "the abandoned set is never swapped in" "$w/b.out" 'reloaded'
    for f in b.sock b.sock.ctl b.pid; do
        [ ! -e "$w/$f" ] && ok "reload stopped: $f removed" || not_ok "reload stopped: $f left behind"
    done
else
    not_ok "start on the small set"; tail -5 "$w/b.out"
fi

# --- drain: a session held open keeps the milter up after SIGTERM; it stops
# when the session ends; a second SIGTERM stops at once.
conf "$w/c.conf" "$w/small.pcre"
start_small() { # start_small TAG: on a free port; sets PID PORT
    PORT=$(free_port)
    "$milter" -f -c "$w/c.conf" -p "inet:$PORT@127.0.0.1" -P "$w/$1.pid" >"$w/$1.out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_file_grep "$w/$1.out" 'listening on' 30
}
hold() { # hold TAG SECONDS: one session held open; sets HOLD
    python3 "$client" hold --port "$PORT" --seconds "$2" >"$w/$1.hold" 2>&1 &
    HOLD=$!
    PIDS+=("$HOLD")
    wait_file_grep "$w/$1.hold" '^held' 10
}

if start_small c1 && hold c1 4; then
    kill -TERM "$PID"
    sleep 1
    pid_alive "$PID" && ok "SIGTERM with a session open: still serving it" || not_ok "SIGTERM with a session open: gone at once"
    expect "the drain started" "$w/c1.out" 'stopping after sessions in flight'
    # the client gives up after 4 s; the milter then has nothing to wait for
    if gone_within "$PID" $((4 + limit)); then
        [ "$RC" -eq 0 ] && ok "stops once the held session ends (${TOOK} ms after the check), exit 0" ||
            not_ok "drain ended with status $RC"
    else not_ok "still running $limit s after the held session ended"; fi
    [ ! -e "$w/c1.pid" ] && ok "drained stop: pid file removed" || not_ok "drained stop: pid file left"
else
    not_ok "start and hold a session"; tail -5 "$w/c1.out" "$w/c1.hold"
fi

if start_small c2 && hold c2 60; then
    kill -TERM "$PID"
    sleep 1
    if pid_alive "$PID"; then
        kill -TERM "$PID"
        if gone_within "$PID" "$limit"; then
            [ "$RC" -eq 0 ] && ok "a second SIGTERM while draining stops at once (${TOOK} ms), exit 0" ||
                not_ok "second SIGTERM: status $RC"
        else not_ok "a second SIGTERM while draining: still running after $limit s"; fi
        expect "it says it cut the session off" "$w/c2.out" 'stopping at once, 1 sessions cut off'
        [ ! -e "$w/c2.pid" ] && ok "stopped at once: pid file removed" || not_ok "stopped at once: pid file left"
        wait_file_grep "$w/c2.hold" 'closed' 5 && ok "the held session was closed" || not_ok "the held session is still open"
    else
        not_ok "the first SIGTERM did not drain: gone at once"
    fi
else
    not_ok "start and hold a session"; tail -5 "$w/c2.out" "$w/c2.hold"
fi

# --- [milter] drain_limit: a session that outlasts it is cut off, and the
# milter leaves (exit 0) that long after one SIGTERM.
conf "$w/c.conf" "$w/small.pcre" "drain_limit = 2"
if start_small c3 && hold c3 60; then
    kill -TERM "$PID"
    sleep 1
    pid_alive "$PID" && ok "drain_limit = 2: still serving the session after 1 s" ||
        not_ok "drain_limit = 2: gone at once"
    if gone_within "$PID" $((2 + limit)); then
        [ "$RC" -eq 0 ] && ok "drain_limit = 2: left after the limit (${TOOK} ms after the check), exit 0" ||
            not_ok "drain_limit: status $RC"
    else not_ok "drain_limit = 2: still running $((3 + limit)) s after SIGTERM"; fi
    expect "it says it cut the session off after the limit" "$w/c3.out" \
        '1 sessions still open after 2 s; stopping anyway'
    wait_file_grep "$w/c3.hold" 'closed' 5 && ok "the held session was closed" || not_ok "the held session is still open"
else
    not_ok "start and hold a session"; tail -5 "$w/c3.out" "$w/c3.hold"
fi

e2e_finish
