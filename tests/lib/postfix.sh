# A private Postfix instance for the integration tests and the benchmark
# (source this file). It never reads or changes the system's /etc/postfix
# configuration or queue: everything lives under the test's WORKDIR.
#
#   postfix_start WORKDIR PORT [MILTER_SPEC] [main.cf line]...
#       smtpd on 127.0.0.1:PORT; MILTER_SPEC ("" for none) goes to
#       smtpd_milters; each further "name = value" argument is set in
#       main.cf with postconf -e, overriding the defaults below.
#       Mail is discarded unless the caller sets "default_transport = capture",
#       which writes each message to WORKDIR/postfix/mail/ (tag mode tests).
#   postfix_stop
#       stops that instance (postfix stop, then the master pid).
#   postfix_reload
#   postfix_log  -> path of the instance's maillog
#
# Sets POSTFIX_DIR (config dir), POSTFIX_MASTER_PID, POSTFIX_MAILDIR,
# POSTFIX_LOG. With POSTFIX_SUBMISSION_PORT set, a second smtpd listens there
# as a submission service (milter_macro_daemon_name = ORIGINATING, as
# Debian's master.cf does for port 587).

_postfix_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=net.sh
. "$_postfix_lib_dir/net.sh"

postfix_start() {
    local work=$1 port=$2 milter=${3:-}
    shift 2
    [ $# -gt 0 ] && shift
    if [ ! -x /usr/sbin/postfix ]; then
        echo "postfix_start: /usr/sbin/postfix is missing (Debian package postfix)" >&2
        return 1
    fi
    local base="$work/postfix"
    POSTFIX_DIR="$base/etc"
    POSTFIX_MAILDIR="$base/mail"
    POSTFIX_LOG="$base/maillog"
    mkdir -p "$POSTFIX_DIR" "$base/spool" "$base/data" "$POSTFIX_MAILDIR"
    # Postfix's daemons run as user postfix and must reach the queue below
    # the test's temp dir.
    chmod 755 "$work" "$base" "$POSTFIX_DIR"
    chown postfix:postfix "$base/data"
    chmod 700 "$base/data"
    chown nobody "$POSTFIX_MAILDIR"
    : >"$POSTFIX_LOG"

    cat >"$POSTFIX_DIR/main.cf" <<EOF
# private test instance, written by tests/lib/postfix.sh
compatibility_level = 3.6
config_directory = $POSTFIX_DIR
queue_directory = $base/spool
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.ip25b.test
mydomain = ip25b.test
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
# all: XCLIENT refuses IPv6 client addresses when Postfix has IPv6 off
inet_protocols = all
# loopback-only instance; XCLIENT may present any address (IPv6 tests)
mynetworks = 0.0.0.0/0 [::]/0
smtpd_banner = \$myhostname ESMTP ip25b-test
biff = no
# the system resolver points off the box: the milter has its own DNS
smtpd_peername_lookup = no
smtp_host_lookup = native
disable_dns_lookups = yes
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit
smtpd_client_restrictions =
smtpd_helo_required = no
# every message is dropped (discard) or written to a file (capture)
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
smtputf8_enable = no
maillog_file = $POSTFIX_LOG
maillog_file_prefixes = $base
smtpd_milters = $milter
milter_default_action = tempfail
milter_protocol = 6
milter_connect_macros = j {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_port} {client_name} {client_ptr} v _
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
milter_connect_timeout = 10s
milter_command_timeout = 20s
# the tests open many short sessions from one address
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
# refused sessions are the point of these tests: no penalty delays
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 100
anvil_rate_time_unit = 60s
queue_run_delay = 10s
EOF
    local line
    for line in "$@"; do
        /usr/sbin/postconf -c "$POSTFIX_DIR" -e "$line" || return 1
    done

    # chroot "n" everywhere: a chrooted smtpd would resolve unix: milter
    # sockets inside the queue directory.
    cat >"$POSTFIX_DIR/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
capture   unix  - n n -  - pipe flags=q user=nobody argv=/bin/sh -c { exec cat > $POSTFIX_MAILDIR/msg.\$\$\$\$ }
EOF
    if [ -n "${POSTFIX_SUBMISSION_PORT:-}" ]; then
        printf '127.0.0.1:%s inet n - n - - smtpd\n  -o milter_macro_daemon_name=ORIGINATING\n' \
            "$POSTFIX_SUBMISSION_PORT" >>"$POSTFIX_DIR/master.cf"
    fi

    if ! /usr/sbin/postfix -c "$POSTFIX_DIR" check >>"$base/start.log" 2>&1 ||
        ! /usr/sbin/postfix -c "$POSTFIX_DIR" start >>"$base/start.log" 2>&1; then
        echo "postfix_start: postfix failed to start:" >&2
        cat "$base/start.log" >&2
        return 1
    fi
    POSTFIX_MASTER_PID=
    local i
    for ((i = 0; i < 100; i++)); do
        POSTFIX_MASTER_PID=$(head -n1 "$base/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
        [ -n "$POSTFIX_MASTER_PID" ] && break
        sleep 0.1
    done
    if [ -z "$POSTFIX_MASTER_PID" ] || ! wait_port 127.0.0.1 "$port" 20 ||
        { [ -n "${POSTFIX_SUBMISSION_PORT:-}" ] && ! wait_port 127.0.0.1 "$POSTFIX_SUBMISSION_PORT" 20; }; then
        echo "postfix_start: no master pid or port $port not listening" >&2
        cat "$base/start.log" "$POSTFIX_LOG" >&2
        postfix_stop
        return 1
    fi
}

postfix_reload() {
    /usr/sbin/postfix -c "$POSTFIX_DIR" reload >/dev/null 2>&1
}

# postfix_set "name = value"...: change main.cf and reload the instance.
postfix_set() {
    local line
    for line in "$@"; do
        /usr/sbin/postconf -c "$POSTFIX_DIR" -e "$line"
    done
    postfix_reload
}

postfix_stop() {
    [ -n "${POSTFIX_DIR:-}" ] || return 0
    /usr/sbin/postfix -c "$POSTFIX_DIR" stop >/dev/null 2>&1 || true
    if [ -n "${POSTFIX_MASTER_PID:-}" ]; then
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$POSTFIX_MASTER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$POSTFIX_MASTER_PID" 2>/dev/null || true
    fi
    POSTFIX_MASTER_PID=
}
