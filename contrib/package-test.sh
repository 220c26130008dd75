#!/usr/bin/env bash
# package-test.sh OUT_DIR — the built .deb in a brand-new Debian 12, end to end.
# Run through `contrib/dev.sh package-test` (needs root: debootstrap, chroot).
#
#  1. A minimal Debian 12 (debootstrap --variant=minbase) plus Postfix and
#     logrotate, cached as OUT_DIR/bookworm-base.tar; every run unpacks a
#     fresh root from it, mounts /proc, /dev and a new /run, and unmounts at exit.
#  2. `apt-get install ./ip25b_*.deb` inside it (dependencies from deb.debian.org).
#  3. The daemon started the packaged way: the unit's ExecStartPre/ExecStart, as
#     its User=, with RuntimeDirectory=/LogsDirectory= created as systemd does
#     and its UMask=. DNS: NSD on the host's loopback with PTR zones; the
#     packaged config is edited only to point [dns] servers at it.
#  4. Postfix in the root (smtpd not chrooted, the postfix user in group ip25b)
#     uses the milter through /run/ip25b/ip25b.sock; XCLIENT from loopback
#     presents a dynamic client (550 expected) and a static one (250).
#  5. A decision record is written; `logrotate -f` + the postrotate USR1 rotate it
#     and the next record goes to the new file.
#  6. `ip25b status` shows counters (when the installed ip25b has that command).
#  7. `dpkg --purge ip25b` + autoremove: the file list equals the one before the install.
# Everything listens on 127.0.0.1 only. Prints a report; exit 0 when all passed.
set -uo pipefail
out=$(cd "${1:?usage: package-test.sh OUT_DIR}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
[ "$(id -u)" -eq 0 ] || { echo "package-test: needs root (debootstrap, chroot)" >&2; exit 1; }
mirror=${IP25B_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=$out/bookworm-base.tar
root=$out/root
work=$out/package-test
# shellcheck source=../tests/lib/dns-server.sh
. "$here/tests/lib/dns-server.sh"
. "$here/tests/lib/net.sh"

report=()
fails=0
ok() { report+=("ok   - $*"); echo "ok   - $*"; }
bad() { report+=("FAIL - $*"); echo "FAIL - $*"; fails=$((fails + 1)); }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }

mounted=()
milter_pid=
cleanup() {
    set +e
    [ -n "$milter_pid" ] && stop_pid "$milter_pid" 10
    [ -x "$root/usr/sbin/postfix" ] && [ -e "$root/proc/self" ] && in_root postfix stop >/dev/null 2>&1
    dns_server_stop
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_root() {
    mount -t proc proc "$root/proc" && mounted+=("$root/proc")
    mount --bind /dev "$root/dev" && mounted+=("$root/dev")
    mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 && mounted+=("$root/dev/pts")
    mount -t tmpfs -o mode=0755 tmpfs "$root/run" && mounted+=("$root/run")
    cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# 1. The cached base system.
if [ ! -s "$cache" ]; then
    echo "package-test: debootstrap bookworm into $out/base (cached as $cache)"
    rm -rf "$out/base"
    debootstrap --variant=minbase bookworm "$out/base" "$mirror" >"$out/debootstrap.log" 2>&1 ||
        { tail -n 20 "$out/debootstrap.log"; exit 1; }
    root=$out/base
    mount_root
    # No service starts inside the chroot: the test starts what it needs.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    echo "postfix postfix/main_mailer_type select No configuration" | in_root debconf-set-selections
    in_root apt-get update -q >/dev/null &&
        in_root apt-get install -y -q --no-install-recommends postfix logrotate >>"$out/debootstrap.log" 2>&1 ||
        { tail -n 20 "$out/debootstrap.log"; exit 1; }
    in_root logrotate /etc/logrotate.conf # its state file exists before the package comes
    in_root apt-get clean
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}"; done
    mounted=()
    rm -f "$out/base/etc/resolv.conf"
    tar -C "$out/base" -cf "$cache" . && rm -rf "$out/base"
    root=$out/root
fi
deb=$(ls "$out"/ip25b_*_amd64.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "package-test: no $out/ip25b_*_amd64.deb; run contrib/dev.sh package" >&2; exit 1; }
rm -rf "$root" "$work"
mkdir -p "$root" "$work"
tar -C "$root" -xf "$cache"
mount_root
t_base=$(date +%s)

# Postfix was installed with "No configuration": start from Debian's own main.cf.
[ -e "$root/etc/postfix/main.cf" ] || cp "$root/usr/share/postfix/main.cf.debian" "$root/etc/postfix/main.cf"

# What the comparison after the purge ignores: apt's and dpkg's own books,
# Postfix's queue and logs, the kernel file systems, adduser's lock file in
# /run (a tmpfs, as on a booted system).
snapshot() {
    (cd "$root" && find . \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./var/cache/apt \
        -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./var/log/apt \
        -o -path ./var/spool/postfix -o -path ./var/lib/postfix -o -path ./var/cache/debconf \
        -o -path ./var/cache/ldconfig -o -path ./tmp \) -prune -o -print) |
        grep -vE '^\./var/log/(dpkg|alternatives|postfix)\.log$|^\./run/adduser$' | sort
}
snapshot >"$work/before.list"

# 2. Install the package as an operator would.
cp "$deb" "$root/tmp/"
in_root apt-get update -q >/dev/null 2>&1
if in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$work/apt.log" 2>&1; then
    ok "apt-get install ./$(basename "$deb") in a fresh Debian 12"
else
    bad "apt-get install: $(tail -n 10 "$work/apt.log")"
    exit 1
fi
getent_root() { in_root getent "$@" >/dev/null; }
getent_root passwd ip25b && getent_root group ip25b && ok "system user and group ip25b" || bad "no ip25b user/group"
unit=$(ls "$root"/lib/systemd/system/ip25b-milter.service "$root"/usr/lib/systemd/system/ip25b-milter.service 2>/dev/null | head -n1)
[ -n "$unit" ] && ok "unit ${unit#"$root"}" || bad "no ip25b-milter.service installed"
for f in /etc/ip25b/ip25b.conf /etc/logrotate.d/ip25b-milter /usr/share/man/man8/ip25b-milter.8.gz \
    /usr/share/man/man1/ip25b.1.gz /usr/share/man/man5/ip25b.conf.5.gz /usr/share/man/man5/ip25b-rules.5.gz; do
    [ -e "$root$f" ] || bad "missing $f"
done
grep -qx /etc/ip25b/ip25b.conf "$root/var/lib/dpkg/info/ip25b.conffiles" && ok "/etc/ip25b/ip25b.conf is a conffile" ||
    bad "/etc/ip25b/ip25b.conf is not a conffile"

# 3. DNS on the host's loopback: a dynamic OCN name and a static one, both forward-confirmed.
cat >"$work/118.zone" <<'Z'
$ORIGIN 118.in-addr.arpa.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
157.132.8 IN PTR p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp.
200.132.8 IN PTR mail.example.jp.
Z
cat >"$work/ocn.zone" <<'Z'
$ORIGIN ocn.ne.jp.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
p1157-ipbf5204marunouchi.tokyo IN A 118.8.132.157
Z
cat >"$work/example.zone" <<'Z'
$ORIGIN example.jp.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
mail IN A 118.8.132.200
Z
dns_port=$(dns_free_port)
dns_server_start "$work" "$dns_port" "$work/118.zone" "$work/ocn.zone" "$work/example.zone" ||
    { bad "NSD did not start"; exit 1; }
sed -i "s/^servers = \[\]/servers = [\"127.0.0.1:$dns_port\"]/" "$root/etc/ip25b/ip25b.conf"

# The unit, read as systemd would: ExecStartPre, ExecStart, User, the directories, UMask.
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -n1; }
user=$(unit_value User)
group=$(unit_value Group)
umask_v=$(unit_value UMask)
for d in "/run/$(unit_value RuntimeDirectory):$(unit_value RuntimeDirectoryMode)" \
    "/var/log/$(unit_value LogsDirectory):$(unit_value LogsDirectoryMode)"; do
    install -d "$root${d%%:*}"
    in_root chown "$user:$group" "${d%%:*}"
    chmod "${d##*:}" "$root${d%%:*}"
done
as_service() { in_root setpriv --reuid="$user" --regid="$group" --init-groups /bin/sh -c "umask $umask_v; exec $*"; }
pre=$(unit_value ExecStartPre)
if out=$(as_service "$pre" 2>&1); then ok "ExecStartPre as $user: $out"; else bad "ExecStartPre: $out"; fi
exec_start=$(unit_value ExecStart)
as_service "$exec_start" >"$work/milter.out" 2>&1 &
milter_pid=$!
sock=/run/ip25b/ip25b.sock
for ((i = 0; i < 100; i++)); do [ -S "$root$sock" ] && break; sleep 0.1; done
if [ -S "$root$sock" ]; then
    ok "ExecStart as $user listens on $sock ($(in_root stat -c '%A %U:%G' "$sock"))"
else
    bad "the daemon does not listen: $(tail -n 5 "$work/milter.out")"
    exit 1
fi

# 4. Postfix: smtpd on a free loopback port, not chrooted, the milter through the socket.
smtp_port=$(free_port)
in_root adduser --quiet postfix ip25b
in_root postconf -e "compatibility_level = 3.6" "myhostname = mx.ip25b.test" \
    "mydestination = ip25b.test, localhost" "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
    "local_recipient_maps =" "alias_maps =" "maillog_file = /var/log/postfix.log" \
    "smtpd_milters = unix:$sock" "milter_default_action = tempfail" \
    "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
in_root postconf -M "127.0.0.1:$smtp_port/inet=127.0.0.1:$smtp_port inet n - n - - smtpd"
in_root postconf -M# smtp/inet >/dev/null 2>&1
if in_root postfix start >"$work/postfix.out" 2>&1 && wait_port 127.0.0.1 "$smtp_port" 20; then
    ok "Postfix listens on 127.0.0.1:$smtp_port"
else
    bad "Postfix did not start: $(cat "$work/postfix.out")"
    exit 1
fi
smtp() { # smtp ADDR NAME -> the reply code to RCPT TO
    python3 - "$smtp_port" "$1" "$2" <<'PY'
import smtplib, sys
port, addr, name = sys.argv[1:]
s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
s.ehlo("client.example.net")
s.docmd("XCLIENT", f"ADDR={addr} NAME={name}")
s.ehlo("client.example.net")
s.mail("sender@example.net")
code, msg = s.rcpt("postmaster@ip25b.test")
print(code, msg.decode(errors="replace"))
s.quit()
PY
}
log=$root/var/log/ip25b/decisions.jsonl
reply=$(smtp 118.8.132.157 p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp 2>&1)
[[ $reply == 550* ]] && ok "dynamic client: $reply" || bad "dynamic client: $reply"
reply=$(smtp 118.8.132.200 mail.example.jp 2>&1)
[[ $reply == 250* ]] && ok "static client: $reply" || bad "static client: $reply"

# 5. The record, then rotation by logrotate and its postrotate USR1.
wait_file_grep "$log" '"118.8.132.157"' 10 && ok "decision record in /var/log/ip25b/decisions.jsonl" ||
    bad "no decision record: $(tail -n 5 "$work/milter.out")"
reloads_before=$(grep -c 'reloaded' "$work/milter.out")
if in_root logrotate -f /etc/logrotate.d/ip25b-milter >"$work/logrotate.out" 2>&1 &&
    [ -s "$log.1" ]; then
    ok "logrotate -f moved the log to decisions.jsonl.1"
else
    bad "logrotate: $(cat "$work/logrotate.out")"
fi
# USR1 reopens the log as part of a reload; records of sessions decided before
# it completes still go to the renamed file (nothing is lost), so wait for it.
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c 'reloaded' "$work/milter.out")" -gt "$reloads_before" ] && break
    sleep 0.1
done
reply=$(smtp 118.8.132.157 p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp 2>&1)
if wait_file_grep "$log" '"118.8.132.157"' 10; then
    ok "after USR1 the next record goes to the new decisions.jsonl ($(in_root stat -c '%U:%G %a' "${log#"$root"}"))"
else
    bad "no record in the new file after rotation: $(tail -n 5 "$work/milter.out")"
fi

# 6. Counters from the running daemon (the control socket comes with `ip25b status`).
if in_root ip25b --help 2>/dev/null | grep -qE '^ +status '; then
    if st=$(in_root ip25b status 2>&1) && grep -qiE 'session|decision' <<<"$st"; then
        ok "ip25b status: $(tr '\n' ' ' <<<"$st" | cut -c1-200)"
    else
        bad "ip25b status: $st"
    fi
else
    report+=("SKIP - ip25b status: this ip25b has no status command yet")
fi

# 7. Stop as systemd would (TERM, then RuntimeDirectory removed), purge, compare.
stop_pid "$milter_pid" 45
milter_pid=
rm -rf "$root/run/ip25b"
in_root postfix stop >/dev/null 2>&1
in_root deluser --quiet postfix ip25b >/dev/null 2>&1
sed -i '/^127\.0\.0\.1:[0-9]*[[:space:]]*inet/d' "$root/etc/postfix/master.cf"
if in_root dpkg --purge ip25b >"$work/purge.log" 2>&1 &&
    in_root apt-get -y -q autoremove --purge >>"$work/purge.log" 2>&1; then
    ok "dpkg --purge ip25b (and autoremove of its dependencies)"
else
    bad "purge: $(tail -n 5 "$work/purge.log")"
fi
snapshot >"$work/after.list"
if diff "$work/before.list" "$work/after.list" >"$work/purge.diff"; then
    ok "no file or directory left behind ($(wc -l <"$work/before.list") paths compared)"
else
    bad "left behind or removed after purge: $(tr '\n' ' ' <"$work/purge.diff")"
fi
getent_root passwd ip25b && report+=("note - the ip25b system user stays, as Debian practice is")

end=$(date +%s)
echo
echo "=== package-test report: $(basename "$deb") in Debian 12 ($mirror)"
printf '%s\n' "${report[@]}"
echo "time: $((end - start)) s total, $((t_base - start)) s for the base system ($([ -s "$cache" ] && echo cached))"
[ "$fails" -eq 0 ]
