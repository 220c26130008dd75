#!/usr/bin/env bash
# test-install.sh — the install layout, checked from a staged install.
#
# `cmake --install` of the build tree into a temporary DESTDIR, then: the
# layout (sbin, bin, share/ip25b/rules, SYSCONFDIR/ip25b/ip25b.conf, man
# pages), the installed programs run with their default paths (no -c: they
# find the staged config and, through "{rules}", the staged rules), the
# shipped config still works when copied elsewhere, no source-tree path is
# compiled into a program, an empty rule set is refused unless allowed, every
# man page renders without a groff warning, the systemd unit rates <= 2.0 in
# `systemd-analyze security`, and lintian passes on a built .deb if there is
# one (`contrib/dev.sh package`; the fresh-root test is `dev.sh package-test`).
set -uo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:-$src/build}
work=$(mktemp -d "${TMPDIR:-/tmp}/ip25b-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
skip() { # a missing tool: a failure under CI, else a skip of the whole test
    if [ "${CI:-}" = true ]; then bad "$*"; else echo "SKIP: $*"; exit 77; fi
}

for t in ip25b ip25b-milter; do
    [ -x "$build/$t" ] || skip "$build/$t is not built"
done
command -v pandoc >/dev/null || skip "pandoc is missing: no man pages are built"
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (package systemd)"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
sysconf=$(sed -n 's/^CMAKE_INSTALL_SYSCONFDIR:PATH=//p' "$build/CMakeCache.txt")
case $sysconf in /*) ;; *) sysconf=$prefix/$sysconf ;; esac
[ "$prefix" = /usr ] && [ "$sysconf" = /usr/etc ] && sysconf=/etc

# The man target is part of `all`; a ctest run after a partial build may lack it.
cmake --build "$build" --target man >/dev/null 2>&1
dest=$work/root
if DESTDIR=$dest cmake --install "$build" >"$work/install.log" 2>&1; then
    ok "cmake --install into a DESTDIR"
else
    bad "cmake --install failed: $(tail -n 5 "$work/install.log")"
fi
root=$dest$prefix
for f in sbin/ip25b-milter bin/ip25b share/ip25b/rules/allowlist/mta.toml \
    share/man/man8/ip25b-milter.8 share/man/man1/ip25b.1 share/man/man5/ip25b.conf.5 \
    share/man/man5/ip25b-rules.5; do
    [ -f "$root/$f" ] && ok "installed $prefix/$f" || bad "missing $prefix/$f"
done
[ -f "$dest$sysconf/ip25b/ip25b.conf" ] && ok "installed $sysconf/ip25b/ip25b.conf" ||
    bad "missing $sysconf/ip25b/ip25b.conf"
n_src=$(cd "$src/rules" && find . -name '*.toml' | wc -l)
n_inst=$(cd "$root/share/ip25b/rules" && find . -name '*.toml' | wc -l)
[ "$n_src" -eq "$n_inst" ] && ok "all $n_src rule files installed, subdirectories kept" ||
    bad "rules: $n_inst installed of $n_src"
[ -e "$root/bin/ip25b-build-tree.paths" ] && bad "the build-tree paths file was installed"

# No source-tree path in the programs: they must find the installed data.
if [ ! -f "$root/bin/ip25b" ] || [ ! -f "$root/sbin/ip25b-milter" ]; then
    bad "no installed programs to inspect"
elif grep -q -a -F "$src/rules" "$root/bin/ip25b" "$root/sbin/ip25b-milter"; then
    bad "a program has the source tree's rules path compiled in"
else
    ok "no source-tree rules path in the installed programs"
fi

# Default paths: no -c, so the staged config, which names "{rules}/...".
out=$("$root/sbin/ip25b-milter" -n 2>&1)
if [ $? -eq 0 ] && grep -q "$dest$sysconf/ip25b/ip25b.conf OK; [1-9][0-9]* files, [1-9][0-9]* rules" <<<"$out"; then
    ok "installed ip25b-milter -n reads the installed config and rules: $out"
else
    bad "installed ip25b-milter -n: $out"
fi
out=$("$root/bin/ip25b" check --ip 118.8.132.157 --ptr p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp 2>&1)
grep -q "class: *dynamic" <<<"$out" && ok "installed ip25b check uses the installed rules" ||
    bad "installed ip25b check: $out"
grep -q "$dest$sysconf/ip25b/ip25b.conf" <<<"$("$root/bin/ip25b" check --help)" &&
    ok "ip25b check defaults to the installed config" || bad "ip25b check --help names no installed config"

# The shipped config copied to another directory still finds the rules.
mkdir -p "$work/elsewhere"
cp "$dest$sysconf/ip25b/ip25b.conf" "$work/elsewhere/"
out=$("$root/sbin/ip25b-milter" -n -c "$work/elsewhere/ip25b.conf" 2>&1)
[ $? -eq 0 ] && grep -q "[1-9][0-9]* rules" <<<"$out" && ok "the shipped config works from another directory" ||
    bad "shipped config copied elsewhere: $out"

# No rule at all: refused, unless the config says so.
printf '[milter]\nsocket = "inet:1@127.0.0.1"\n' >"$work/empty.conf"
out=$("$root/sbin/ip25b-milter" -n -c "$work/empty.conf" 2>&1)
[ $? -eq 1 ] && grep -q "no rules loaded" <<<"$out" && ok "an empty rule set is refused: $out" ||
    bad "empty rule set accepted: $out"
printf '[rules]\nallow_empty = true\n' >"$work/allowed.conf"
"$root/sbin/ip25b-milter" -n -c "$work/allowed.conf" >/dev/null 2>&1 &&
    ok "rules.allow_empty = true allows it" || bad "rules.allow_empty = true refused"

# Man pages: a NAME line whatis can parse, and no groff warning.
for page in "$root"/share/man/man*/*; do
    name=$(basename "$page")
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
    text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
    if [ -z "$warn" ] && grep -qE "^ +${name%.*} - " <<<"$text"; then
        ok "man $name renders"
    else
        bad "man $name: ${warn:-no NAME line}"
    fi
done

# The unit's sandbox.
score=$(systemd-analyze security --offline=true "$src/contrib/systemd/ip25b-milter.service" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    ok "systemd-analyze security: $score"
else
    bad "systemd-analyze security: ${score:-no score}"
fi

# lintian on the package when one was built.
changes=$(ls "$src"/build-package/ip25b_*.changes 2>/dev/null | head -n1)
if [ -n "$changes" ] && command -v lintian >/dev/null; then
    if lintian --fail-on error,warning "$changes" >"$work/lintian.out" 2>&1; then
        ok "lintian $(basename "$changes")"
    else
        bad "lintian: $(cat "$work/lintian.out")"
    fi
fi

[ "$fails" -eq 0 ]
