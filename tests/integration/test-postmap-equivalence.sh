#!/usr/bin/env bash
# ip25b match against the real postmap: fqrdns.pcre over the 120,000-name
# corpus and a regexp: table must give byte-identical answers (after sorting);
# hostile input is refused line by line, bad tables are reported file:line.
set -euo pipefail
: "${IP25B_BUILD_DIR:?}" "${IP25B_SOURCE_DIR:?}" "${IP25B_SHARED_DIR:?}"
ip25b="$IP25B_BUILD_DIR/ip25b"
command -v postmap >/dev/null || { echo "postmap missing: install postfix postfix-pcre" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# postmap needs a main.cf; an empty one in a private config directory will do.
touch "$tmp/main.cf"
postmap_q() { timeout 300 postmap -c "$tmp" -q - "$1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. fqrdns.pcre over the corpus.
python3 "$IP25B_SHARED_DIR/bench/gen_hostnames.py" --outdir "$tmp" >/dev/null
[ "$(wc -l <"$tmp/hostnames.txt")" -eq 120000 ] || fail "corpus size"
table="pcre:$IP25B_SHARED_DIR/data/fqrdns.pcre"
timeout 300 "$ip25b" match --table "$table" <"$tmp/hostnames.txt" | LC_ALL=C sort >"$tmp/ours"
postmap_q "$table" <"$tmp/hostnames.txt" 2>/dev/null | LC_ALL=C sort >"$tmp/theirs"
cmp "$tmp/ours" "$tmp/theirs" || fail "fqrdns.pcre answers differ from postmap"
[ "$(wc -l <"$tmp/ours")" -gt 40000 ] || fail "too few matches"
echo "fqrdns.pcre: $(wc -l <"$tmp/ours") identical answers"

# 2. A regexp: table (POSIX ERE) of our own, names hitting every rule.
cat >"$tmp/names" <<'NAMES'
c-98-207-1-2.hsd1.ca.comcast.net
s-1-2-3-4.hsd1.wa.comcast.net
pool-1-2-3-4.nycmny.fios.verizon.net
cpe-66-1-2-3.nyc.res.rr.com
mail.res.rr.com
www.example.org
web1.example.org
p5DE0A1B2.dip0.t-ipconnect.de
P5DE0A1B2.dip0.t-ipconnect.de
0a1b2c3d.cable.ziggo.nl
softbank221110223044.bbtec.net
YahooBB221110223044.bbtec.net
host1-2-dynamic.example.it
nothing.example.com
NAMES
rtable="regexp:$IP25B_SOURCE_DIR/tests/data/sample.regexp"
"$ip25b" match --table "$rtable" <"$tmp/names" | LC_ALL=C sort >"$tmp/rours"
postmap_q "$rtable" <"$tmp/names" 2>/dev/null | LC_ALL=C sort >"$tmp/rtheirs"
cmp "$tmp/rours" "$tmp/rtheirs" || { diff "$tmp/rours" "$tmp/rtheirs" >&2; fail "regexp: answers differ"; }
[ "$(wc -l <"$tmp/rours")" -ge 10 ] || fail "regexp: too few matches"
echo "regexp: table: $(wc -l <"$tmp/rours") identical answers"

# 2b. Random small tables (both dialects) against postmap, a differential
# check of the table reader's corner cases.
mkdir "$tmp/rand"
for seed in $(seq 1 "${IP25B_RANDOM_TABLES:-60}"); do
    python3 "$IP25B_SOURCE_DIR/tests/lib/random-postfix-table.py" "$seed" "$tmp/rand"
    for type in pcre regexp; do
        "$ip25b" match --table "$type:$tmp/rand/t.table" <"$tmp/rand/names" 2>/dev/null |
            LC_ALL=C sort >"$tmp/rand/ours" || true
        postmap_q "$type:$tmp/rand/t.table" <"$tmp/rand/names" 2>/dev/null |
            LC_ALL=C sort >"$tmp/rand/theirs" || true
        cmp -s "$tmp/rand/ours" "$tmp/rand/theirs" || {
            cat "$tmp/rand/t.table" >&2
            diff "$tmp/rand/ours" "$tmp/rand/theirs" | head >&2
            fail "random $type table, seed $seed: answers differ from postmap"
        }
    done
done
echo "random tables: ${IP25B_RANDOM_TABLES:-60} x pcre/regexp identical to postmap"

# 3. Hostile input: each bad line is refused with its number, the rest answered.
python3 - "$tmp/bad" <<'PY'
import sys
lines = [b"c-1-2-3-4.hsd1.ca.comcast.net",          # 1 ok
         b"nul\x00byte.example.com",                 # 2 NUL
         b"caf\xc3\xa9.example.jp",                  # 3 valid UTF-8, not a host name
         b"bad\xff\xfeutf8.example.jp",              # 4 invalid UTF-8
         b"a" * 70000,                               # 5 64 KiB+ line
         b".".join([b"abcdefgh"] * 30),              # 6 name over 253 bytes
         b"x" * 64 + b".example.jp",                 # 7 label over 63
         b"",                                        # 8 empty
         b"0a1b2c3d.cable.ziggo.nl"]                 # 9 ok
open(sys.argv[1], "wb").write(b"\n".join(lines))     # no final newline
PY
set +e
timeout 60 "$ip25b" match --table "$table" <"$tmp/bad" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
set -e
[ $rc -eq 0 ] || fail "hostile input: exit $rc"
grep -q '^c-1-2-3-4.hsd1.ca.comcast.net	' "$tmp/bad.out" || fail "line 1 not answered"
grep -q '^0a1b2c3d.cable.ziggo.nl	' "$tmp/bad.out" || fail "last line (no newline) not answered"
[ "$(wc -l <"$tmp/bad.out")" -eq 2 ] || fail "refused lines were answered"
for n in 2 3 4 5 6 7 8; do
    grep -q "stdin:$n: refused" "$tmp/bad.err" || fail "line $n not refused"
done
grep -q 'stdin:5: refused: name over 253 bytes (70000)' "$tmp/bad.err" || fail "64 KiB line message"
grep -q 'stdin:7: refused: label over 63' "$tmp/bad.err" || fail "label message"
echo "hostile input: 7 lines refused with their numbers"

# 4. Malformed tables: Postfix-style warnings with file:line; --strict refuses.
printf '/^ok$/ ok\n/^bad(/ broken\n/^q$/z flag\n' >"$tmp/bad.pcre"
echo ok | "$ip25b" match --table "pcre:$tmp/bad.pcre" >"$tmp/t.out" 2>"$tmp/t.err"
grep -q "bad.pcre:2: error in regex" "$tmp/t.err" || fail "bad regex not reported with line"
grep -q "bad.pcre:3: unknown regexp option" "$tmp/t.err" || fail "bad flag not reported with line"
grep -q '^ok	ok$' "$tmp/t.out" || fail "good rule of a partly bad table not used"
set +e
echo ok | "$ip25b" match --strict --table "pcre:$tmp/bad.pcre" >/dev/null 2>"$tmp/s.err"
rc=$?
"$ip25b" match --table "pcre:$tmp/missing.pcre" </dev/null 2>"$tmp/m.err"
rc2=$?
set -e
[ $rc -eq 2 ] && grep -q "bad.pcre:2:" "$tmp/s.err" || fail "--strict did not refuse the table"
[ $rc2 -eq 2 ] && grep -q "missing.pcre: cannot open table" "$tmp/m.err" || fail "missing table"
echo "malformed tables: reported with file:line"

# 5. A catastrophic pattern ends at the PCRE2 limit, the next rule answers.
printf '/^([a-z.]+)+x$/ boom\n/b$/ bang\n' >"$tmp/evil.pcre"
python3 -c 'print("a" * 60 + "." + "a" * 60 + ".b")' >"$tmp/evil.in"
out=$(timeout 30 "$ip25b" match --table "pcre:$tmp/evil.pcre" <"$tmp/evil.in" | cut -f2)
[ "$out" = "bang" ] || fail "catastrophic pattern: got '$out'"
echo "catastrophic pattern: cut off, next rule answered"
echo "PASS"
