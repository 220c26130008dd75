#!/usr/bin/env bash
# Milter down: Postfix's milter_default_action decides, the milter cannot.
# smtpd_milters points at a loopback port where nothing listens.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/postfix.sh"
[ -x /usr/sbin/postfix ] || e2e_skip "postfix is not installed"

smtp_port=$(free_port)
dead_port=$(free_port)
postfix_start "$E2E_WORK" "$smtp_port" "inet:127.0.0.1:$dead_port" \
    "milter_default_action = tempfail" || exit 1
e2e_on_exit postfix_stop

out=$E2E_WORK/tempfail.txt
smtp_session "$out" "$smtp_port" 127.0.0.10
expect "tempfail: the client gets 451" "$out" '^<\*\* +451 4\.7\.1'
expect_not "tempfail: nothing queued" "$out" 'queued as'
expect "tempfail: Postfix logs the unreachable milter" "$POSTFIX_LOG" \
    "connect to Milter service inet:127.0.0.1:$dead_port: Connection refused"

postfix_set "milter_default_action = accept"
out=$E2E_WORK/accept.txt
smtp_session "$out" "$smtp_port" 127.0.0.10
expect "accept: the message is queued" "$out" '^<- +250 2\.0\.0 Ok: queued as'

postfix_set "milter_default_action = reject"
out=$E2E_WORK/reject.txt
smtp_session "$out" "$smtp_port" 127.0.0.10
expect "reject: the client gets 554 at connect" "$out" '^<\*\* +554 '
expect_not "reject: nothing queued" "$out" 'queued as'

e2e_finish
