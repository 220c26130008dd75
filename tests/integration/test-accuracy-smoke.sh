#!/usr/bin/env bash
# The accuracy benchmark's harness works on the shipped corpus with the
# in-tree build: all four contenders produce a column and every label's
# count adds up to the corpus size. Accuracy itself is not judged here
# (bench/bench-accuracy.sh reports it); only that the numbers exist.
set -euo pipefail
src=${IP25B_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IP25B_BUILD_DIR:?IP25B_BUILD_DIR must name the build directory}
export IP25B_SHARED_DIR=${IP25B_SHARED_DIR:-$src/../shared}

missing=""
[ -r "$IP25B_SHARED_DIR/data/fqrdns.pcre" ] || missing="$missing fqrdns.pcre"
sa=""
for f in "${SA_RULES_DIR:-/nonexistent}/20_dynrdns.cf" /usr/share/spamassassin/20_dynrdns.cf \
    /var/lib/spamassassin/*/updates_spamassassin_org/20_dynrdns.cf; do
    [ -r "$f" ] && sa=$f
done
[ -n "$sa" ] || missing="$missing spamassassin"
command -v perl >/dev/null || missing="$missing perl"
if [ -n "$missing" ]; then
    echo "missing:$missing"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BENCH_ACCURACY_JSON="$work/summary.json" bash "$src/bench/bench-accuracy.sh" "$build" >"$work/out.txt" 2>&1 || {
    echo "FAIL: bench-accuracy.sh exited $?"
    cat "$work/out.txt"
    exit 1
}
corpus_n=$(grep -cv '^#' "$src/bench/accuracy/corpus.tsv")
python3 - "$work/summary.json" "$corpus_n" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
cols = ["ip25b_refused", "ip25b_rejected", "fqrdns_rejected", "s25r_tempfailed", "spamassassin_flagged"]
fails = []
if s["n"] != n:
    fails.append(f"summary covers {s['n']} names, corpus has {n}")
if sum(t["n"] for t in s["labels"].values()) != n:
    fails.append("label counts do not add up to the corpus size")
for label in ("dynamic", "static", "cloud", "mta"):
    t = s["labels"].get(label)
    if not t or t["n"] == 0:
        fails.append(f"no {label} names")
        continue
    for c in cols:
        if c not in t or not 0 <= t[c] <= t["n"]:
            fails.append(f"{label}: column {c} missing or out of range")
    if t["ip25b_rejected"] > t["ip25b_refused"]:
        fails.append(f"{label}: more rejected than refused")
# Each contender must have produced at least one hit somewhere: a column of
# zeros everywhere means its output was not read.
for c in cols:
    if sum(t[c] for t in s["labels"].values()) == 0:
        fails.append(f"column {c} is zero for every label")
for f in fails:
    print("FAIL:", f)

sys.exit(1 if fails else 0)
PY
grep -q '^dynamic' "$work/out.txt" && grep -q 'ip25b failures' "$work/out.txt" || {
    echo "FAIL: table or failure list missing"
    cat "$work/out.txt"
    exit 1
}
echo "accuracy harness: $corpus_n names, all columns computed"
