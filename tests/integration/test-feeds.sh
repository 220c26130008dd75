#!/usr/bin/env bash
# Signed rule feeds end to end: an ISP publishes with `ip25b publish` to a real
# HTTPS server (nginx, test CA made here with openssl), a real milter behind a
# private Postfix subscribes to it, and `ip25b update` fetches, verifies,
# installs and makes the milter reload. Then every fault the receiver must
# survive: each keeps the last good serial in force, says why in one log
# line, and the next SMTP session is still judged by the good copy.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/postfix.sh"

skip() { # a missing component skips the test (77), except in CI, where it fails
    if [ "${CI:-}" = true ]; then echo "FAIL: $*"; exit 1; fi
    echo "SKIP: $*"
    exit 77
}
[ -x /usr/sbin/postfix ] || skip "postfix is not installed"
[ -x /usr/sbin/nginx ] || skip "nginx is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
command -v minisign >/dev/null || skip "minisign is not installed"
command -v swaks >/dev/null || skip "swaks is not installed"
IP25B=$E2E_BUILD_DIR/ip25b
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || skip "ip25b-milter is not built"
[ -x "$IP25B" ] || skip "ip25b is not built"

W=$E2E_WORK
ISP=$W/isp # the publisher's side
DOC=$W/www/.well-known/ip25b
mkdir -p "$ISP" "$DOC" "$W/nginx"

# --- test CA, the server's certificate, and a rogue CA for the TLS fault ---
pki() {
    local name=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=ip25b test CA $name" -keyout "$W/$name-ca.key" -out "$W/$name-ca.pem" 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=127.0.0.1" -keyout "$W/$name-server.key" -out "$W/$name-server.csr" 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$W/$name-ext.cnf" &&
        openssl x509 -req -in "$W/$name-server.csr" -CA "$W/$name-ca.pem" -CAkey "$W/$name-ca.key" \
            -CAcreateserial -days 2 -extfile "$W/$name-ext.cnf" -out "$W/$name-server.pem" 2>/dev/null
}
pki good || { echo "openssl failed"; exit 1; }
pki rogue || { echo "openssl failed"; exit 1; }

# --- nginx: the feed on one port with the good certificate, on another with a rogue one ---
HTTPS_PORT=$(free_port)
ROGUE_PORT=$(free_port)
cat >"$W/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
user root;
events { worker_connections 64; }
http {
    access_log $W/nginx/access.log combined;
    log_format bytes '\$status \$body_bytes_sent \$request_uri';
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    types { text/plain toml minisig; }
    server {
        listen 127.0.0.1:$HTTPS_PORT ssl;
        ssl_certificate $W/good-server.pem;
        ssl_certificate_key $W/good-server.key;
        root $W/www;
        access_log $W/nginx/bytes.log bytes;
    }
    server {
        listen 127.0.0.1:$ROGUE_PORT ssl;
        ssl_certificate $W/rogue-server.pem;
        ssl_certificate_key $W/rogue-server.key;
        root $W/www;
    }
}
CONF
/usr/sbin/nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" >"$W/nginx/stdout" 2>&1 &
NGINX_PID=$!
e2e_on_exit 'stop_pid $NGINX_PID'
wait_port 127.0.0.1 "$HTTPS_PORT" 20 || { cat "$W/nginx/stdout" "$W/nginx/error.log"; exit 1; }
FEED_URL=https://127.0.0.1:$HTTPS_PORT/.well-known/ip25b/rules.toml

# --- the ISP: key pair, rule file, first serial ---
"$IP25B" keygen -s "$ISP/isp.key" -p "$ISP/isp.pub" >"$W/keygen.out" 2>&1 || { cat "$W/keygen.out"; exit 1; }
PUBKEY=$(sed -n 2p "$ISP/isp.pub")
minisign -G -W -p "$ISP/other.pub" -s "$ISP/other.key" >/dev/null 2>&1 </dev/null || { echo "minisign -G failed"; exit 1; }

# rule_file ID [PATTERN]: the ISP's file with one dynamic rule.
rule_file() {
    local id=$1 pattern=${2:-'^dhcp-[0-9]+-[0-9]+-[0-9]+-[0-9]+\.reload\.example\.net$'}
    cat >"$ISP/example-isp.toml" <<TOML
format = 1
kind = "isp"

[meta]
name = "Reload Example ISP"
domains = ["reload.example.net"]
contact = "abuse@reload.example.net"
updated = 2026-11-30
source = "ip25b feed test"

[[dynamic]]
id = "$id"
pattern = '$pattern'
examples = ["dhcp-127-0-0-18.reload.example.net"]
TOML
}
# publish ARGS...: ip25b publish into $ISP/out (the serial record lives there).
publish() {
    "$IP25B" publish -k "$ISP/isp.key" -n example-isp --contact abuse@reload.example.net \
        -o "$ISP/out/rules.toml" "$@" "$ISP/example-isp.toml" >"$W/publish.out" 2>&1
}
serve() { # serve DIR: put DIR's feed and signature on the web server
    cp "$1/rules.toml" "$DOC/rules.toml" && cp "$1/rules.toml.minisig" "$DOC/rules.toml.minisig"
}
mkdir -p "$ISP/out"
rule_file dhcp-v1
if publish; then ok "ip25b publish: serial 1"; else not_ok "ip25b publish: serial 1"; cat "$W/publish.out"; fi
cp -r "$ISP/out" "$ISP/serial1"
serve "$ISP/out"
if minisign -Vm "$DOC/rules.toml" -P "$PUBKEY" >/dev/null 2>&1; then
    ok "the stock minisign tool verifies the published feed"
else
    not_ok "the stock minisign tool verifies the published feed"
fi
publish --serial 1
expect "ip25b publish refuses a serial that is not above the last one" "$W/publish.out" \
    'serial 1 is not above 1'

# --- the receiver: DNS, milter with the feed subscribed, Postfix ---
e2e_dns_start || exit 1
CONF=$W/milter.conf
STATE=$W/state
# write_conf URL [extra feed keys...]: the milter's config with the feed.
write_conf() {
    local url=$1
    shift
    e2e_milter_conf "$CONF" || return 1
    cat >>"$CONF" <<TOML

[policy.reply]
dynamic = "{ip} ({ptr}) is a dynamic address of {isp} (feed {feed}, rule {rule}); use port 587"

[milter]
pidfile = "$W/milter.pid"

[update]
state_dir = "$STATE"

[[feeds]]
name = "example-isp"
url = "$url"
public_key = "$PUBKEY"
ca_file = "$W/good-ca.pem"
max_size = 65536
connect_timeout_ms = 2000
timeout_ms = 3000
TOML
    local kv
    for kv in "$@"; do echo "$kv" >>"$CONF"; done
}
write_conf "$FEED_URL" || exit 1
milter_start "$CONF" || exit 1
MILTER_FIRST_PID=$MILTER_PID
smtp_port=$(free_port)
POSTFIX_SUBMISSION_PORT=$(free_port)
postfix_start "$W" "$smtp_port" "inet:127.0.0.1:$MILTER_PORT" \
    "milter_default_action = tempfail" "default_transport = capture" || exit 1
e2e_on_exit postfix_stop
t=$W/t
mkdir -p "$t"

smtp_session "$t/before.txt" "$smtp_port" 127.0.0.18
expect "before the first fetch the feed's pool is not known: accepted" "$t/before.txt" \
    '^<- +250 2\.0\.0 Ok: queued as'

# update [args]: ip25b update, its log lines in $W/update.out (appended to $W/update.all).
update() {
    "$IP25B" update -c "$CONF" --force "$@" >"$W/update.out" 2>&1
    local rc=$?
    cat "$W/update.out" >>"$W/update.all"
    return $rc
}
reloads() { grep -c 'reloaded' "$MILTER_OUT"; }
# wait_reload N: the milter has logged more than N reloads.
wait_reload() {
    local i
    for ((i = 0; i < 900; i++)); do # a reload lints and loads every shipped rule
        [ "$(reloads)" -gt "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- first fetch ---
r0=$(reloads)
if update; then ok "first update: exit 0"; else not_ok "first update: exit 0"; cat "$W/update.out"; fi
expect "first update: serial 1 installed" "$W/update.out" 'feed example-isp: installed serial 1 from Reload Example ISP'
expect "first update: the milter was asked to reload" "$W/update.out" "asked the milter \\(pid $MILTER_PID\\) to reload"
if wait_reload "$r0"; then ok "the milter reloaded"; else not_ok "the milter reloaded"; tail "$MILTER_OUT"; fi
smtp_session "$t/s1.txt" "$smtp_port" 127.0.0.18
expect "after the first fetch the feed's dynamic client is refused, the reply names ISP and feed" "$t/s1.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.18 \(dhcp-127-0-0-18\.reload\.example\.net\) is a dynamic address of Reload Example ISP \(feed example-isp, rule dhcp-v1\)'
expect_decision "decision record names the feed, its ISP and rule" \
    'r["client_ip"] == "127.0.0.18" and r["feed"] == "example-isp" and r["isp"] == "Reload Example ISP" and r["rule"] == "dhcp-v1" and r["action"] == "reject"'

# --- a higher serial is picked up without a restart ---
rule_file dhcp-v2
publish || { not_ok "publish serial 2"; cat "$W/publish.out"; }
cp -r "$ISP/out" "$ISP/serial2"
serve "$ISP/out"
r0=$(reloads)
update
expect "serial 2 installed, replacing serial 1" "$W/update.out" 'installed serial 2 .*replacing serial 1'
wait_reload "$r0" || not_ok "the milter reloaded for serial 2"
smtp_session "$t/s2.txt" "$smtp_port" 127.0.0.18
expect "serial 2 in force without a restart (rule dhcp-v2)" "$t/s2.txt" '^<\*\* +550 5\.7\.1 .*rule dhcp-v2\)'
if [ "$MILTER_PID" = "$MILTER_FIRST_PID" ] && pid_alive "$MILTER_PID"; then
    ok "the milter was not restarted"
else
    not_ok "the milter was not restarted"
fi

# --- 304 Not Modified transfers nothing ---
"$IP25B" update -c "$CONF" --force >/dev/null 2>&1 # settles ETag after the serve copy
update
expect "unchanged feed: 304, nothing fetched" "$W/update.out" 'not modified \(HTTP 304\); serial 2 in force \(0 bytes fetched\)'
if tail -n1 "$W/nginx/bytes.log" | grep -Eq '^304 0 /\.well-known/ip25b/rules\.toml$'; then
    ok "nginx logged 304 with 0 body bytes"
else
    not_ok "nginx logged 304 with 0 body bytes"; tail -n3 "$W/nginx/bytes.log"
fi

# fault NAME REGEX [update args]: update fails naming REGEX, serial 2 stays,
# no reload, the next session is still refused by rule dhcp-v2.
fault() {
    local name=$1 re=$2 r0 rc
    shift 2
    r0=$(reloads)
    update "$@"
    rc=$?
    if [ $rc -eq 1 ]; then ok "$name: update exits 1"; else not_ok "$name: update exits 1 (got $rc)"; fi
    expect "$name: one log line names the reason and the serial kept" "$W/update.out" \
        "feed example-isp: FAILED: .*$re.*; serial 2 stays in force"
    "$IP25B" update -c "$CONF" --list >"$W/list.out" 2>&1
    expect "$name: update --list shows serial 2 and the error" "$W/list.out" \
        "^example-isp +2 .*$re"
    sleep 0.3
    [ "$(reloads)" -eq "$r0" ] || not_ok "$name: the milter was not reloaded"
    smtp_session "$t/$name.txt" "$smtp_port" 127.0.0.18
    expect "$name: the last good copy still refuses the client (rule dhcp-v2)" "$t/$name.txt" \
        '^<\*\* +550 5\.7\.1 .*rule dhcp-v2\)'
}
restore() { serve "$ISP/serial2"; write_conf "$FEED_URL"; }

# bad signature: serial 2's document (copied again: a new ETag, so it is
# fetched) with serial 1's signature
serve "$ISP/serial2"
cp "$ISP/serial1/rules.toml.minisig" "$DOC/rules.toml.minisig"
fault bad-signature 'signature does not verify'
restore

# wrong key: the next serial signed with another (minisign-made) key
rule_file dhcp-v3
"$IP25B" publish -k "$ISP/other.key" -n example-isp -o "$ISP/other/rules.toml" --serial 3 \
    "$ISP/example-isp.toml" >"$W/publish.out" 2>&1 || { not_ok "publish with the other key"; cat "$W/publish.out"; }
serve "$ISP/other"
fault wrong-key 'signed with key [0-9A-F]{16}, but the configured public key is'
restore

# truncated download: the server closes after half the announced length
BAD_PORT=$(free_port)
python3 "$E2E_SOURCE_DIR/tests/lib/https-bad-server.py" truncate "$BAD_PORT" "$W/good-server.pem" "$W/good-server.key" &
BAD_PID=$!
e2e_on_exit 'stop_pid $BAD_PID'
wait_port 127.0.0.1 "$BAD_PORT" 10
write_conf "https://127.0.0.1:$BAD_PORT/rules.toml"
fault truncated 'Transferred a partial file'
stop_pid $BAD_PID
restore

# oversized body: nginx serves more than max_size (Content-Length known) ...
head -c 200000 /dev/zero | tr '\0' '#' >"$DOC/rules.toml"
fault oversized 'body larger than the size cap of 65536 bytes'
restore
# ... and a server that streams without a length is cut off at the cap
python3 "$E2E_SOURCE_DIR/tests/lib/https-bad-server.py" endless "$BAD_PORT" "$W/good-server.pem" "$W/good-server.key" &
BAD_PID=$!
wait_port 127.0.0.1 "$BAD_PORT" 10
write_conf "https://127.0.0.1:$BAD_PORT/rules.toml"
fault oversized-stream 'body larger than the size cap of 65536 bytes'
stop_pid $BAD_PID
restore

# serial rollback: serial 1, validly signed, served again
serve "$ISP/serial1"
fault rollback 'serial rollback: 1 is older than the installed serial 2'
restore

# expired feed: validly signed, a higher serial, but its expiry has passed
rule_file dhcp-v4
"$IP25B" publish -k "$ISP/isp.key" -n example-isp -o "$ISP/expired/rules.toml" --serial 4 \
    --now 2020-01-01T00:00:00Z --expires-in 1d "$ISP/example-isp.toml" >"$W/publish.out" 2>&1 ||
    { not_ok "publish the expired feed"; cat "$W/publish.out"; }
serve "$ISP/expired"
fault expired 'feed expired at 2020-01-02T00:00:00Z'
restore

# a feed failing lint: ip25b publish refuses it ...
rule_file dhcp-v5 '^dhcp-[0-9]+\.other\.example\.net$'
if publish; then not_ok "publish refuses a file that fails lint"; else
    expect "publish refuses a file that fails lint" "$W/publish.out" 'nothing published'
fi
# ... so the ISP signs it by hand with minisign; the receiver lints and refuses it
mkdir -p "$ISP/lintfail"
sed -e 's/^serial = 2$/serial = 5/' -e 's/dhcp-v2/dhcp-v5/' \
    -e 's/\^dhcp-\[0-9\]+-\[0-9\]+-\[0-9\]+-\[0-9\]+\\\.reload/^dhcp-[0-9]+\\.other/' \
    "$ISP/serial2/rules.toml" >"$ISP/lintfail/rules.toml"
minisign -S -s "$ISP/isp.key" -m "$ISP/lintfail/rules.toml" -x "$ISP/lintfail/rules.toml.minisig" \
    -t "hand-signed" >/dev/null 2>&1 </dev/null || not_ok "minisign signs with an ip25b key"
serve "$ISP/lintfail"
fault lint 'feed fails lint .*example-isp\.toml:[0-9]+: '
restore

# server down: nothing listens
write_conf "https://127.0.0.1:$(free_port)/rules.toml"
fault server-down "Couldn't connect to server"
restore

# server too slow: the transfer stalls; timeout_ms = 3000 ends it. A session
# runs meanwhile and is judged normally.
python3 "$E2E_SOURCE_DIR/tests/lib/https-bad-server.py" stall "$BAD_PORT" "$W/good-server.pem" "$W/good-server.key" &
BAD_PID=$!
wait_port 127.0.0.1 "$BAD_PORT" 10
write_conf "https://127.0.0.1:$BAD_PORT/rules.toml"
smtp_session "$t/during-stall.txt" "$smtp_port" 127.0.0.18 &
SESSION_PID=$!
start=$(date +%s)
fault timeout 'timed out'
end=$(date +%s)
wait $SESSION_PID
expect "a session during the stalled update is judged by the good copy" "$t/during-stall.txt" \
    '^<\*\* +550 5\.7\.1 .*rule dhcp-v2\)'
if [ $((end - start)) -lt 15 ]; then ok "the stalled update gave up within its timeout"; else
    not_ok "the stalled update gave up within its timeout ($((end - start)) s)"; fi
stop_pid $BAD_PID
restore

# TLS certificate that does not verify against the pinned CA
write_conf "https://127.0.0.1:$ROGUE_PORT/.well-known/ip25b/rules.toml"
fault tls 'TLS certificate does not verify'
restore

# --- after all that, a good higher serial still installs ---
rule_file dhcp-v6
publish --serial 6 || { not_ok "publish serial 6"; cat "$W/publish.out"; }
serve "$ISP/out"
r0=$(reloads)
update
expect "after the faults serial 6 installs" "$W/update.out" 'installed serial 6 .*replacing serial 2'
wait_reload "$r0" || not_ok "the milter reloaded for serial 6"
smtp_session "$t/s6.txt" "$smtp_port" 127.0.0.18
expect "serial 6 in force" "$t/s6.txt" '^<\*\* +550 5\.7\.1 .*rule dhcp-v6\)'
if grep -q 'reload failed' "$MILTER_OUT"; then not_ok "no milter reload failed"; else ok "no milter reload failed"; fi

# No session was lost: every SMTP transcript ended in a reply, none in a
# dropped connection or a tempfail.
lost=$(grep -lE 'Remote host closed|^<\*\* +4[0-9][0-9]' "$t"/*.txt 2>/dev/null | wc -l)
if [ "$lost" -eq 0 ]; then ok "no session was lost or tempfailed"; else
    not_ok "no session was lost or tempfailed ($lost transcripts)"; fi

e2e_finish
