# A real Sendmail for the integration tests (source this file).
#
# Debian's sendmail-bin conflicts with postfix, so the suite never installs
# it: it downloads sendmail-bin, sendmail-base and sendmail-cf with
# `apt-get download` into a cache directory, unpacks them with `dpkg -x`,
# builds a private .cf with m4 and runs the daemon from there.
#
#   sendmail_prepare            download + unpack once (cached); sets SENDMAIL_ROOT
#   sendmail_start WORKDIR PORT [MILTER_SPEC [MILTER_FLAGS]]
#       Sendmail on 127.0.0.1:PORT with INPUT_MAIL_FILTER(ip25b) on
#       MILTER_SPEC (e.g. inet:8899@127.0.0.1; "" for no milter).
#       MILTER_FLAGS is the F= of the filter: "T" (tempfail when the
#       milter is down, the default), "R" (reject) or "" (accept).
#       Messages are appended to WORKDIR/sendmail/mail/all.
#   sendmail_stop
#
# Sets SENDMAIL_PID, SENDMAIL_MAILBOX. With SENDMAIL_MSA_PORT set, a second
# daemon named MSA listens there ({daemon_name} = MSA, a submission service).
#
# Facts this relies on (checked on Debian 12, Sendmail 8.17.1.9):
# - with an unqualified host name Sendmail sleeps 60 s before it listens,
#   before it reads any config: it runs in a UTS namespace whose host
#   name is dotted;
# - -bD keeps it in the foreground, so the pid we hold is the daemon's;
# - it refuses relaying before the milter's RCPT step: promiscuous_relay
#   (this instance listens on 127.0.0.1 only);
# - the built-in discard mailer cannot be used from the routing rules: a
#   custom mailer writes each message to a file (the tag tests read it).

_sendmail_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=net.sh
. "$_sendmail_lib_dir/net.sh"

SENDMAIL_CACHE=${SENDMAIL_CACHE:-/var/tmp/ip25b-sendmail}

sendmail_prepare() {
    SENDMAIL_ROOT=$SENDMAIL_CACHE/root
    mkdir -p "$SENDMAIL_CACHE" || return 1
    # Tests may run in parallel (ctest -j): one downloads, the others wait.
    (
        flock -w 300 9 || { echo "sendmail_prepare: $SENDMAIL_CACHE is locked" >&2; exit 1; }
        _sendmail_unpack
    ) 9>"$SENDMAIL_CACHE/.lock"
}

_sendmail_unpack() {
    if [ -x "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" ] &&
        [ -f "$SENDMAIL_ROOT/usr/share/sendmail/cf/m4/cf.m4" ]; then
        return 0
    fi
    command -v m4 >/dev/null || {
        echo "sendmail_prepare: m4 is missing (Debian package m4)" >&2
        return 1
    }
    mkdir -p "$SENDMAIL_CACHE"
    local tmp
    tmp=$(mktemp -d "$SENDMAIL_CACHE/dl.XXXXXX")
    if ! (cd "$tmp" && timeout 300 apt-get download -q sendmail-bin sendmail-base sendmail-cf) \
        >"$tmp/download.log" 2>&1; then
        echo "sendmail_prepare: apt-get download failed:" >&2
        cat "$tmp/download.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    local deb
    for deb in "$tmp"/*.deb; do
        dpkg -x "$deb" "$tmp/root" || {
            rm -rf "$tmp"
            return 1
        }
    done
    rm -rf "$SENDMAIL_ROOT"
    mv "$tmp/root" "$SENDMAIL_ROOT"
    rm -rf "$tmp"
    if ldd "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" | grep -q 'not found'; then
        echo "sendmail_prepare: libraries missing (libwrap0?):" >&2
        ldd "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" | grep 'not found' >&2
        return 1
    fi
}

sendmail_start() {
    local work=$1 port=$2 milter=${3:-} mflags=${4-T}
    sendmail_prepare || return 1
    local base="$work/sendmail"
    SENDMAIL_MAILBOX="$base/mail/all"
    mkdir -p "$base/queue" "$base/mail"
    # Sendmail refuses group/world-writable paths to its queue and files.
    chmod 755 "$work" "$base"
    chmod 700 "$base/queue"
    : >"$SENDMAIL_MAILBOX"
    : >"$base/aliases"
    printf 'hosts files\naliases files\n' >"$base/service.switch"
    printf '127.0.0.1 localhost mx.ip25b.test\n' >"$base/hosts"

    local filter=""
    if [ -n "$milter" ]; then
        filter="INPUT_MAIL_FILTER(\`ip25b', \`S=$milter, F=$mflags, T=C:10s;S:10s;R:20s;E:1m')"
    fi
    local msa=""
    if [ -n "${SENDMAIL_MSA_PORT:-}" ]; then
        msa="DAEMON_OPTIONS(\`Port=$SENDMAIL_MSA_PORT, Addr=127.0.0.1, Name=MSA')dnl"
    fi
    local cfdir="$SENDMAIL_ROOT/usr/share/sendmail/cf"
    cat >"$base/sendmail.mc" <<EOF
divert(-1)
# private test instance, written by tests/lib/sendmail.sh
divert(0)dnl
VERSIONID(\`ip25b test instance')
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.ip25b.test')dnl
define(\`QUEUE_DIR', \`$base/queue')dnl
define(\`confPID_FILE', \`$base/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$base/aliases')dnl
define(\`STATUS_FILE', \`$base/statistics')dnl
define(\`confSERVICE_SWITCH_FILE', \`$base/service.switch')dnl
define(\`confHOSTS_FILE', \`$base/hosts')dnl
define(\`confHELP_FILE', \`$base/helpfile')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confREFUSE_LA', \`999')dnl
define(\`confQUEUE_LA', \`999')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confMAX_DAEMON_CHILDREN', \`64')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confDEF_USER_ID', \`65534:65534')dnl
define(\`confMILTER_LOG_LEVEL', \`9')dnl
define(\`confMILTER_MACROS_CONNECT', \`j, _, {daemon_name}, {daemon_port}, {if_name}, {if_addr}, {client_addr}, {client_port}, {client_name}, {client_ptr}, {client_resolve}')dnl
define(\`confMILTER_MACROS_ENVFROM', \`i, {auth_type}, {auth_authen}, {auth_ssf}, {auth_author}, {mail_mailer}, {mail_host}, {mail_addr}')dnl
define(\`SMART_HOST', \`ip25bfile:[127.0.0.1]')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`nocanonify')dnl
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
$msa
$filter
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MAILER_DEFINITIONS
Mip25bfile, P=/bin/sh, F=lsSDFMqh, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP/HdrFromSMTP,
	A=sh -c cat>>$SENDMAIL_MAILBOX \$u
EOF
    if ! m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$base/sendmail.mc" >"$base/sendmail.cf" 2>"$base/m4.log"; then
        echo "sendmail_start: m4 failed:" >&2
        cat "$base/m4.log" >&2
        return 1
    fi
    local sm="$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail"
    # A dotted host name in a private UTS namespace: see the note above.
    unshare --uts sh -c 'hostname mx.ip25b.test && exec "$0" "$@"' \
        "$sm" -C "$base/sendmail.cf" -bD -L sm-ip25b-test -O LogLevel=9 \
        >"$base/sendmail.out" 2>&1 &
    SENDMAIL_PID=$!
    if ! wait_port 127.0.0.1 "$port" 30 ||
        { [ -n "${SENDMAIL_MSA_PORT:-}" ] && ! wait_port 127.0.0.1 "$SENDMAIL_MSA_PORT" 10; }; then
        echo "sendmail_start: Sendmail does not listen on $port:" >&2
        cat "$base/sendmail.out" >&2
        sendmail_stop
        return 1
    fi
}

sendmail_stop() {
    [ -n "${SENDMAIL_PID:-}" ] || return 0
    stop_pid "$SENDMAIL_PID" 10
    SENDMAIL_PID=
}
