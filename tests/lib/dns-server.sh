# tests/lib/dns-server.sh — a real authoritative DNS server (NSD) on loopback for tests.
#
# Usage (bash; source it, then call the functions):
#   source "$IP25B_SOURCE_DIR/tests/lib/dns-server.sh"
#   port=$(dns_free_port)                       # a UDP+TCP port free on 127.0.0.1 and ::1
#   dns_server_start "$workdir" "$port" zones/a.zone zones/b.zone servfail:broken.test
#   ...  resolve against 127.0.0.1:$port and [::1]:$port (UDP and TCP) ...
#   dns_server_stop                             # kills it by pid, removes its files
#
# dns_server_start WORKDIR PORT ZONE...
#   Each ZONE is an RFC 1035 master file whose zone name is its `$ORIGIN` line, or
#   `servfail:NAME`: a zone NSD is configured for but has no data, so it answers
#   SERVFAIL for every name under NAME (real server behaviour, not scripted).
#   Names outside every zone are answered REFUSED (NSD's default).
#   Listens on 127.0.0.1:PORT and, when the host has ::1, on [::1]:PORT; nowhere else.
#   Runs as the invoking user (root in CI is fine: NSD is told not to switch user or chroot).
#   Writes its config, log and state under WORKDIR/nsd (created; WORKDIR must exist).
#   Sets DNS_SERVER_PID, DNS_SERVER_PORT, DNS_SERVER_DIR, DNS_SERVER_HAS_V6 (1/0).
#   Returns 0 once it answers on every address (bounded: 15 s), else prints its log and
#   returns 1. One server per shell; call dns_server_stop before starting another.
# dns_server_stop
#   Kills the server by pid (TERM, then KILL after 5 s), waits for it, removes WORKDIR/nsd.
#   Safe to call twice and from an EXIT trap.
# dns_free_port
#   Prints a port that was free for UDP and TCP on 127.0.0.1 (and ::1 when present).
# dns_closed_port
#   Same, for a "server not running" case: nothing listens there, so UDP queries get
#   ICMP port unreachable (connection refused) and TCP connects are refused.
#
#
# For broken answers no real server produces (silence, garbage, truncation, bad labels):
# dns_fake_start WORKDIR PORT
#   Starts tests/lib/dns-fake-server.py on 127.0.0.1:PORT (and [::1]:PORT), UDP+TCP; what it
#   answers depends on the first label of the query name (table at the top of that file;
#   unknown names are never answered). Sets DNS_FAKE_PID; returns once it is listening.
# dns_fake_stop
#   Kills it by pid.

DNS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dns_have_v6() {
    grep -qE '^0{31}1 [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ +lo$' /proc/net/if_inet6 2>/dev/null
}

dns_free_port() {
    python3 - <<'PY'
import socket
def have_v6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0)); s.close(); return True
    except OSError:
        return False
v6 = have_v6()
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    socks = [t]
    try:
        for fam, addr in [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if v6 else []):
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                if fam == socket.AF_INET and typ == socket.SOCK_STREAM:
                    continue
                s = socket.socket(fam, typ); socks.append(s); s.bind((addr, port))
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(port)
    break
else:
    raise SystemExit("dns_free_port: no free port found")
PY
}

dns_closed_port() { dns_free_port; }

dns_server_start() {
    local workdir=$1 port=$2
    shift 2
    if [ -n "${DNS_SERVER_PID:-}" ]; then
        echo "dns_server_start: a server is already running (pid $DNS_SERVER_PID)" >&2
        return 1
    fi
    if ! command -v nsd >/dev/null && [ ! -x /usr/sbin/nsd ]; then
        echo "dns_server_start: nsd is not installed (Debian package nsd)" >&2
        return 1
    fi
    local nsd_bin
    nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)
    local dig_bin
    dig_bin=$(command -v dig || true)
    DNS_SERVER_DIR="$workdir/nsd"
    DNS_SERVER_PORT=$port
    DNS_SERVER_HAS_V6=0
    dns_have_v6 && DNS_SERVER_HAS_V6=1
    rm -rf "$DNS_SERVER_DIR"
    mkdir -p "$DNS_SERVER_DIR" || return 1
    local conf="$DNS_SERVER_DIR/nsd.conf"
    {
        echo "server:"
        echo "  ip-address: 127.0.0.1@$port"
        [ "$DNS_SERVER_HAS_V6" = 1 ] && echo "  ip-address: ::1@$port"
        echo "  port: $port"
        echo "  username: \"\""
        echo "  chroot: \"\""
        echo "  zonesdir: \"$DNS_SERVER_DIR\""
        echo "  database: \"\""
        echo "  zonelistfile: \"$DNS_SERVER_DIR/zone.list\""
        echo "  pidfile: \"$DNS_SERVER_DIR/nsd.pid\""
        echo "  xfrdfile: \"$DNS_SERVER_DIR/xfrd.state\""
        echo "  xfrdir: \"$DNS_SERVER_DIR\""
        echo "  logfile: \"$DNS_SERVER_DIR/nsd.log\""
        echo "  server-count: 1"
        echo "  tcp-count: 200"
        echo "  verbosity: 1"
        echo "  hide-version: yes"
        echo "remote-control:"
        echo "  control-enable: no"
    } >"$conf"
    local z name probe=""
    for z in "$@"; do
        case "$z" in
        servfail:*)
            name=${z#servfail:}
            printf 'zone:\n  name: "%s"\n  zonefile: "%s/absent-%s.zone"\n' \
                "$name" "$DNS_SERVER_DIR" "$name" >>"$conf"
            ;;
        *)
            if [ ! -r "$z" ]; then
                echo "dns_server_start: $z: cannot read zone file" >&2
                return 1
            fi
            name=$(sed -nE 's/^\$ORIGIN[[:space:]]+([^[:space:];]+).*/\1/p' "$z" | head -n1)
            if [ -z "$name" ]; then
                echo "dns_server_start: $z:1: no \$ORIGIN line names the zone" >&2
                return 1
            fi
            [ -n "$probe" ] || probe=$name
            printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' \
                "$name" "$(cd "$(dirname "$z")" && pwd)/$(basename "$z")" >>"$conf"
            ;;
        esac
    done
    [ -n "$probe" ] || probe=${name:-.}
    "$nsd_bin" -d -c "$conf" >"$DNS_SERVER_DIR/stdout.log" 2>&1 &
    DNS_SERVER_PID=$!
    # Ready when every listening address answers (any RCODE) over UDP and TCP.
    local addrs=(127.0.0.1) a ok end=$((SECONDS + 15))
    [ "$DNS_SERVER_HAS_V6" = 1 ] && addrs+=(::1)
    while [ "$SECONDS" -lt "$end" ]; do
        if ! kill -0 "$DNS_SERVER_PID" 2>/dev/null; then
            echo "dns_server_start: nsd exited during start-up" >&2
            cat "$DNS_SERVER_DIR/nsd.log" "$DNS_SERVER_DIR/stdout.log" >&2 2>/dev/null
            DNS_SERVER_PID=
            return 1
        fi
        ok=1
        for a in "${addrs[@]}"; do
            if [ -n "$dig_bin" ]; then
                "$dig_bin" +time=1 +tries=1 +norec @"$a" -p "$port" "$probe" SOA >/dev/null 2>&1 || ok=0
                "$dig_bin" +time=1 +tries=1 +norec +tcp @"$a" -p "$port" "$probe" SOA >/dev/null 2>&1 || ok=0
            else
                python3 "$DNS_LIB_DIR/dns-fake-server.py" probe "$a" "$port" "$probe" || ok=0
            fi
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    echo "dns_server_start: nsd did not answer on port $port within 15 s" >&2
    cat "$DNS_SERVER_DIR/nsd.log" >&2 2>/dev/null
    dns_server_stop
    return 1
}

dns_server_stop() {
    if [ -n "${DNS_SERVER_PID:-}" ]; then
        kill -TERM "$DNS_SERVER_PID" 2>/dev/null
        local i
        for i in $(seq 50); do
            kill -0 "$DNS_SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DNS_SERVER_PID" 2>/dev/null || true
        wait "$DNS_SERVER_PID" 2>/dev/null || true
        DNS_SERVER_PID=
    fi
    if [ -n "${DNS_SERVER_DIR:-}" ] && [ -d "$DNS_SERVER_DIR" ]; then
        rm -rf "$DNS_SERVER_DIR"
    fi
    DNS_SERVER_DIR=
    return 0
}

dns_fake_start() {
    local workdir=$1 port=$2 end=$((SECONDS + 10))
    if [ -n "${DNS_FAKE_PID:-}" ]; then
        echo "dns_fake_start: already running (pid $DNS_FAKE_PID)" >&2
        return 1
    fi
    rm -f "$workdir/fake-dns.ready"
    python3 "$DNS_LIB_DIR/dns-fake-server.py" serve "$port" --ready-file "$workdir/fake-dns.ready" \
        >"$workdir/fake-dns.log" 2>&1 &
    DNS_FAKE_PID=$!
    while [ "$SECONDS" -lt "$end" ]; do
        [ -e "$workdir/fake-dns.ready" ] && return 0
        if ! kill -0 "$DNS_FAKE_PID" 2>/dev/null; then
            cat "$workdir/fake-dns.log" >&2
            DNS_FAKE_PID=
            return 1
        fi
        sleep 0.05
    done
    echo "dns_fake_start: not listening on port $port within 10 s" >&2
    dns_fake_stop
    return 1
}

dns_fake_stop() {
    if [ -n "${DNS_FAKE_PID:-}" ]; then
        kill -TERM "$DNS_FAKE_PID" 2>/dev/null
        wait "$DNS_FAKE_PID" 2>/dev/null
        DNS_FAKE_PID=
    fi
    return 0
}
