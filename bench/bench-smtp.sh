#!/usr/bin/env bash
# SMTP throughput through a real Postfix, and the milter's memory.
#
#   bench/bench-smtp.sh BUILD_DIR
#   (BENCH_PERF=FILE: profile the milter with perf during the first (c) run)
#
# 1. Sessions per second with smtp-source (BENCH_SESSIONS sessions, 2000 by
#    default, BENCH_CONCURRENCY at once, 20 by default, one message each) for
#      (a) Postfix with no check,
#      (b) Postfix's own check_client_access pcre:fqrdns.pcre,
#      (c) Postfix + ip25b-milter with fqrdns.pcre loaded as a pcre: table,
#    in one run, on one private Postfix instance, interleaved over
#    BENCH_ROUNDS rounds (3 by default); the median of each is reported.
#    Postfix resolves the client's name itself (smtpd_peername_lookup = yes,
#    as in production), so the comparison is fair to (b): everything runs in
#    a private network and mount namespace where /etc/resolv.conf points at
#    the bench's own DNS server on 127.0.0.1:53. Nothing leaves loopback.
# 2. Peak RSS of the milter with every shipped rule file loaded after
#    100,000 distinct client addresses went through its PTR cache (driven
#    with milter-protocol connects from tests/lib/milter-client.py; the
#    addresses are only data in those messages and PTR names in the bench's
#    DNS zone, no packet is sent to them).
#
# Targets (issue 4): (c) >= 95% of (b); peak RSS < 64 MB.
set -euo pipefail

build=$(cd "${1:?usage: bench-smtp.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
shared=${IP25B_SHARED_DIR:-$src/../shared}
fqrdns=$shared/data/fqrdns.pcre

if [ -z "${IP25B_BENCH_NS:-}" ]; then
    # Re-run inside a private network + mount namespace (see above).
    exec unshare --net --mount env IP25B_BENCH_NS=1 bash "$0" "$@"
fi

. "$src/tests/lib/net.sh"
. "$src/tests/lib/postfix.sh"
. "$src/tests/lib/dns-server.sh"

sessions=${BENCH_SESSIONS:-2000}
conc=${BENCH_CONCURRENCY:-20}
rounds=${BENCH_ROUNDS:-3}
rss_addrs=${BENCH_RSS_ADDRESSES:-100000}
milter_bin=$build/ip25b-milter

for f in /usr/sbin/postfix /usr/sbin/smtp-source "$fqrdns"; do
    [ -e "$f" ] || { echo "bench-smtp: $f is missing" >&2; exit 1; }
done

ip link set lo up
work=$(mktemp -d /tmp/ip25b-bench-smtp.XXXXXX)
chmod 755 "$work"
milter_pid=
cleanup() {
    set +e # every step must run, whatever the previous one returned
    stop_pid "$milter_pid" 10
    postfix_stop
    dns_server_stop
    rm -rf "$work"
}
trap cleanup EXIT

# The namespace's resolver: only our DNS server, no /etc/hosts shortcut
# for 127.0.0.1 (Postfix would otherwise find "localhost" there).
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$work/resolv.conf"
printf '# empty: names come from the bench DNS server\n' >"$work/hosts"
mount --bind "$work/resolv.conf" /etc/resolv.conf
mount --bind "$work/hosts" /etc/hosts

# The client's name: a static MTA name that no fqrdns.pcre rule matches, so
# (b) and (c) scan the whole table and every session is accepted.
client_name=mx1.static-corp.example.co.jp
mkdir -p "$work/zones"
zone_head() {
    printf '$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns.bench.test. h.bench.test. 1 3600 600 86400 3600\n  IN NS ns.bench.test.\n' "$1"
}
{
    zone_head 127.in-addr.arpa
    echo "1.0.0 IN PTR $client_name."
} >"$work/zones/127.zone"
{
    zone_head example.co.jp
    echo "mx1.static-corp IN A 127.0.0.1"
} >"$work/zones/example.zone"
# RSS corpus: 100,000 addresses in 10.0.0.0/8 with OCN-shaped dynamic
# PTRs (confirmed by A records), the shape of a real dynamic pool.
python3 - "$work/zones" "$rss_addrs" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/10.zone", "w") as ptr, open(f"{d}/ocn.zone", "w") as fwd:
    for f, z in ((ptr, "10.in-addr.arpa"), (fwd, "ocn.ne.jp")):
        f.write(f"$ORIGIN {z}.\n$TTL 3600\n@ IN SOA ns.bench.test. h.bench.test. 1 3600 600 86400 3600\n  IN NS ns.bench.test.\n")
    for i in range(n):
        a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
        name = f"p{i}-ipbf{a}{b}marunouchi.tokyo"
        ptr.write(f"{c}.{b}.{a} IN PTR {name}.ocn.ne.jp.\n")
        fwd.write(f"{name} IN A 10.{a}.{b}.{c}\n")
PY
dns_server_start "$work" 53 "$work/zones/127.zone" "$work/zones/example.zone" \
    "$work/zones/10.zone" "$work/zones/ocn.zone" >/dev/null

port=$(free_port)
milter_port=$(free_port)
postfix_start "$work" "$port" "" \
    "smtpd_peername_lookup = yes" \
    "disable_dns_lookups = no" \
    "milter_default_action = tempfail" \
    "default_process_limit = 200"
if ! /usr/sbin/postmap -c "$POSTFIX_DIR" -q "$client_name" "pcre:$fqrdns" >/dev/null 2>&1; then
    :
else
    echo "bench-smtp: $client_name matches fqrdns.pcre; pick another name" >&2
    exit 1
fi

start_milter() { # start_milter CONFIG RULES...
    local conf=$1
    shift
    local args=() r
    for r in "$@"; do args+=(--rules "$r"); done
    "$milter_bin" -f -c "$conf" -p "inet:$milter_port@127.0.0.1" --dns 127.0.0.1:53 "${args[@]}" \
        >"$work/milter.out" 2>&1 &
    milter_pid=$!
    wait_port 127.0.0.1 "$milter_port" 20 || {
        cat "$work/milter.out" >&2
        return 1
    }
}

cat >"$work/milter.conf" <<EOF
[rules]
files = []
[policy]
local_ranges = []
[log]
syslog = false
json_file = ""
EOF

have_milter=0
if [ -x "$milter_bin" ]; then
    start_milter "$work/milter.conf" "pcre:$fqrdns" && have_milter=1
else
    echo "bench-smtp: $milter_bin not built: (c) is skipped" >&2
fi

configure() { # configure a|b|c
    case $1 in
    a) postfix_set "smtpd_client_restrictions =" "smtpd_milters =" ;;
    b) postfix_set "smtpd_client_restrictions = check_client_access pcre:$fqrdns" "smtpd_milters =" ;;
    c) postfix_set "smtpd_client_restrictions =" "smtpd_milters = inet:127.0.0.1:$milter_port" ;;
    esac
    sleep 1 # old smtpd processes finish after a reload
    smtp-source -s 5 -m 50 -f bench@example.net -t rcpt@bench.test "127.0.0.1:$port" >/dev/null 2>&1
}

measure() { # measure: print sessions/s of one smtp-source run
    local t0 t1
    t0=$(date +%s.%N)
    timeout 600 smtp-source -s "$conc" -m "$sessions" -f bench@example.net -t rcpt@bench.test \
        "127.0.0.1:$port" >"$work/source.out" 2>&1 || {
        echo "bench-smtp: smtp-source failed:" >&2
        cat "$work/source.out" >&2
        return 1
    }
    t1=$(date +%s.%N)
    python3 -c "print(f'{$sessions / ($t1 - $t0):.0f}')"
}

cpu_ticks() { # user+system clock ticks of a process
    awk '{print $14 + $15}' "/proc/$1/stat"
}
configs="a b"
[ "$have_milter" = 1 ] && configs="a b c"
declare -A runs
milter_ticks=0
for ((r = 1; r <= rounds; r++)); do
    for c in $configs; do
        configure "$c"
        [ "$c" = c ] && t0=$(cpu_ticks "$milter_pid")
        perf_pid=
        if [ "$c" = c ] && [ -n "${BENCH_PERF:-}" ] && [ "$r" = 1 ]; then
            perf record -q -o "$work/perf.data" -p "$milter_pid" >/dev/null 2>&1 &
            perf_pid=$!
        fi
        runs[$c]+="$(measure) "
        if [ -n "$perf_pid" ]; then
            kill -INT "$perf_pid" 2>/dev/null
            wait "$perf_pid" 2>/dev/null || true
            perf report -q -i "$work/perf.data" --sort dso,sym 2>/dev/null | head -n 60 >"$BENCH_PERF" || true
        fi
        [ "$c" = c ] && milter_ticks=$((milter_ticks + $(cpu_ticks "$milter_pid") - t0))
    done
done
# Every session must have been accepted: a reject would make (b) or (c) fast
# for the wrong reason.
rejects=$(grep -cE 'reject|milter-' "$POSTFIX_LOG" || true)
# ... and Postfix must have seen the client's name through DNS, else (b)
# matched the table against "unknown".
named=$(grep -c " connect from $client_name\[127.0.0.1\]" "$POSTFIX_LOG" || true)
if [ "$named" -eq 0 ]; then
    echo "bench-smtp: Postfix never resolved 127.0.0.1 to $client_name:" >&2
    grep 'connect from' "$POSTFIX_LOG" | tail -n 3 >&2
    exit 1
fi

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "bench-smtp: $sessions sessions, $conc concurrent, median of $rounds rounds, client PTR $client_name"
declare -A med
for c in $configs; do
    med[$c]=$(echo "${runs[$c]}" | median)
done
printf '  (a) Postfix, no check:                       %6s sessions/s  (runs: %s)\n' "${med[a]}" "${runs[a]}"
printf '  (b) Postfix check_client_access fqrdns.pcre: %6s sessions/s  (runs: %s)\n' "${med[b]}" "${runs[b]}"
if [ "$have_milter" = 1 ]; then
    printf '  (c) Postfix + ip25b-milter (fqrdns.pcre):    %6s sessions/s  (runs: %s)\n' "${med[c]}" "${runs[c]}"
    python3 -c "r = ${med[c]} / ${med[b]}; print(f'  (c)/(b) = {r * 100:.1f}%  (target >= 95%)')"
    python3 -c "print(f'  milter CPU per session in (c): {$milter_ticks / $(getconf CLK_TCK) / ($sessions * $rounds) * 1e6:.0f} us')"
fi
echo "  sessions whose client Postfix named $client_name: $named; rejected or milter-failed: $rejects"

if [ "$have_milter" = 1 ]; then
    stop_pid "$milter_pid" 10
    milter_pid=
    # All shipped rules: the rules/ tree (allowlist, ISPs) plus fqrdns.pcre.
    rule_args=()
    for r in "$src"/rules/*/; do
        [ -d "$r" ] && rule_args+=("${r%/}")
    done
    rule_args+=("pcre:$fqrdns")
    start_milter "$work/milter.conf" "${rule_args[@]}"
    python3 "$src/tests/lib/milter-client.py" flood --port "$milter_port" \
        --count "$rss_addrs" --net 10.0.0.0 --concurrency 16 >"$work/flood.out" 2>&1 || {
        echo "bench-smtp: driving $rss_addrs addresses through the milter failed:" >&2
        tail -n 20 "$work/flood.out" >&2
        exit 1
    }
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$milter_pid/status")
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$milter_pid/status")
    echo "  milter with all shipped rules, $rss_addrs distinct addresses looked up:"
    tail -n 3 "$work/flood.out" | sed 's/^/    /'
    python3 -c "print(f'    peak RSS (VmHWM) {$hwm / 1024:.1f} MB, RSS now {$rss / 1024:.1f} MB  (target < 64 MB)')"
fi
