#!/usr/bin/env bash
# test-check-parity.sh — `ip25b check` and the milter give the same answer.
#
# One table of clients, one per class and exemption (published dynamic pool,
# generic, cloud, allowlisted, static, no PTR, unconfirmed, DNS failure, own
# range, local range, authenticated, submission port), run three ways against
# one config and one real NSD on loopback:
#   1. miltertest plays the session against the real ip25b-milter: the answer
#      at the deciding step (pass, or a reply code);
#   2. tests/miltertest/milter-client.py plays it again and shows the reply
#      text on the wire, and the milter's decision record gives class, action
#      and reply;
#   3. `ip25b check -c CONF` with the same facts.
# Class, action and reply must be identical, byte for byte.
. "$(dirname "$0")/../lib/e2e.sh"
src=$E2E_SOURCE_DIR
milter=$E2E_BUILD_DIR/ip25b-milter
ip25b=$E2E_BUILD_DIR/ip25b
scripts=$src/tests/miltertest
data=$src/tests/data/parity
command -v miltertest >/dev/null || e2e_skip "miltertest not installed (package miltertest)"
command -v nsd >/dev/null || [ -x /usr/sbin/nsd ] || e2e_skip "nsd not installed (package nsd)"
[ -x "$milter" ] && [ -x "$ip25b" ] || e2e_skip "$milter or $ip25b not built"
work=$E2E_WORK
# shellcheck source=../lib/dns-server.sh
source "$src/tests/lib/dns-server.sh"
e2e_on_exit dns_server_stop

dns_port=$(dns_free_port)
dns_server_start "$work" "$dns_port" "$data/127.rev.zone" "$data/ocn.ne.jp.zone" \
    "$data/example-isp.net.zone" "$data/amazonaws.com.zone" "$data/google.com.zone" \
    "$data/test.zone" servfail:broken.test || { not_ok "NSD did not start"; e2e_finish; exit 1; }
log=$work/decisions.jsonl
# The shipped rules, as contrib/ip25b.conf loads them; loopback is not exempt
# here except 127.0.3.0/24, so the clients can be 127.x addresses.
cat >"$work/ip25b.conf" <<CONF
[rules]
files = ["$src/rules/allowlist", "$src/rules/isp", "$src/rules/cloud"]
self_ranges = ["127.0.2.0/24"]
generic = true
hosting_domains = ["$src/rules/hosting/domains.txt"]
[dns]
servers = ["127.0.0.1:$dns_port"]
timeout_ms = 500
tries = 1
deadline_ms = 2000
[policy]
local_ranges = ["127.0.3.0/24"]
dns_failure = "tempfail"
[log]
json_file = "$log"
syslog = false
CONF

milter_start "$work/ip25b.conf" || { not_ok "the milter did not start"; e2e_finish; exit 1; }
milter_port=$MILTER_PORT

# name  ip  daemon_port  auth  expected class (a guard that the table means what it says)
cases=$(
    cat <<'TABLE'
dynamic       127.0.1.1  25   -      dynamic
generic       127.0.1.2  25   -      generic
cloud         127.0.1.3  25   -      cloud
allowlisted   127.0.1.4  25   -      allowlisted
static        127.0.1.5  25   -      none
no-ptr        127.0.1.6  25   -      unknown-ptr
unconfirmed   127.0.1.7  25   -      dynamic
dns-failure   127.0.1.8  25   -      unknown-ptr
own-range     127.0.2.9  25   -      self-dynamic
local-range   127.0.3.1  25   -      exempt
authed        127.0.1.1  25   alice  exempt
submission    127.0.1.1  587  -      exempt
TABLE
)

while read -r name ip dport auth want_class; do
    [ -n "$name" ] || continue
    a=${auth/#-/}
    qid="Q-$name"
    # 1. miltertest
    timeout 60 miltertest -D socket="inet:$milter_port@127.0.0.1" -D dir="$scripts" -D ip="$ip" \
        -D port="$dport" -D auth="$a" -D qid="$qid" -s "$scripts/parity.lua" >"$work/$name.mt" 2>&1 ||
        { cat "$work/$name.mt"; not_ok "$name: miltertest"; continue; }
    mt=$(sed -n 's/^.*RESULT //p' "$work/$name.mt")
    # 2. the wire text and the record
    client_args=(--daemon-port "$dport")
    [ -n "$a" ] && client_args+=(--auth "$a")
    python3 "$scripts/milter-client.py" "${client_args[@]}" 127.0.0.1 "$milter_port" "$ip" \
        sender@example.net postmaster@example.org >"$work/$name.wire" 2>&1 ||
        { cat "$work/$name.wire"; not_ok "$name: milter-client"; continue; }
    wire=$(sed -n 's/^rcpt y //p' "$work/$name.wire")
    # 3. ip25b check with the same facts
    check_args=(-c "$work/ip25b.conf" --ip "$ip" --daemon-port "$dport" --helo client.example
        --from sender@example.net --rcpt postmaster@example.org --json)
    [ -n "$a" ] && check_args+=(--auth "$a")
    "$ip25b" check "${check_args[@]}" >"$work/$name.check" 2>&1 ||
        { cat "$work/$name.check"; not_ok "$name: ip25b check"; continue; }
    # The record is written at xxfi_close, a moment after miltertest is gone.
    rec=
    for _ in $(seq 50); do
        rec=$(grep -F "\"queue_id\":\"$qid\"" "$log" 2>/dev/null | head -n1) && [ -n "$rec" ] && break
        sleep 0.1
    done
    verdict=$(python3 - "$work/$name.check" "$rec" "$want_class" "$mt" "$wire" <<'PY'
import json, sys
check = json.load(open(sys.argv[1]))
rec = json.loads(sys.argv[2]) if sys.argv[2] else None
want_class, mt, wire = sys.argv[3:6]
problems = []
if rec is None:
    # An exempt session that passed leaves no record only when it never
    # reached MAIL; every case here does, so a record must be there.
    problems.append("no decision record")
else:
    for k in ("class", "action", "reply"):
        if check.get(k, "") != rec.get(k, ""):
            problems.append(f"{k}: check {check.get(k)!r} != milter record {rec.get(k)!r}")
if check["class"] != want_class:
    problems.append(f"class {check['class']!r}, table says {want_class!r}")
refused = check["action"] in ("reject", "tempfail")
if refused != (mt == "rcpt reply"):
    problems.append(f"miltertest saw {mt!r} for action {check['action']!r}")
if check.get("reply", "") != (wire if refused else ""):
    problems.append(f"reply: check {check.get('reply')!r} != on the wire {wire!r}")
print("; ".join(problems) if problems else f"ok {check['class']} {check['action']} {mt!r}")
PY
    )
    case "$verdict" in
    ok*) ok "$name: ${verdict#ok }" ;;
    *) not_ok "$name: $verdict" ;;
    esac
done <<<"$cases"

[ "$E2E_PASS" -eq 12 ] || not_ok "expected 12 cases to pass, $E2E_PASS did"
e2e_finish
