#!/usr/bin/env bash
# The DNS test harness itself (tests/lib/dns-server.sh, dns-fake-server.py): NSD starts on
# loopback, serves the test zones over UDP and TCP on 127.0.0.1 and ::1, answers SERVFAIL and
# REFUSED where a real server does, the scripted server misbehaves as documented, and both
# stop by pid leaving nothing behind.
set -uo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tests/lib/dns-server.sh"
work=$(mktemp -d)
trap 'dns_server_stop; dns_fake_stop; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v dig >/dev/null || fail "dig missing (Debian package bind9-dnsutils)"

port=$(dns_free_port) || fail "no free port"
z=$src/tests/data/resolver
dns_server_start "$work" "$port" "$z/example.test.zone" "$z/192.0.2.rev.zone" servfail:servfail.test ||
    fail "nsd did not start"
kill -0 "$DNS_SERVER_PID" || fail "no pid"
q() { dig +time=2 +tries=1 +norec "$@" -p "$port"; }
addrs=(127.0.0.1)
[ "$DNS_SERVER_HAS_V6" = 1 ] && addrs+=(::1)
for a in "${addrs[@]}"; do
    [ "$(q @"$a" +short mail.example.test A)" = 192.0.2.10 ] || fail "A over UDP from $a"
    [ "$(q @"$a" +short +tcp 10.2.0.192.in-addr.arpa PTR)" = mail.example.test. ] || fail "PTR over TCP from $a"
done
q @127.0.0.1 x.servfail.test A | grep -q 'status: SERVFAIL' || fail "servfail zone"
q @127.0.0.1 www.not-served.test A | grep -q 'status: REFUSED' || fail "refused"
q @127.0.0.1 16.2.0.192.in-addr.arpa PTR | grep -q 'status: NXDOMAIN' || fail "nxdomain"
q @127.0.0.1 +ignore 20.2.0.192.in-addr.arpa PTR +noedns | grep -q 'flags:.* tc' || fail "big answer not truncated over UDP"
[ "$(q @127.0.0.1 +short +noedns 20.2.0.192.in-addr.arpa PTR | wc -l)" = 20 ] || fail "TCP fallback answer"

closed=$(dns_closed_port)
dig +time=1 +tries=1 @127.0.0.1 -p "$closed" mail.example.test >/dev/null 2>&1 && fail "closed port answered"

fport=$(dns_free_port)
dns_fake_start "$work" "$fport" || fail "fake server did not start"
dig +time=1 +tries=1 @127.0.0.1 -p "$fport" 13.100.51.198.in-addr.arpa PTR | grep -q 'status: SERVFAIL' ||
    fail "fake scripted answer"
dig +time=1 +tries=1 @127.0.0.1 -p "$fport" 99.100.51.198.in-addr.arpa PTR >/dev/null 2>&1 &&
    fail "fake silent name answered"
dig +time=1 +tries=1 +tcp @127.0.0.1 -p "$fport" 99.100.51.198.in-addr.arpa PTR >/dev/null 2>&1 &&
    fail "fake silent name answered over TCP"

pid=$DNS_SERVER_PID dir=$DNS_SERVER_DIR fpid=$DNS_FAKE_PID
dns_server_stop
dns_fake_stop
kill -0 "$pid" 2>/dev/null && fail "nsd still running"
kill -0 "$fpid" 2>/dev/null && fail "fake server still running"
[ -e "$dir" ] && fail "$dir left behind"
echo "dns harness OK"
