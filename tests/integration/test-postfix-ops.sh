#!/usr/bin/env bash
# Operations through a real Postfix (issue 8, items 3-6): the milter runs as
# nobody on a unix socket Postfix reaches through the socket group; records
# carry Postfix's queue id; the decision log follows rename + SIGUSR1;
# `ip25b status` and the Prometheus endpoint show the counters, the rule set
# and one cache entry; a reload refuses a rule set lint refuses (old set
# stays), names [milter] keys that need a restart, applies log.level; a dry
# run is recorded as "would" and `ip25b report` counts it apart.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/postfix.sh"
[ -x /usr/sbin/postfix ] || e2e_skip "postfix is not installed"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] && [ -x "$E2E_BUILD_DIR/ip25b" ] || e2e_skip "ip25b-milter / ip25b not built"
[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (privilege drop, Postfix)"
cli=$E2E_BUILD_DIR/ip25b
w=$E2E_WORK

e2e_dns_start || exit 1
conf=$w/milter.conf
e2e_milter_conf "$conf" || exit 1
logs=$w/logs
run=$w/run
mkdir -p "$logs" "$run"
chown nobody "$logs"
DECISIONS=$logs/decisions.jsonl
metrics_port=$(free_port)
sock=$run/milter.sock
# the shared config writer puts decisions in $E2E_WORK; move them to the service user's dir
sed -i "s|^json_file = .*|json_file = \"$DECISIONS\"|; s|^level = .*|level = \"info\"|" "$conf"
cat >>"$conf" <<TOML

[milter]
socket = "unix:$sock"
socket_group = "postfix"
user = "nobody"

[metrics]
listen = "127.0.0.1:$metrics_port"
TOML

MILTER_OUT=$w/milter.out
"$E2E_BUILD_DIR/ip25b-milter" -f -c "$conf" >"$MILTER_OUT" 2>&1 &
MILTER_PID=$!
wait_file_grep "$MILTER_OUT" 'listening on' 20 || { not_ok "milter start"; cat "$MILTER_OUT"; e2e_finish; exit 1; }
smtp_port=$(free_port)
postfix_start "$w" "$smtp_port" "unix:$sock" "milter_default_action = tempfail" || exit 1
e2e_on_exit postfix_stop
t=$w/t
mkdir -p "$t"

# --- Postfix reaches the socket (mode 0660, group postfix) and the verdicts hold
smtp_session "$t/static.txt" "$smtp_port" 127.0.0.14
expect "static client through the unix socket: 250 queued" "$t/static.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_not "Postfix reached the milter (no Permission denied)" "$POSTFIX_LOG" 'Permission denied'
smtp_session "$t/dyn.txt" "$smtp_port" 127.0.0.10
expect "dynamic client: 550" "$t/dyn.txt" '^<\*\* +550 5\.7\.1'
qid=$(sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$t/static.txt" | head -1)
wait_file_grep "$DECISIONS" '"client_ip":"127.0.0.14"' 5
expect_decision "record of the accepted message carries Postfix's queue id ($qid)" \
    "r['client_ip'] == '127.0.0.14' and r['queue_id'] == '$qid' and '$qid' != ''"
expect "Postfix logs the same queue id" "$POSTFIX_LOG" "$qid: client="
[ "$(stat -c %U "$DECISIONS")" = nobody ] && ok "decision log owned by the service user" || not_ok "decision log owner $(stat -c %U "$DECISIONS")"

# --- ip25b status over the control socket
"$cli" status --socket "$sock.ctl" >"$t/status.txt" 2>&1
expect "status: decisions per class and action" "$t/status.txt" '^ +1  dynamic reject$'
expect "status: rule set generation 1" "$t/status.txt" '^rule set 1: '
"$cli" status --socket "$sock.ctl" --json >"$t/status.json"
if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["sessions"]["total"] >= 2 and j["cache"]["size"] >= 2 and j["dns"]["lookups"] >= 2 and "reload_failed" in j["errors"]' "$t/status.json"; then
    ok "status --json: sessions, cache size, DNS lookups, errors"; else not_ok "status --json"; cat "$t/status.json"; fi
"$cli" status --socket "$sock.ctl" --rules >"$t/rules.txt"
expect "status --rules lists the rule files with counts" "$t/rules.txt" '^ +[0-9]+  .*/rules/isp/jp/ocn\.toml$'
"$cli" status --socket "$sock.ctl" --cache 127.0.0.10 >"$t/cache.txt"
expect "status --cache: the cached PTR and its class" "$t/cache.txt" '^127\.0\.0\.10: confirmed p1157-ipbf5204marunouchi\.tokyo\.ocn\.ne\.jp .*class dynamic by .*jp/ocn\.toml'
"$cli" status --socket "$sock.ctl" --cache 127.0.0.99 >"$t/cache2.txt"
expect "status --cache: an address not seen" "$t/cache2.txt" 'not in the cache'

# --- Prometheus endpoint (civetweb)
python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' \
    "$metrics_port" >"$t/metrics.txt" 2>&1
expect "metrics: decisions counter" "$t/metrics.txt" '^ip25b_decisions_total\{class="dynamic",action="reject",dry_run="false"\} 1$'
expect "metrics: DNS histogram" "$t/metrics.txt" '^ip25b_dns_lookup_seconds_bucket\{le="\+Inf"\} [1-9]'
expect "metrics: cache size" "$t/metrics.txt" '^ip25b_cache_entries [1-9]'
expect "metrics: rule set generation" "$t/metrics.txt" '^ip25b_rule_set_generation 1$'

# --- rotation: rename + USR1, as logrotate does
mv "$DECISIONS" "$DECISIONS.1"
milter_reload || not_ok "reload for rotation"
smtp_session "$t/dyn2.txt" "$smtp_port" 127.0.0.17
wait_file_grep "$DECISIONS" '"client_ip":"127.0.0.17"' 5 && ok "after mv + USR1 the next record goes to a new file" ||
    not_ok "no record in the new file"
[ "$(stat -c %U "$DECISIONS" 2>/dev/null)" = nobody ] && ok "the new file is the service user's" || not_ok "new file owner"
grep -q '127.0.0.17' "$DECISIONS.1" && not_ok "record went to the rotated file" || ok "the rotated file got no new records"

# --- reload = lint's verdict
bad=$w/bad.toml
cp "$E2E_SOURCE_DIR/tests/data/reload/backtracker.toml" "$bad"
cp "$conf" "$conf.good"
sed -i "s|^files = \[\(.*\)\]|files = [\1, \"$bad\"]|" "$conf"
if milter_reload; then not_ok "reload accepted a rule lint refuses"; else
    expect "reload refused with file:line" "$MILTER_OUT" "reload failed, still running rule set 2: $bad:[0-9]+: lint: "; fi
smtp_session "$t/dyn3.txt" "$smtp_port" 127.0.0.10
expect "the old set stays in force" "$t/dyn3.txt" '^<\*\* +550 5\.7\.1'
if "$E2E_BUILD_DIR/ip25b-milter" -n -c "$conf" >"$t/n.txt" 2>&1; then not_ok "-n accepted the bad rule"; else
    expect "start-up check (-n) refuses it too, with file:line" "$t/n.txt" "$bad:[0-9]+: lint: "; fi

# --- [milter] change needs a restart; log.level applied
cp "$conf.good" "$conf"
sed -i 's|^socket_group = "postfix"|socket_group = "postfix"\nsocket_mode = "0600"|; s|^level = .*|level = "debug"|' "$conf"
milter_reload || not_ok "reload with changed [milter]"
expect "reload names the [milter] key that needs a restart" "$MILTER_OUT" 'milter\.socket_mode changed: needs restart'
smtp_session "$t/static2.txt" "$smtp_port" 127.0.0.14
expect "log.level = debug applied on reload" "$MILTER_OUT" 'debug: .*: connect 127\.0\.0\.14'

# --- dry run: recorded as "would", counted apart
sed -i 's|^dry_run = false|dry_run = true|' "$conf"
milter_reload || not_ok "reload to dry run"
smtp_session "$t/dry.txt" "$smtp_port" 127.0.0.11
expect "dry run: accepted" "$t/dry.txt" '^<- +250 2\.0\.0 Ok: queued as'
wait_file_grep "$DECISIONS" '"client_ip":"127.0.0.11"' 5
expect_decision "dry-run record: action accept, would reject" \
    'r["client_ip"] == "127.0.0.11" and r["dry_run"] and r["action"] == "accept" and r["would"] == "reject"'
"$cli" report "$DECISIONS" "$DECISIONS.1" >"$t/report.txt"
expect "report: dry run counted apart" "$t/report.txt" '^dry run, would have \(nothing enforced\):'
awk '/^by action:/{f=1;next} /^by class:/{f=0} f' "$t/report.txt" >"$t/by-action.txt"
expect "report: only enforced refusals count as reject (3)" "$t/by-action.txt" '^ +3  reject$'

stop_pid "$MILTER_PID" 15
MILTER_PID=
for f in "$sock" "$sock.ctl"; do
    [ ! -e "$f" ] && ok "after stop: $(basename "$f") removed" || not_ok "after stop: $f left"
done
e2e_finish
