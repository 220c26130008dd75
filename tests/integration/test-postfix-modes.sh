#!/usr/bin/env bash
# Through a real Postfix: tag mode, log-only and dry run, DNS down
# (accept / tempfail per config), and SIGUSR1 reload with a broken rule file.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/postfix.sh"
[ -x /usr/sbin/postfix ] || e2e_skip "postfix is not installed"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"

e2e_dns_start || exit 1
MILTER_PORT=$(free_port)
smtp_port=$(free_port)
postfix_start "$E2E_WORK" "$smtp_port" "inet:127.0.0.1:$MILTER_PORT" \
    "milter_default_action = tempfail" "default_transport = capture" || exit 1
e2e_on_exit postfix_stop
conf=$E2E_WORK/milter.conf
t=$E2E_WORK/t
mkdir -p "$t"

# wait_captured REGEX: a delivered message (capture transport) matches.
wait_captured() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -lE -- "$1" "$POSTFIX_MAILDIR"/msg.* >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
# A new configuration reaches the running milter by SIGUSR1 (the reload
# path operators use), which also keeps this test fast.
restart_milter() { # restart_milter [e2e_milter_conf options...]
    e2e_milter_conf "$conf" "$@" || exit 1
    if [ -z "$MILTER_PID" ]; then
        milter_start "$conf" || exit 1
    elif ! milter_reload; then
        not_ok "the milter reloads a valid configuration"
        tail -n 5 "$MILTER_OUT" | sed 's/^/    | /'
    fi
}

# --- tag: the dynamic client's message is accepted with the header.
restart_milter dynamic=tag
smtp_session "$t/tag.txt" "$smtp_port" 127.0.0.10 --header "Subject: tag-mode-probe"
expect "tag mode: the dynamic client's message is accepted" "$t/tag.txt" '^<- +250 2\.0\.0 Ok: queued as'
if wait_captured 'tag-mode-probe'; then
    msg=$(grep -lE 'tag-mode-probe' "$POSTFIX_MAILDIR"/msg.* | head -n1)
    expect "tag mode: the delivered message has the X-IP25B header with class and ISP" "$msg" \
        '^X-IP25B: .*class=dynamic.*(isp=OCN|OCN)'
else
    not_ok "tag mode: the message was delivered to the capture transport"
fi
expect_decision "decision log: tag action" 'r["client_ip"] == "127.0.0.10" and r["action"] == "tag"'

# --- log-only as the class action: nothing changes, the decision is logged.
restart_milter dynamic=log-only
smtp_session "$t/logonly.txt" "$smtp_port" 127.0.0.17 --header "Subject: log-only-probe"
expect "log-only: the dynamic client's message is accepted" "$t/logonly.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: log-only record for the dynamic client" \
    'r["client_ip"] == "127.0.0.17" and r["class"] == "dynamic" and r["action"] == "log-only"'
if wait_captured 'log-only-probe'; then
    msg=$(grep -lE 'log-only-probe' "$POSTFIX_MAILDIR"/msg.* | head -n1)
    expect_not "log-only: no header added" "$msg" '^X-IP25B'
else
    not_ok "log-only: the message was delivered"
fi

# --- global dry run: a reject is only logged.
restart_milter dry_run=true
smtp_session "$t/dry.txt" "$smtp_port" 127.0.0.11
expect "dry run: the dynamic client's message is accepted" "$t/dry.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: dry-run record says what would have happened" \
    'r["client_ip"] == "127.0.0.11" and r["class"] == "dynamic" and r["dry_run"]'

# --- DNS down (nothing listens on the milter's name server port).
dead=$(free_port)
restart_milter "dns=127.0.0.1:$dead" dns_failure=accept
smtp_session "$t/dns-accept.txt" "$smtp_port" 127.0.0.10
expect "DNS down, dns_failure = accept: accepted" "$t/dns-accept.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: DNS failure accepted, with the lookup error" \
    'r["client_ip"] == "127.0.0.10" and r["ptr_status"] == "tempfail" and r["action"] == "accept" and "refused" in r["dns_detail"]'
restart_milter "dns=127.0.0.1:$dead" dns_failure=tempfail
smtp_session "$t/dns-tempfail.txt" "$smtp_port" 127.0.0.10
expect "DNS down, dns_failure = tempfail: 451 4.4.3 at RCPT" "$t/dns-tempfail.txt" \
    '^<\*\* +451 4\.4\.3 cannot verify the reverse DNS name of 127\.0\.0\.10'
expect_decision "decision log: DNS failure tempfailed" \
    'r["client_ip"] == "127.0.0.10" and r["ptr_status"] == "tempfail" and r["action"] == "tempfail"'
expect_not "DNS down: never a permanent reject" "$t/dns-tempfail.txt" '^<\*\* +5[0-9][0-9]'

# --- require_fcrdns = true: an unconfirmed pool name counts as no PTR.
restart_milter require_fcrdns=true
smtp_session "$t/fcrdns.txt" "$smtp_port" 127.0.0.16
expect "require_fcrdns: the unconfirmed OCN name is accepted as unknown-ptr" "$t/fcrdns.txt" \
    '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: unknown-ptr for the unconfirmed name" \
    'r["client_ip"] == "127.0.0.16" and r["class"] == "unknown-ptr" and not r["fcrdns"]'

# --- stage = connect: Postfix answers its own 554 and drops the milter's text.
restart_milter stage=connect
smtp_session "$t/connect.txt" "$smtp_port" 127.0.0.10
expect "stage connect: Postfix answers 554 at connect" "$t/connect.txt" \
    '^<\*\* +554 .*not accepting connections'
expect_decision "decision log: reject at connect" \
    'r["client_ip"] == "127.0.0.10" and r["action"] == "reject" and r["stage"] == "connect"'

# --- SIGUSR1: a broken rule file keeps the old rules running.
rules=$E2E_WORK/reloadnet.toml
write_rules() { # write_rules PATTERN
    cat >"$rules" <<TOML
format = 1
kind = "isp"

[meta]
name = "ReloadNet"
domains = ["reload.example.net"]
contact = "ip25b tests"
updated = 2026-11-22
source = "tests/integration/test-postfix-modes.sh"

[[dynamic]]
id = "reloadnet-pool"
pattern = '$1'
TOML
}
write_rules '^dhcp-[0-9]+-[0-9]+-[0-9]+-[0-9]+\.reload\.example\.net$'
restart_milter "rules_extra=, \"$rules\""
smtp_session "$t/reload-1.txt" "$smtp_port" 127.0.0.18
expect "reload: the test rule file refuses its pool" "$t/reload-1.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.18 .*dynamic address of ReloadNet'
# Break line 13 (an unterminated pattern string) and reload.
write_rules '^dhcp-[0-9]+\.reload\.example\.net$'
sed -i "13s/.*/pattern = '^dhcp-[0-9/" "$rules"
if milter_reload; then
    not_ok "reload with a broken file: the milter refuses the new set"
fi
if wait_file_grep "$MILTER_OUT" "$(basename "$rules"):13" 10; then
    ok "reload with a broken file: the milter names file:line"
else
    not_ok "reload with a broken file: the milter names $rules:13"
    tail -n 20 "$MILTER_OUT" | sed 's/^/    | /'
fi
pid_alive "$MILTER_PID" && ok "reload with a broken file: the milter keeps running" ||
    not_ok "reload with a broken file: the milter keeps running"
smtp_session "$t/reload-2.txt" "$smtp_port" 127.0.0.18
expect "reload with a broken file: the old rules still refuse the pool" "$t/reload-2.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.18 .*dynamic address of ReloadNet'
# A valid file that no longer matches: after SIGUSR1 the new set is in force.
write_rules '^nothing-matches-this\.reload\.example\.net$'
milter_reload || not_ok "reload with a valid file: the milter takes the new set"
smtp_session "$t/reload-3.txt" "$smtp_port" 127.0.0.18
expect "reload with a valid file: the new rules are in force (pool accepted)" "$t/reload-3.txt" \
    '^<- +250 2\.0\.0 Ok: queued as'

e2e_finish
