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
#
# FUZZ_PROCS=N runs each target as N processes of the same binary on one corpus
# directory (libFuzzer reloads it, as its own -jobs workers do), each with 1/N of the
# executions: a slow target then has every core. Their logs are fuzz.log, fuzz.2.log, …;
# the report and the ledger give their sum.
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
procs=${FUZZ_PROCS:-1}
[[ "$procs" =~ ^[1-9][0-9]?$ ]] || { echo "run-fuzzers: FUZZ_PROCS must be 1 to 99, not $procs" >&2; exit 2; }
# Executions of a log's last libFuzzer status line ("#123456 ...").
last_count() { grep -aoE '^#[0-9]+' "$1" 2>/dev/null | tail -1 | tr -d '#'; }
# Executions of one process: its final stats, or a crashed or cut-off run's last status.
log_count() {
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" 2>/dev/null | tail -1)
    n=${n:-$(last_count "$1")}
    echo "${n:-0}"
}
# Process I's log (1 keeps the name a single process has always had).
log_of() { if [ "$2" = 1 ]; then echo "$1/fuzz.log"; else echo "$1/fuzz.$2.log"; fi; }
# Executions of the last run: the sum over its processes' logs.
run_count() {
    local n=0 f
    for f in "$1"/fuzz.log "$1"/fuzz.*.log; do [ -f "$f" ] && n=$((n + $(log_count "$f"))); done
    echo "$n"
}
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
        echo "$started $cut_sum $(run_count "$work") 0 interrupted" >>"$work/ledger"
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
    rm -f "$work"/fuzz.*.log "$work"/time.*
    done_before=$(campaign "$work/ledger" "$sum")
    run_limit=("${limit[@]}")
    if [ "${limit[0]}" = "-runs=$length" ]; then
        todo=$length
        if [ "$resume" = 1 ]; then
            if [ "$done_before" -ge "$length" ]; then
                printf '%-16s %12d %9s %10s %12s %8d %13s %13s %6s %7s %-12s %s\n' "$t" 0 - - - 0 - - - - - \
                    "$done_before"
                continue
            fi
            todo=$((length - done_before))
        fi
        run_limit=(-runs=$(((todo + procs - 1) / procs)))
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
    pids=()
    for i in $(seq 1 "$procs"); do
        /usr/bin/time -f '%e %U %S' -o "$work/time.$i" \
            "$bin" "${common[@]}" "${run_limit[@]}" -artifact_prefix="$work/crashes/" "$work/corpus" \
            >"$(log_of "$work" "$i")" 2>&1 &
        pids+=($!)
    done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    # Wall time is the longest process's; CPU time the sum.
    read -r wall user sys < <(cat "$work"/time.* 2>/dev/null |
        awk '{ if ($1 > w) w = $1; u += $2; s += $3 } END { print w + 0, u + 0, s + 0 }')
    execs=$(run_count "$work")
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
        echo "run-fuzzers: $t: crashed (exit $rc); logs $work/fuzz*.log, inputs in $work/crashes/" >&2
        cat "$work"/fuzz.log "$work"/fuzz.*.log 2>/dev/null | grep -m3 -E 'ERROR: |SUMMARY: |runtime error' >&2
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
    # Coverage (edges, features) and corpus (inputs/size) from libFuzzer's last status
    # line; of several processes, the one that saw the most features.
    read -r cov ft corp < <(for f in "$work"/fuzz.log "$work"/fuzz.*.log; do
        [ -f "$f" ] && grep -aE '^#[0-9]+' "$f" | tail -1; done |
        sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([^ ]+).*/\1 \2 \3/p' | sort -k2,2n | tail -1)
    awk -v t="$t" -v n="$execs" -v d="$wall" -v u="$user" -v s="$sys" -v c="$crashes" \
        -v cov="${cov:--}" -v ft="${ft:--}" -v corp="${corp:--}" \
        -v total="$(campaign "$work/ledger" "$sum")" 'BEGIN {
        cpu = u + s; r = d > 0 ? n / d : 0; rc = cpu > 0 ? n / cpu : 0
        full = r > 0 ? 10000000 / r / 60 : 0; full_cpu = rc > 0 ? 10000000 / rc / 60 : 0
        printf "%-16s %12d %9.1f %10.0f %12.0f %8d %9.1f min %9.1f min %6s %7s %-12s %s\n", t, n,
            d, r, rc, c, full, full_cpu, cov, ft, corp, total }'
done
exit $failed
