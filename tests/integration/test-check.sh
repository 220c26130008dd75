#!/usr/bin/env bash
# `ip25b check`: the verdict, its evidence and the action, with a given PTR
# (no network) and resolved through a real NSD on loopback (--dns).
set -euo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
shared=${IP25B_SHARED_DIR:-$src/../shared}
ip25b=$build/ip25b
fails=0
pass=0

# expect DESCRIPTION PYTHON-EXPR -- ip25b check ARGS...: the JSON object is `j`.
expect() {
    local what=$1 expr=$2
    shift 3
    local out
    out=$("$ip25b" check --json "$@" 2>&1) || true
    if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ('"$expr"') else 1)' "$out" 2>/dev/null; then
        pass=$((pass + 1))
    else
        echo "FAIL: $what: $expr"
        echo "  got: $out"
        fails=$((fails + 1))
    fi
}

expect "published dynamic name is rejected with its rule" \
    'j["class"]=="dynamic" and j["isp"]=="OCN" and j["rule"]=="ocn-pool" and j["source"]["file"].endswith("rules/isp/jp/ocn.toml") and j["source"]["line"]>0 and j["action"]=="reject" and "port 587" in j["reply"] and j["reply"].startswith("550 5.7.1 118.8.132.157")' \
    -- --ip 118.8.132.157 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp
expect "business exception is accepted" \
    'j["class"]=="none" and j["action"]=="accept" and j["source"]["file"].endswith("jp/softbank.toml")' \
    -- --ip 126.112.255.110 --ptr softbank126112255110.biz.bbtec.net
expect "real MTA is allowlisted" \
    'j["class"]=="allowlisted" and j["action"]=="accept"' \
    -- --ip 209.85.214.67 --ptr mail-pl1-x643.google.com
expect "a cloud provider's generated name is class cloud, accepted" \
    'j["class"]=="cloud" and j["isp"]=="Amazon EC2" and j["action"]=="accept" and j["source"]["file"].endswith("rules/cloud/aws.toml") and "generic" not in j' \
    -- --ip 54.210.12.7 --ptr ec2-54-210-12-7.compute-1.amazonaws.com
expect "an unknown pool name is generic, tempfailed with every piece of evidence" \
    'j["class"]=="generic" and j["action"]=="tempfail" and j["reply"].startswith("450 4.7.1 198.51.100.23") and "port 587" in j["reply"] and "dyn" in j["reply"] and j["generic"]["score"]==120 and sorted((e["token"], e["weight"]) for e in j["generic"]["evidence"])==[("client-address",40),("dsl",30),("dyn",50)] and sum(e["weight"] for e in j["generic"]["evidence"])==j["generic"]["score"]' \
    -- --ip 198.51.100.23 --ptr dsl-198-51-100-23.dyn.example-isp.net
expect "static evidence vetoes the generic tier, and says so" \
    'j["class"]=="none" and j["action"]=="accept" and any(e["veto"] and e["token"]=="static" for e in j["generic"]["evidence"])' \
    -- --ip 198.51.100.23 --ptr static-198-51-100-23.dsl.example-isp.net
expect "a hosting provider's zone vetoes the generic tier" \
    'j["class"]=="none" and any(e["veto"] and e["kind"]=="hosting-domain" for e in j["generic"]["evidence"])' \
    -- --ip 162.241.235.82 --ptr client-162-241-235-82.dsl.unifiedlayer.com
expect "loopback is exempt before any rule, and never classified" \
    'j["class"]=="exempt" and "local range" in j["action_reason"] and j["stage"]=="connect" and j["ptr_status"]=="not-looked-up" and j["rule"] is None' \
    -- --ip 127.0.0.5 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp
expect "an authenticated session passes, as in the milter" \
    'j["class"]=="exempt" and j["action"]=="accept" and j["action_reason"]=="authenticated" and j["stage"]=="mail"' \
    -- --ip 118.8.132.157 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp --auth alice
expect "the submission port is exempt" \
    'j["class"]=="exempt" and j["action"]=="accept" and "587" in j["action_reason"]' \
    -- --ip 118.8.132.157 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp --daemon-port 587
expect "a reply has single spaces between code, status and text" \
    '"  " not in j["reply"] and j["reply"].split(" ")[:2]==["550","5.7.1"]' \
    -- --ip 118.8.132.157 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp
expect "IPv6 client with a static name" \
    'j["ip"]=="2001:db8::25" and j["class"]=="none"' \
    -- --ip 2001:db8::25 --ptr mx1.example.jp
expect "hostile PTR text never reaches the rules" \
    'j["class"]=="unknown-ptr" and "0x20" in j["evidence"]' \
    -- --ip 192.0.2.1 --ptr "evil name.ocn.ne.jp"
expect "a Postfix table gives its result" \
    'j["class"]=="dynamic" and j["result"].startswith("REJECT") and j["source"]["file"].endswith("fqrdns.pcre")' \
    -- --ip 192.0.2.7 --ptr c-192-0-2-7.hsd1.ca.comcast.net --rules "pcre:$shared/data/fqrdns.pcre"

# Through real DNS.
source "$src/tests/lib/dns-server.sh"
work=$(mktemp -d)
trap 'dns_server_stop; rm -rf "$work"' EXIT
port=$(dns_free_port)
dns_server_start "$work" "$port" "$src/tests/data/check/118.in-addr.arpa.zone" \
    "$src/tests/data/check/ocn.ne.jp.zone"
expect "resolved and forward-confirmed" \
    'j["ptr"]=="p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp" and j["fcrdns"]=="pass" and j["class"]=="dynamic" and j["dns_ms"]>=0' \
    -- --ip 118.8.132.157 --dns "127.0.0.1:$port"
expect "unconfirmed dynamic name still counts (default)" \
    'j["fcrdns"]=="fail" and j["class"]=="dynamic" and "not forward-confirmed" in j["evidence"]' \
    -- --ip 118.8.132.158 --dns "127.0.0.1:$port"
expect "no PTR is unknown-ptr, accepted by default" \
    'j["ptr_status"]=="no-ptr" and j["class"]=="unknown-ptr" and j["action"]=="accept"' \
    -- --ip 118.8.132.159 --dns "127.0.0.1:$port"
closed=$(dns_closed_port)
expect "DNS down is a temporary failure, never a reject" \
    'j["ptr_status"]=="tempfail" and j["action"]=="accept" and "dns failure" in j["action_reason"]' \
    -- --ip 118.8.132.157 --dns "127.0.0.1:$closed"

# The operator's own ranges are decided by address, without DNS (the server
# named here is closed: a lookup would show as a DNS failure); a dry run
# enforces nothing and says what it would have done.
sed -e 's|^self_ranges = \[\]|self_ranges = ["118.8.132.0/24"]|' -e 's|^dry_run = false|dry_run = true|' \
    -e "s|{rules}|$src/rules|g" "$src/contrib/ip25b.conf" >"$work/own.conf"
grep -q '^self_ranges = \["118' "$work/own.conf" && grep -q '^dry_run = true' "$work/own.conf" ||
    { echo "FAIL: could not derive own.conf from contrib/ip25b.conf"; fails=$((fails + 1)); }
expect "own dynamic range: self-dynamic, no lookup; dry run: accept, would reject" \
    'j["class"]=="self-dynamic" and j["ptr_status"]=="not-looked-up" and "dns_ms" not in j and j["action"]=="accept" and j["would"]=="reject" and j["dry_run"] and j["reply"].startswith("550 5.7.1 118.8.132.157")' \
    -- -c "$work/own.conf" --ip 118.8.132.157 --dns "127.0.0.1:$closed"

# `ip25b match` answers from the project's rule files too, first match across sources.
got=$(printf '%s\n' p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp softbank126112255110.biz.bbtec.net \
    mail-pl1-x643.google.com mx.example.jp |
    "$ip25b" match -t "$src/rules/allowlist" -t "$src/rules/isp" || true)
want=$(printf '%s\t%s\n' p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp "dynamic ocn-pool OCN" \
    softbank126112255110.biz.bbtec.net "exception softbank-biz SoftBank BB" \
    mail-pl1-x643.google.com "allow google Google (Gmail, Google Workspace)")
if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
    echo "FAIL: match with rule files"; diff <(echo "$want") <(echo "$got"); fails=$((fails + 1))
fi

# --batch: one JSON line per "IP [PTR]" line, identical to the single check of
# the same client (the same verdict path), and a bad line reported as
# FILE:LINE without losing the lines after it.
cat >"$work/batch.txt" <<'BATCH'
# comment lines and blank lines are skipped

118.8.132.157 p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp
126.112.255.110 softbank126112255110.biz.bbtec.net
127.0.0.5 p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp
2001:db8::25 mx1.example.jp
BATCH
: >"$work/batch.want"
while read -r bip bptr; do
    case "$bip" in '#'* | '') continue ;; esac
    "$ip25b" check --json --ip "$bip" --ptr "$bptr" >>"$work/batch.want"
done <"$work/batch.txt"
if "$ip25b" check --batch "$work/batch.txt" >"$work/batch.got" 2>"$work/batch.err" &&
    diff "$work/batch.want" "$work/batch.got" >/dev/null && [ ! -s "$work/batch.err" ] &&
    [ "$(wc -l <"$work/batch.got")" -eq 4 ]; then pass=$((pass + 1)); else
    echo "FAIL: --batch differs from single checks"; diff "$work/batch.want" "$work/batch.got"
    cat "$work/batch.err"; fails=$((fails + 1))
fi
if "$ip25b" check --batch - <"$work/batch.txt" | cmp -s - "$work/batch.want"; then pass=$((pass + 1)); else
    echo "FAIL: --batch - (stdin) differs from single checks"; fails=$((fails + 1))
fi
printf '118.8.132.157 p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp\nbogus x.example\n192.0.2.9 a b\n2001:db8::25 mx1.example.jp\n' >"$work/bad.txt"
rc=0
"$ip25b" check --batch "$work/bad.txt" >"$work/bad.got" 2>"$work/bad.err" || rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$work/bad.got")" -eq 4 ] &&
    grep -q "bad.txt:2: not an IP address: bogus" "$work/bad.err" &&
    grep -q "bad.txt:3: expected" "$work/bad.err" &&
    sed -n 2p "$work/bad.got" | grep -q '"line":2' &&
    sed -n 4p "$work/bad.got" | grep -q '"ptr":"mx1.example.jp"'; then pass=$((pass + 1)); else
    echo "FAIL: --batch bad lines (rc=$rc)"; cat "$work/bad.got" "$work/bad.err"; fails=$((fails + 1))
fi
if "$ip25b" check --batch "$work/batch.txt" --ip 192.0.2.1 >/dev/null 2>&1 ||
    "$ip25b" check >/dev/null 2>&1; then
    echo "FAIL: --batch with --ip, or neither, accepted"; fails=$((fails + 1))
else pass=$((pass + 1)); fi

# Bad invocations name the problem.
if "$ip25b" check --ip not-an-ip --ptr x.jp >/dev/null 2>"$work/err"; then
    echo "FAIL: bad --ip accepted"; fails=$((fails + 1))
elif ! grep -q "not an IP address" "$work/err"; then
    echo "FAIL: bad --ip message: $(cat "$work/err")"; fails=$((fails + 1))
else pass=$((pass + 1)); fi

# The human output lists the generic evidence with weights and the total.
out=$("$ip25b" check --ip 198.51.100.23 --ptr dsl-198-51-100-23.dyn.example-isp.net)
if grep -q '^class:    generic$' <<<"$out" && grep -Eq '^ +\+50  dyn +allocation +at 18\.\.21$' <<<"$out" &&
    grep -Eq '^ +120  total$' <<<"$out" && grep -q '^action:   tempfail (class generic) at rcpt$' <<<"$out"; then
    pass=$((pass + 1))
else
    echo "FAIL: human generic output: $out"; fails=$((fails + 1))
fi

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
