# Common frame of the end-to-end tests (source this file first):
# temp dir, cleanup of everything the test started, assertions, an SMTP
# client that connects from a chosen loopback source address.

set -uo pipefail
_e2e_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=net.sh
. "$_e2e_lib_dir/net.sh"

E2E_SOURCE_DIR=${IP25B_SOURCE_DIR:-$(cd "$_e2e_lib_dir/../.." && pwd)}
E2E_BUILD_DIR=${IP25B_BUILD_DIR:-$E2E_SOURCE_DIR/build}
E2E_PASS=0
E2E_FAIL=0
E2E_CLEANUPS=()
E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ip25b-e2e.XXXXXX")
chmod 755 "$E2E_WORK"

# e2e_on_exit CMD: run CMD (a function name plus args) at exit, last first.
e2e_on_exit() { E2E_CLEANUPS+=("$*"); }

_e2e_cleanup() {
    local i
    for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${E2E_CLEANUPS[$i]}" || true
    done
    if [ "$E2E_FAIL" -ne 0 ] || [ -n "${E2E_KEEP:-}" ]; then
        echo "e2e: work dir kept for inspection: $E2E_WORK" >&2
    else
        rm -rf "$E2E_WORK"
    fi
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT TERM

e2e_skip() { # e2e_skip REASON: exit as skipped (ctest sees 0 with a note)
    echo "SKIP: $*"
    exit 0
}

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "ok   - $*"; }
not_ok() { E2E_FAIL=$((E2E_FAIL + 1)); echo "FAIL - $*"; }

# expect DESCRIPTION FILE REGEX: FILE has a line matching REGEX.
expect() {
    if grep -Eq -- "$3" "$2"; then ok "$1"; else
        not_ok "$1 (no /$3/ in $2)"
        sed 's/^/    | /' "$2" | tail -n 40
    fi
}
# expect_not DESCRIPTION FILE REGEX
expect_not() {
    if ! grep -Eq -- "$3" "$2"; then ok "$1"; else
        not_ok "$1 (unexpected /$3/ in $2)"
        grep -E -- "$3" "$2" | sed 's/^/    | /'
    fi
}

e2e_finish() {
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# smtp_session OUT PORT SRC_ADDR [swaks options...]: one SMTP session to
# 127.0.0.1:PORT from the loopback address SRC_ADDR; the transcript goes to
# OUT. Returns swaks's status (0 = message accepted).
E2E_MAIL_FROM=${E2E_MAIL_FROM:-sender@example.net}
E2E_RCPT_TO=${E2E_RCPT_TO:-postmaster@ip25b.test}
smtp_session() {
    local out=$1 port=$2 src=$3
    shift 3
    timeout 60 swaks --server "127.0.0.1:$port" --local-interface "$src" \
        --helo client.example.net --from "$E2E_MAIL_FROM" --to "$E2E_RCPT_TO" \
        --timeout 30 --header "Subject: ip25b e2e" "$@" >"$out" 2>&1
}
