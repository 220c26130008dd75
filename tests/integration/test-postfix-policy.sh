#!/usr/bin/env bash
# End to end through a real Postfix: clients connect from loopback addresses
# whose PTRs (served by the tests' own NSD) look like real clients; the
# milter decides at RCPT. XCLIENT gives IPv6 clients and SMTP AUTH.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/postfix.sh"
[ -x /usr/sbin/postfix ] || e2e_skip "postfix is not installed"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"

e2e_dns_start || exit 1
conf=$E2E_WORK/milter.conf
e2e_milter_conf "$conf" || exit 1
milter_start "$conf" || exit 1
smtp_port=$(free_port)
POSTFIX_SUBMISSION_PORT=$(free_port)
postfix_start "$E2E_WORK" "$smtp_port" "inet:127.0.0.1:$MILTER_PORT" \
    "milter_default_action = tempfail" "default_transport = capture" || exit 1
e2e_on_exit postfix_stop

t=$E2E_WORK/t
mkdir -p "$t"

# Dynamic (OCN shape): refused at RCPT with the template text.
smtp_session "$t/ocn.txt" "$smtp_port" 127.0.0.10
expect "dynamic OCN client: 550 5.7.1 at RCPT with the template text" "$t/ocn.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.10 \(p1157-ipbf5204marunouchi\.tokyo\.ocn\.ne\.jp\) is a dynamic address of OCN; send through your provider.s mail server \(port 587, SMTP AUTH\)'
expect "dynamic OCN client: MAIL FROM was accepted (the reject is at RCPT)" "$t/ocn.txt" \
    '^<- +250 2\.1\.0'
expect_not "dynamic OCN client: nothing queued" "$t/ocn.txt" 'queued as'
expect "Postfix logs the milter's reject at RCPT" "$POSTFIX_LOG" \
    'milter-reject: RCPT from unknown\[127\.0\.0\.10\]: 550 5\.7\.1 127\.0\.0\.10'
expect_decision "decision log: dynamic, OCN, reject at rcpt, with sender and recipient" \
    'r["client_ip"] == "127.0.0.10" and r["class"] == "dynamic" and r["isp"] == "OCN" and r["action"] == "reject" and r["stage"] == "rcpt" and r["sender"].strip("<>") == "sender@example.net" and any("postmaster@ip25b.test" in x for x in r["recipients"]) and r["fcrdns"]'

# SoftBank shape, another ISP's file.
smtp_session "$t/sb.txt" "$smtp_port" 127.0.0.17
expect "dynamic SoftBank client: 550 5.7.1 naming the PTR" "$t/sb.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.17 \(softbank127000000017\.bbtec\.net\) is a dynamic address of'

# Same OCN address, authenticated (XCLIENT LOGIN sets {auth_authen}).
smtp_session "$t/ocn-auth.txt" "$smtp_port" 127.0.0.10 --xclient "LOGIN=alice"
expect "dynamic client with SMTP AUTH: accepted" "$t/ocn-auth.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: the authenticated session passed" \
    'r["client_ip"] == "127.0.0.10" and r["auth"] == "alice" and r["action"] == "accept"'

# Self-dynamic: the operator's own pool (self_ranges).
smtp_session "$t/self.txt" "$smtp_port" 127.0.0.12
expect "self-dynamic client: 550 5.7.1 with the self text" "$t/self.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.12 .* is one of our own dynamic addresses'
expect_decision "decision log: self-dynamic reject" \
    'r["client_ip"] == "127.0.0.12" and r["class"] == "self-dynamic" and r["action"] == "reject"'

# Allowlisted (a Google outbound MTA name) and static clients pass.
smtp_session "$t/google.txt" "$smtp_port" 127.0.0.13
expect "allowlisted client: accepted" "$t/google.txt" '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: allowlisted" \
    'r["client_ip"] == "127.0.0.13" and r["class"] == "allowlisted" and r["action"] == "accept"'
smtp_session "$t/static.txt" "$smtp_port" 127.0.0.14
expect "static client: accepted" "$t/static.txt" '^<- +250 2\.0\.0 Ok: queued as'

# No PTR: unknown-ptr, accepted by default.
smtp_session "$t/noptr.txt" "$smtp_port" 127.0.0.15
expect "client without PTR: accepted (unknown_ptr = accept)" "$t/noptr.txt" '^<- +250 2\.0\.0 Ok: queued as'
# An OCN pool name that does not forward-confirm: by default (require_fcrdns
# = false) the name set by the block's owner still says dynamic.
smtp_session "$t/mismatch.txt" "$smtp_port" 127.0.0.16
expect "unconfirmed OCN pool name: 550 5.7.1 (require_fcrdns = false)" "$t/mismatch.txt" \
    '^<\*\* +550 5\.7\.1 127\.0\.0\.16 \(p2000-ipbf100osakakita\.osaka\.ocn\.ne\.jp\)'
expect_decision "decision log: dynamic, not forward-confirmed" \
    'r["client_ip"] == "127.0.0.16" and r["class"] == "dynamic" and not r["fcrdns"] and r["ptr_status"] == "unconfirmed"'

# IPv6 through XCLIENT.
smtp_session "$t/v6.txt" "$smtp_port" 127.0.0.1 --xclient "ADDR=IPV6:2001:db8::10"
expect "IPv6 dynamic client (XCLIENT ADDR): 550 5.7.1" "$t/v6.txt" \
    '^<\*\* +550 5\.7\.1 2001:db8::10 \(p3000-ipbf200shinjuku\.tokyo\.ocn\.ne\.jp\) is a dynamic address of OCN'
smtp_session "$t/v6-static.txt" "$smtp_port" 127.0.0.1 --xclient "ADDR=IPV6:2001:db8::14"
expect "IPv6 static client (XCLIENT ADDR): accepted" "$t/v6-static.txt" '^<- +250 2\.0\.0 Ok: queued as'
smtp_session "$t/v6-self.txt" "$smtp_port" 127.0.0.1 --xclient "ADDR=IPV6:2001:db8::12"
expect "IPv6 self-dynamic client (XCLIENT ADDR): 550 5.7.1" "$t/v6-self.txt" \
    '^<\*\* +550 5\.7\.1 2001:db8::12 .*our own dynamic addresses'
# The XCLIENT proxy's own session (127.0.0.1) is never judged as the client.
expect_decision "decision log: the IPv6 client was judged" \
    'r["client_ip"] == "2001:db8::10" and r["action"] == "reject"'
if json_decisions 'r["client_ip"] == "127.0.0.1"' | grep -q .; then
    not_ok "the XCLIENT proxy's own address was judged"
else
    ok "the XCLIENT proxy's own address was not judged"
fi

# The same dynamic client on the submission listener ({daemon_name} =
# ORIGINATING) is never judged.
smtp_session "$t/submission.txt" "$POSTFIX_SUBMISSION_PORT" 127.0.0.10
expect "dynamic client on the submission listener: accepted" "$t/submission.txt" \
    '^<- +250 2\.0\.0 Ok: queued as'
expect_decision "decision log: submission listener exempt" \
    'r["client_ip"] == "127.0.0.10" and r["class"] == "exempt" and "ORIGINATING" in r["reason"]'

# A tag-less accept leaves the message alone.
sleep 1
if grep -l 'X-IP25B' "$POSTFIX_MAILDIR"/* >/dev/null 2>&1; then
    not_ok "accepted messages carry no X-IP25B header outside tag mode"
else
    ok "accepted messages carry no X-IP25B header outside tag mode"
fi

e2e_finish
