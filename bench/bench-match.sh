#!/usr/bin/env bash
# Benchmark: ip25b match vs postmap -q - on fqrdns.pcre and the 120,000-name
# corpus, in the same run. Usage: bench/bench-match.sh BUILD_DIR (a Release build).
# Prints lookups/s of each with start-up excluded (an empty-input run is timed
# and subtracted), their ratio, start-up (load + compile) on its own, peak RSS
# and the match counts (which must be identical). Each figure is the median of
# BENCH_RUNS runs (default 5). ip25b is also timed on the corpus repeated
# BENCH_REPEAT times (default 10), because one pass takes only a few tens of
# milliseconds, too close to the timer's and the start-up's noise.
set -euo pipefail
build=${1:?usage: bench/bench-match.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${IP25B_SHARED_DIR:-$here/../shared}
ip25b="$build/ip25b"
runs=${BENCH_RUNS:-5}
repeat=${BENCH_REPEAT:-10}
[ -x "$ip25b" ] || { echo "no $ip25b: build first" >&2; exit 1; }
command -v postmap >/dev/null || { echo "postmap missing: apt-get install postfix postfix-pcre" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/main.cf"
table="pcre:$shared/data/fqrdns.pcre"
python3 "$shared/bench/gen_hostnames.py" --outdir "$tmp" >/dev/null
names="$tmp/hostnames.txt"
n=$(wc -l <"$names")
for _ in $(seq "$repeat"); do cat "$names"; done >"$tmp/repeated.txt"
: >"$tmp/empty.txt"

# run_once OUT INPUT CMD...: prints "seconds peak_kb"
run_once() {
    local out=$1 input=$2
    shift 2
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f %M -o "$tmp/rss" "$@" <"$input" >"$out" 2>/dev/null || true
    t1=$(date +%s.%N)
    echo "$(echo "$t1 - $t0" | bc -l) $(cat "$tmp/rss")"
}
# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A T RSS
measure() { # KEY INPUT CMD...
    local key=$1 input=$2
    shift 2
    : >"$tmp/t.$key"
    : >"$tmp/r.$key"
    for _ in $(seq "$runs"); do
        read -r s kb < <(run_once "$tmp/out.$key" "$input" "$@")
        echo "$s" >>"$tmp/t.$key"
        echo "$kb" >>"$tmp/r.$key"
    done
    T[$key]=$(median <"$tmp/t.$key")
    RSS[$key]=$(median <"$tmp/r.$key")
}

pm=(postmap -c "$tmp" -q - "$table")
ip=("$ip25b" match --table "$table")
# Every shipped rule directory in front of the table, as an operator would load
# them; BENCH_SYNTHETIC=N adds N generated ISP files (bench/gen-synthetic-isp.py)
# to see how the cost grows with the number of files.
all=("$ip25b" match -t "$here/rules/allowlist" -t "$here/rules/isp" -t "$here/rules/cloud")
if [ "${BENCH_SYNTHETIC:-0}" -gt 0 ]; then
    python3 "$here/bench/gen-synthetic-isp.py" "$BENCH_SYNTHETIC" "$tmp/synthetic"
    all+=(-t "$tmp/synthetic")
fi
all+=(--table "$table")
rule_files=$(find "$here/rules/allowlist" "$here/rules/isp" "$here/rules/cloud" -name '*.toml' | wc -l)
[ -d "$tmp/synthetic" ] && rule_files=$((rule_files + $(find "$tmp/synthetic" -name '*.toml' | wc -l)))
# Interleave the tools so both see the same machine load.
measure pm_empty "$tmp/empty.txt" "${pm[@]}"
measure ip_empty "$tmp/empty.txt" "${ip[@]}"
measure pm_full "$names" "${pm[@]}"
measure ip_full "$names" "${ip[@]}"
measure ip_rep "$tmp/repeated.txt" "${ip[@]}"
measure all_empty "$tmp/empty.txt" "${all[@]}"
measure all_rep "$tmp/repeated.txt" "${all[@]}"

pm_matches=$(wc -l <"$tmp/out.pm_full")
ip_matches=$(wc -l <"$tmp/out.ip_full")
LC_ALL=C sort "$tmp/out.pm_full" >"$tmp/pm.sorted"
LC_ALL=C sort "$tmp/out.ip_full" >"$tmp/ip.sorted"
identical=no
cmp -s "$tmp/pm.sorted" "$tmp/ip.sorted" && identical=yes

rate() { echo "$1 / ($2 - $3)" | bc -l; }
pm_rate=$(rate "$n" "${T[pm_full]}" "${T[pm_empty]}")
ip_rate1=$(rate "$n" "${T[ip_full]}" "${T[ip_empty]}")
ip_rate=$(rate "$((n * repeat))" "${T[ip_rep]}" "${T[ip_empty]}")
all_rate=$(rate "$((n * repeat))" "${T[all_rep]}" "${T[all_empty]}")
printf 'ip25b match vs postmap -q - on fqrdns.pcre, %d names, median of %d runs (%s)\n' \
    "$n" "$runs" "$(nproc) cores, $(uname -m)"
printf '%-34s %14s %14s\n' "" "postmap" "ip25b"
printf '%-34s %14.0f %14.0f\n' "lookups/s (start-up excluded)" "$pm_rate" "$ip_rate"
printf '%-34s %14s %14.0f\n' "lookups/s, single corpus pass" "" "$ip_rate1"
printf '%-34s %14.3f %14.3f\n' "start-up: load + compile (s)" "${T[pm_empty]}" "${T[ip_empty]}"
printf '%-34s %14.3f %14.3f\n' "corpus total incl. start-up (s)" "${T[pm_full]}" "${T[ip_full]}"
printf '%-34s %14d %14d\n' "peak RSS (KiB)" "${RSS[pm_full]}" "${RSS[ip_full]}"
printf '%-34s %14d %14d\n' "matching names" "$pm_matches" "$ip_matches"
printf 'ratio (ip25b / postmap lookups/s): %.1fx   answers identical: %s\n' \
    "$(echo "$ip_rate / $pm_rate" | bc -l)" "$identical"
printf 'with %d rule files in front of the table: %.0f lookups/s, start-up %.3f s, peak RSS %d KiB, ratio %.1fx\n' \
    "$rule_files" "$all_rate" "${T[all_empty]}" "${RSS[all_rep]}" "$(echo "$all_rate / $pm_rate" | bc -l)"
[ "$identical" = yes ]
