#!/usr/bin/env bash
# `ip25b lint`: the shipped rules/ lint clean, broken files give the exact
# file:line: reason findings and a non-zero exit.
set -euo pipefail
: "${IP25B_BUILD_DIR:?}" "${IP25B_SOURCE_DIR:?}"
ip25b="$IP25B_BUILD_DIR/ip25b"
cd "$IP25B_SOURCE_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failed() { echo "FAIL: $*" >&2; fail=1; }

# run EXPECTED_RC ARGS...: output in $tmp/out, summary in $tmp/err
run() {
    local want=$1; shift
    local rc=0
    timeout 120 "$ip25b" lint "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || failed "lint $* exited $rc, wanted $want: $(cat "$tmp/out" "$tmp/err")"
}
expect_line() { grep -Fxq -- "$1" "$tmp/out" || failed "missing line: $1 (got: $(cat "$tmp/out"))"; }

# 1. The shipped rules: no error, no warning, every file and example counted.
run 0 --strict rules
[ -s "$tmp/out" ] && failed "shipped rules have findings: $(cat "$tmp/out")"
grep -Eq '^ip25b lint: [0-9]+ files, [0-9]+ rules, [0-9]+ examples: 0 errors, 0 warnings$' "$tmp/err" ||
    failed "summary: $(cat "$tmp/err")"
files=$(find rules -name '*.toml' | wc -l)
grep -q "^ip25b lint: $files files," "$tmp/err" || failed "expected $files files: $(cat "$tmp/err")"

# 2. Broken files: exact findings.
d=tests/data/lint
run 1 "$d/bad-compile.toml"
expect_line "$d/bad-compile.toml:13: pattern of 'unclosed' does not compile: error in regex at offset 25: missing terminating ] for character class"
grep -Eq "^$d/bad-compile.toml:17: pattern of 'nested' hits the PCRE2 match limit" "$tmp/out" ||
    failed "catastrophic pattern not caught: $(cat "$tmp/out")"

run 1 "$d/bad-examples.toml"
expect_line "$d/bad-examples.toml:16: example 'a1.static.example-isp.jp' does not match rule 'wide' (line 13)"
expect_line "$d/bad-examples.toml:18: counter-example 'mail.dyn.example-isp.jp' matches rule 'wide' (line 13)"
expect_line "$d/bad-examples.toml:23: example 'p12.dyn.example-isp.jp' of 'shadowed' is answered by rule 'wide' (line 13) first"
expect_line "$d/bad-examples.toml:29: example 's1.example-isp.jp' does not match rule 'scoped' (line 27) within its ranges"
expect_line "$d/bad-examples.toml:43: example 'x1.example.net' is outside the file's domains"
expect_line "$d/bad-examples.toml:46: match example 'mail.example-isp.jp' is answered by no rule"
expect_line "$d/bad-examples.toml:47: no_match example 'b2.dyn.example-isp.jp' is answered by rule 'wide' (line 13)"
[ "$(wc -l <"$tmp/out")" -eq 9 ] || failed "bad-examples: expected 9 findings: $(cat "$tmp/out")"

run 1 "$d/syntax.toml"
expect_line "$d/syntax.toml:11: unknown key 'patern' in [[dynamic]] (known: id, pattern, ranges, evidence, note, examples, counter_examples, embeds_ip)"

run 1 "$d/overlap"
expect_line "$d/overlap/b.toml:6: domain 'b.shared.example' overlaps 'shared.example' claimed by $d/overlap/a.toml:6"

# 3. Warnings pass unless --strict.
run 0 "$d/unanchored.toml"
expect_line "$d/unanchored.toml:12: warning: pattern of 'no-start' is not anchored at the start (^): it also matches names that merely contain it"
[ "$(wc -l <"$tmp/out")" -eq 4 ] || failed "unanchored: expected 4 warnings: $(cat "$tmp/out")"
run 1 --strict "$d/unanchored.toml"

# 4. Bad input: missing path, NUL byte, invalid UTF-8, a 64 KiB line, a huge file.
run 1 "$tmp/missing.toml"
expect_line "$tmp/missing.toml: no such file or directory"
printf 'format = 1\nkind = "isp"\x00\n' >"$tmp/nul.toml"
run 1 "$tmp/nul.toml"
expect_line "$tmp/nul.toml:2: NUL byte in file"
printf 'format = 1\n# \xff\xfe\n' >"$tmp/utf8.toml"
run 1 "$tmp/utf8.toml"
expect_line "$tmp/utf8.toml:2: invalid UTF-8"
{ printf 'format = 1\nkind = "isp"\n# '; head -c 65536 /dev/zero | tr '\0' a; printf '\n'; } >"$tmp/long.toml"
run 1 "$tmp/long.toml"
expect_line "$tmp/long.toml:3: line longer than 8192 bytes"
head -c 3000000 /dev/zero | tr '\0' '#' >"$tmp/huge.toml"
run 1 "$tmp/huge.toml"
grep -Fq "$tmp/huge.toml: rule file is over 1 MiB" "$tmp/out" || failed "huge file: $(cat "$tmp/out")"

# 5. One broken file does not hide findings in the others.
mkdir "$tmp/mixed"
cp rules/isp/jp/ocn.toml "$tmp/mixed/"
cp "$d/syntax.toml" "$tmp/mixed/"
run 1 "$tmp/mixed"
expect_line "$tmp/mixed/syntax.toml:11: unknown key 'patern' in [[dynamic]] (known: id, pattern, ranges, evidence, note, examples, counter_examples, embeds_ip)"
grep -q "^ip25b lint: 1 files, 1 rules, 9 examples: 1 errors, 0 warnings$" "$tmp/err" || failed "mixed summary: $(cat "$tmp/err")"

if [ "$fail" -ne 0 ]; then echo "test-lint-shipped: FAILED" >&2; exit 1; fi
echo "test-lint-shipped: ok"
