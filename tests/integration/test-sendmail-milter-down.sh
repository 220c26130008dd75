#!/usr/bin/env bash
# Milter down, Sendmail side: the filter's F= flag decides (T: tempfail,
# R: reject, none: accept). The filter points at a port where nothing listens.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/sendmail.sh"
sendmail_prepare || e2e_skip "cannot unpack Sendmail (apt-get download failed)"

dead_port=$(free_port)
run() { # run FLAG NAME: one session; the transcript's path goes to $out
    local port
    out=$E2E_WORK/$2.txt
    : >"$out"
    port=$(free_port)
    sendmail_start "$E2E_WORK/$2" "$port" "inet:$dead_port@127.0.0.1" "$1" || {
        not_ok "$2: Sendmail starts"
        return 1
    }
    smtp_session "$out" "$port" 127.0.0.10
    sendmail_stop
}
e2e_on_exit sendmail_stop

run T tempfail
expect "F=T: the client gets 4xx" "$out" '^<\*\* +4[0-9][0-9] '
expect_not "F=T: nothing accepted" "$out" 'Message accepted'
run R reject
expect "F=R: the client gets 5xx" "$out" '^<\*\* +5[0-9][0-9] '
expect_not "F=R: nothing accepted" "$out" 'Message accepted'
run "" accept
expect "no flag: the message is accepted" "$out" '^<- +250 2\.0\.0 .*Message accepted'

e2e_finish
