#!/usr/bin/env bash
# Accuracy benchmark: how ip25b and three other dynamic-name detectors judge
# the labelled corpus of real PTR names in bench/accuracy/corpus.tsv, side by
# side in one run. Usage: bench/bench-accuracy.sh [BUILD_DIR] (default: build-release).
#
# Contenders (see bench/accuracy/README.md):
#   ip25b        `ip25b check --batch` with the shipped contrib/ip25b.conf
#                (all its rules and actions): refused = reject or tempfail
#   fqrdns       ../shared/data/fqrdns.pcre through `ip25b match`; a match is REJECT
#   s25r         rules/generic/s25r.toml through `ip25b match`; a match is 450 (tempfail)
#   spamassassin RDNS_DYNAMIC from the installed SpamAssassin rules, evaluated by
#                bench/accuracy/sa-rdns-dynamic.pl; it only scores, so a hit is "flagged"
# Prints counts and percentages per label, then ip25b's failures per label.
# Exits non-zero only when the harness cannot run (a tool missing or failing,
# output not lining up with the corpus), never because of accuracy.
# Environment: BENCH_ACCURACY_CORPUS (corpus file), BENCH_ACCURACY_JSON (also
# write the counts as JSON there), SA_RULES_DIR, IP25B_SHARED_DIR,
# BENCH_ACCURACY_FAILURES (max failures listed per label, default 40; 0 = all).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-release}
shared=${IP25B_SHARED_DIR:-$here/../shared}
ip25b="$build/ip25b"
corpus=${BENCH_ACCURACY_CORPUS:-$here/bench/accuracy/corpus.tsv}
fail() { echo "bench-accuracy: $*" >&2; exit 2; }

[ -x "$ip25b" ] || fail "no $ip25b: build first"
"$ip25b" check --help 2>/dev/null | grep -q -- --batch || fail "$ip25b check has no --batch"
[ -r "$corpus" ] || fail "no corpus $corpus"
[ -r "$shared/data/fqrdns.pcre" ] || fail "no $shared/data/fqrdns.pcre (set IP25B_SHARED_DIR)"
command -v perl >/dev/null || fail "perl missing"
command -v python3 >/dev/null || fail "python3 missing"
sa_rules=${SA_RULES_DIR:-}
if [ -z "$sa_rules" ]; then
    # Debian's package copy, or the newest sa-update download when there is one.
    for d in /var/lib/spamassassin/*/updates_spamassassin_org /usr/share/spamassassin; do
        [ -r "$d/20_dynrdns.cf" ] && sa_rules=$d
    done
fi
[ -n "$sa_rules" ] && [ -r "$sa_rules/20_dynrdns.cf" ] ||
    fail "no SpamAssassin rules (20_dynrdns.cf): apt-get install spamassassin, or set SA_RULES_DIR"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "IP PTR" per corpus line; a name without an address from its source gets a
# documentation address (RFC 5737), so address-based evidence cannot help it.
python3 "$here/bench/accuracy/score.py" inputs "$corpus" >"$tmp/input.txt"
cut -d' ' -f2 "$tmp/input.txt" >"$tmp/names.txt"

"$ip25b" check --batch "$tmp/input.txt" -c "$here/contrib/ip25b.conf" >"$tmp/ip25b.jsonl" 2>"$tmp/ip25b.err" ||
    fail "ip25b check --batch failed: $(head -5 "$tmp/ip25b.err")"
"$ip25b" match -t "pcre:$shared/data/fqrdns.pcre" <"$tmp/names.txt" >"$tmp/fqrdns.txt" 2>"$tmp/fqrdns.err" ||
    fail "ip25b match fqrdns.pcre failed: $(head -5 "$tmp/fqrdns.err")"
"$ip25b" match -t "$here/rules/generic/s25r.toml" <"$tmp/names.txt" >"$tmp/s25r.txt" 2>"$tmp/s25r.err" ||
    fail "ip25b match s25r.toml failed: $(head -5 "$tmp/s25r.err")"
perl "$here/bench/accuracy/sa-rdns-dynamic.pl" "$sa_rules" <"$tmp/input.txt" >"$tmp/sa.txt" 2>"$tmp/sa.err" ||
    fail "sa-rdns-dynamic.pl failed: $(head -5 "$tmp/sa.err")"

echo "bench-accuracy: corpus $corpus; ip25b $ip25b with contrib/ip25b.conf;"
echo "  fqrdns $shared/data/fqrdns.pcre; s25r rules/generic/s25r.toml; SpamAssassin rules $sa_rules"
[ -s "$tmp/sa.err" ] && sed 's/^/  /' "$tmp/sa.err"
python3 "$here/bench/accuracy/score.py" score "$corpus" "$tmp" ${BENCH_ACCURACY_JSON:+--json "$BENCH_ACCURACY_JSON"}
