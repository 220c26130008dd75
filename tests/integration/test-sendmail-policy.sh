#!/usr/bin/env bash
# End to end through a real Sendmail (unpacked from Debian's packages, see
# tests/lib/sendmail.sh) with INPUT_MAIL_FILTER pointing at the milter.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/sendmail.sh"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"
sendmail_prepare || e2e_skip "cannot unpack Sendmail (apt-get download failed)"

e2e_dns_start || exit 1
conf=$E2E_WORK/milter.conf
e2e_milter_conf "$conf" || exit 1
milter_start "$conf" || exit 1
smtp_port=$(free_port)
SENDMAIL_MSA_PORT=$(free_port)
sendmail_start "$E2E_WORK" "$smtp_port" "inet:$MILTER_PORT@127.0.0.1" T || exit 1
e2e_on_exit sendmail_stop
t=$E2E_WORK/t
mkdir -p "$t"
# Sendmail puts "<recipient>... " before the milter's text at RCPT.
rcpt='<postmaster@ip25b\.test>\.\.\. '

smtp_session "$t/ocn.txt" "$smtp_port" 127.0.0.10
expect "dynamic OCN client: 550 5.7.1 at RCPT with the template text" "$t/ocn.txt" \
    "^<\*\* +550 5\.7\.1 ${rcpt}127\.0\.0\.10 \(p1157-ipbf5204marunouchi\.tokyo\.ocn\.ne\.jp\) is a dynamic address of OCN; send through your provider.s mail server \(port 587, SMTP AUTH\)"
expect "dynamic OCN client: MAIL FROM accepted first" "$t/ocn.txt" '^<- +250 2\.1\.0'
expect_decision "decision log: dynamic reject at rcpt (Sendmail)" \
    'r["client_ip"] == "127.0.0.10" and r["class"] == "dynamic" and r["action"] == "reject" and r["stage"] == "rcpt"'

smtp_session "$t/plala.txt" "$smtp_port" 127.0.0.11
expect "dynamic plala client: 550 5.7.1" "$t/plala.txt" \
    "^<\*\* +550 5\.7\.1 ${rcpt}127\.0\.0\.11 \(i127-0-0-11\.s41\.a014\.ap\.plala\.or\.jp\) is a dynamic address of"

smtp_session "$t/self.txt" "$smtp_port" 127.0.0.12
expect "self-dynamic client: 550 5.7.1" "$t/self.txt" \
    "^<\*\* +550 5\.7\.1 ${rcpt}127\.0\.0\.12 .*our own dynamic addresses"

smtp_session "$t/google.txt" "$smtp_port" 127.0.0.13
expect "allowlisted client: accepted" "$t/google.txt" '^<- +250 2\.0\.0 .*Message accepted'
smtp_session "$t/static.txt" "$smtp_port" 127.0.0.14
expect "static client: accepted" "$t/static.txt" '^<- +250 2\.0\.0 .*Message accepted'
# Sendmail's queue id (macro i, known from MAIL FROM) is in the record.
sm_qid=$(sed -n 's/^<- *250 2\.0\.0 \([A-Za-z0-9]*\) Message accepted.*/\1/p' "$t/static.txt" | head -1)
expect_decision "decision log: the accepted message's record has Sendmail's queue id ($sm_qid)" \
    "r['client_ip'] == '127.0.0.14' and '$sm_qid' != '' and r['queue_id'] == '$sm_qid'"
expect_decision "decision log: the refused session's record has a queue id too (Sendmail)" \
    'r["client_ip"] == "127.0.0.10" and r["action"] == "reject" and r["queue_id"] != ""'
smtp_session "$t/noptr.txt" "$smtp_port" 127.0.0.15
expect "client without PTR: accepted" "$t/noptr.txt" '^<- +250 2\.0\.0 .*Message accepted'

# The same dynamic client on the MSA daemon ({daemon_name} = MSA) passes.
smtp_session "$t/msa.txt" "$SENDMAIL_MSA_PORT" 127.0.0.10
expect "dynamic client on the MSA daemon: accepted" "$t/msa.txt" '^<- +250 2\.0\.0 .*Message accepted'
expect_decision "decision log: MSA daemon exempt" \
    'r["client_ip"] == "127.0.0.10" and r["class"] == "exempt" and "MSA" in r["reason"]'

# Tag mode: the header reaches the delivered message.
e2e_milter_conf "$conf" dynamic=tag || exit 1
milter_reload || not_ok "the milter reloads the tag configuration"
smtp_session "$t/tag.txt" "$smtp_port" 127.0.0.17 --header "Subject: sendmail-tag-probe"
expect "tag mode: accepted" "$t/tag.txt" '^<- +250 2\.0\.0 .*Message accepted'
if wait_file_grep "$SENDMAIL_MAILBOX" 'sendmail-tag-probe' 10; then
    expect "tag mode: the delivered message has the X-IP25B header" "$SENDMAIL_MAILBOX" \
        '^X-IP25B: .*class=dynamic'
else
    not_ok "tag mode: the message was delivered"
fi

# DNS down, dns_failure = tempfail.
e2e_milter_conf "$conf" "dns=127.0.0.1:$(free_port)" dns_failure=tempfail || exit 1
milter_reload || not_ok "the milter reloads the DNS-down configuration"
smtp_session "$t/dns.txt" "$smtp_port" 127.0.0.10
expect "DNS down, tempfail: 451 4.4.3 at RCPT" "$t/dns.txt" '^<\*\* +451 4\.4\.3 cannot verify'

e2e_finish
