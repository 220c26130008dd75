#!/usr/bin/env bash
# A test that cannot run must never count as passed: e2e_skip exits 77 (ctest's
# SKIP_RETURN_CODE) and, under CI=true, fails, because CI installs everything.
set -uo pipefail
lib=$(cd "$(dirname "$0")/../lib" && pwd)
fail=0
run() { env -u CI ${1:+CI=$1} bash -c ". '$lib/e2e.sh'; e2e_skip 'component missing'" >/dev/null; }
run "" && rc=0 || rc=$?
[ "$rc" -eq 77 ] && echo "ok   - e2e_skip exits 77 outside CI" || { echo "FAIL - e2e_skip exited $rc outside CI"; fail=1; }
run true && rc=0 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && echo "ok   - e2e_skip fails under CI=true ($rc)" ||
    { echo "FAIL - e2e_skip exited $rc under CI=true"; fail=1; }
exit $fail
