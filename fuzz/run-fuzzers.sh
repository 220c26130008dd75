#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build and prints one report line per target.
#   fuzz/run-fuzzers.sh BUILD_DIR [LENGTH] [TARGET...]
# LENGTH: a number of executions per target (default 10000000), or seconds with an
# `s` suffix (60s). Targets default to every fuzz/fuzz-*.cpp. Each target first replays
# fuzz/regressions/<target>/* (inputs that once crashed it), then fuzzes from a copy of
# its seed corpus fuzz/corpus/<target>/ (new inputs stay in BUILD_DIR, not the repo).
# Crash inputs are kept in BUILD_DIR/fuzz-work/<target>/; exit 1 if any target crashed. A
# "slow unit" (over 10 s of wall time) counts as a crash only if it replays slowly.
# The report gives the rate per wall-clock second and per CPU second, and the time 10M
# executions take at each (the second is what one dedicated core would take), then
# libFuzzer's final coverage (edges, features) and corpus (inputs/size), and the
# campaign's executions so far.
#
# A campaign may take several runs (a slow target needs CPU-hours): with FUZZ_RESUME=1 a
# run keeps BUILD_DIR/fuzz-work/<target>/corpus from the last one and fuzzes only what the
# campaign still lacks of LENGTH executions. Each run is written to
# fuzz-work/<target>/ledger (start time, binary checksum, executions, crashes); a run cut
# off (the machine stopped, kill) is entered at the next start from its log's last
# status line. Only runs of the same binary count towards one campaign.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-fuzzers.sh BUILD_DIR [LENGTH] [TARGET...]}
length=${2:-10000000}
shift 2 2>/dev/null || shift $#
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$here"/fuzz-*.cpp; do targets+=("$(basename "$f" .cpp | sed 's/^fuzz-//')"); done
fi
case "$length" in
*s) limit=(-max_total_time="${length%s}") ;;
*) limit=(-runs="$length") ;;
esac
# A hostile regex may legitimately take PCRE2's full match limit (seconds), hence -timeout.
common=(-timeout=25 -rss_limit_mb=2560 -print_final_stats=1)
# Every object a target allocates dies within its input, so a 32 MB quarantine still
# catches a use after free; the default 256 MB only makes each allocation touch cold
# memory. Recording an allocation stack at every malloc was the largest single cost of
# the allocation-heavy targets: the fuzzing runs without (malloc_context_size=0), and
# a crash input is replayed with full stacks afterwards ($work/replay-<input>.log).
full_asan=detect_leaks=1:abort_on_error=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-$full_asan:quarantine_size_mb=32:malloc_context_size=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

resume=${FUZZ_RESUME:-0}
# Executions of a log's last libFuzzer status line ("#123456 ...").
last_count() { grep -aoE '^#[0-9]+' "$1" 2>/dev/null | tail -1 | tr -d '#'; }
# The campaign's executions so far: the ledger's runs of binary checksum $2.
campaign() { awk -v sum="$2" '$2 == sum { n += $3 } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }

failed=0
printf '%-16s %12s %9s %10s %12s %8s %13s %13s %6s %7s %-12s %s\n' target executions seconds exec/s \
    exec/cpu-s crashes "10M (wall)" "10M (1 core)" cov ft corpus campaign
for t in "${targets[@]}"; do
    bin="$build/fuzz/fuzz-$t"
    work="$build/fuzz-work/$t"
    if [ ! -x "$bin" ]; then
        echo "run-fuzzers: $bin missing (build target fuzz-all)" >&2
        failed=1
        continue
    fi
    sum=$(sha256sum "$bin" | cut -c1-12)
    mkdir -p "$work"
    if [ -f "$work/running" ]; then # the last run was cut off: enter what it did
        read -r started cut_sum <"$work/running"
        echo "$started $cut_sum $(last_count "$work/fuzz.log") 0 interrupted" >>"$work/ledger"
        rm -f "$work/running"
    fi
    if [ "$resume" = 1 ]; then
        if compgen -G "$work/crashes/*" >/dev/null; then
            echo "run-fuzzers: $t: crash inputs of an earlier run in $work/crashes/: look at them first" >&2
            failed=1
            continue
        fi
    else
        rm -rf "$work/corpus" "$work/crashes" "$work/slow-units" "$work/ledger" # copy crashes first
    fi
    mkdir -p "$work/corpus" "$work/crashes"
    done_before=$(campaign "$work/ledger" "$sum")
    run_limit=("${limit[@]}")
    if [ "$resume" = 1 ] && [ "${limit[0]}" = "-runs=$length" ]; then
        if [ "$done_before" -ge "$length" ]; then
            printf '%-16s %12d %9s %10s %12s %8d %13s %13s %6s %7s %-12s %s\n' "$t" 0 - - - 0 - - - - - \
                "$done_before"
            continue
        fi
        run_limit=(-runs=$((length - done_before)))
    fi
    echo "$(date -u +%FT%TZ) $sum" >"$work/running"
    crashes=0
    # 1. Regression inputs: each must run clean.
    if compgen -G "$here/regressions/$t/*" >/dev/null; then
        if ! "$bin" "${common[@]}" "$here"/regressions/"$t"/* >"$work/regressions.log" 2>&1; then
            echo "run-fuzzers: $t: a regression input crashes again (see $work/regressions.log)" >&2
            crashes=$((crashes + 1))
        fi
    fi
    # 2. Fuzzing from the seed corpus (and, resumed, from the campaign's corpus).
    cp -n "$here/corpus/$t"/* "$work/corpus/" 2>/dev/null
    # CPU time as well as wall time: on a shared machine the wall-clock rate says more
    # about the neighbours than about the target.
    /usr/bin/time -f '%e %U %S' -o "$work/time" \
        "$bin" "${common[@]}" "${run_limit[@]}" -artifact_prefix="$work/crashes/" "$work/corpus" \
        >"$work/fuzz.log" 2>&1
    rc=$?
    read -r wall user sys <"$work/time" || { wall=0; user=0; sys=0; }
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
    execs=${execs:-$(last_count "$work/fuzz.log")} # a crash ends without the final stats
    execs=${execs:-0}
    # A "slow unit" is libFuzzer's note that one input took over 10 s of wall time, and
    # it fuzzes on. On a busy machine that may be the neighbours: replay it, and only if
    # it takes over a CPU second on its own is it a finding (a slow input is a way to
    # stall a load); otherwise it moves to slow-units/ with a line saying so.
    for f in "$work"/crashes/slow-unit-*; do
        [ -f "$f" ] || continue
        /usr/bin/time -f '%U %S' -o "$work/slow.time" "$bin" "${common[@]}" "$f" >/dev/null 2>&1
        read -r su ss <"$work/slow.time" || { su=99; ss=0; }
        if awk -v u="$su" -v s="$ss" 'BEGIN { exit !(u + s < 1) }'; then
            mkdir -p "$work/slow-units"
            mv "$f" "$work/slow-units/"
            took=$(sed -n 's/^Slowest unit: \([0-9]*\) s.*/\1 s/p' "$work/fuzz.log" | tail -1)
            echo "run-fuzzers: $t: $(basename "$f"): $took in the run, replays in $su s CPU:" \
                "the machine was busy, not a finding" >&2
        fi
    done
    found=$(find "$work/crashes" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        crashes=$((crashes + (found > 0 ? found : 1)))
        echo "run-fuzzers: $t: crashed (exit $rc); log $work/fuzz.log, inputs in $work/crashes/" >&2
        grep -m3 -E 'ERROR: |SUMMARY: |runtime error' "$work/fuzz.log" >&2
        for f in "$work"/crashes/*; do
            [ -f "$f" ] || continue
            ASAN_OPTIONS=$full_asan "$bin" "${common[@]}" "$f" >"$work/replay-$(basename "$f").log" 2>&1
            echo "run-fuzzers: $t: $f replayed with allocation stacks: $work/replay-$(basename "$f").log" >&2
        done
    fi
    [ "$crashes" -gt 0 ] && failed=1
    echo "$(cat "$work/running") $execs $crashes $([ "$crashes" -gt 0 ] && echo crashed || echo clean)" \
        >>"$work/ledger"
    rm -f "$work/running"
    # Coverage (edges, features) and corpus (inputs/size) from libFuzzer's last status line.
    read -r cov ft corp < <(grep -aE '^#[0-9]+' "$work/fuzz.log" | tail -1 |
        sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([^ ]+).*/\1 \2 \3/p')
    awk -v t="$t" -v n="$execs" -v d="$wall" -v u="$user" -v s="$sys" -v c="$crashes" \
        -v cov="${cov:--}" -v ft="${ft:--}" -v corp="${corp:--}" \
        -v total="$(campaign "$work/ledger" "$sum")" 'BEGIN {
        cpu = u + s; r = d > 0 ? n / d : 0; rc = cpu > 0 ? n / cpu : 0
        full = r > 0 ? 10000000 / r / 60 : 0; full_cpu = rc > 0 ? 10000000 / rc / 60 : 0
        printf "%-16s %12d %9.1f %10.0f %12.0f %8d %9.1f min %9.1f min %6s %7s %-12s %s\n", t, n,
            d, r, rc, c, full, full_cpu, cov, ft, corp, total }'
done
exit $failed
