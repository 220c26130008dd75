#!/usr/bin/env bash
# The daemon logs the Postfix-table lines it skips, as postmap and Postfix do
# (issue 10, item 7): at start, at every reload, and in `-n`; a table with many
# bad lines is logged bounded, and the good lines still load.
. "$(dirname "$0")/../lib/e2e.sh"
[ -x "$E2E_BUILD_DIR/ip25b-milter" ] || e2e_skip "ip25b-milter is not built"
w=$E2E_WORK

cat >"$w/dyn.pcre" <<'PCRE'
/^dyn-[0-9]+\.pool\.example$/  REJECT dynamic pool
/unclosed  REJECT a line postmap skips
/^other\.example$/ OK
PCRE
cat >"$w/m.conf" <<TOML
[rules]
files = ["pcre:$w/dyn.pcre"]
[dns]
servers = ["127.0.0.1:9"]
[log]
syslog = false
TOML

"$E2E_BUILD_DIR/ip25b-milter" -n -c "$w/m.conf" >"$w/n.out" 2>&1 &&
    ok "-n: a table with a skipped line is a valid configuration" || not_ok "-n refused the table"
expect "-n names the skipped line" "$w/n.out" "dyn\.pcre:2: .*(line skipped)"

milter_start "$w/m.conf" || { not_ok "milter did not start"; e2e_finish; exit 1; }
expect "start: the daemon logs the skipped line with file:line" "$MILTER_OUT" \
    "dyn\.pcre:2: no closing regexp delimiter.*(line skipped)"

# Many bad lines: logged bounded, with a count of the rest.
for i in $(seq 100); do echo "/bad$i  REJECT x"; done >>"$w/dyn.pcre"
milter_reload && ok "reload with 101 skipped lines succeeds" || not_ok "reload failed"
expect "reload: the skipped lines are logged again" "$MILTER_OUT" "dyn\.pcre:4: .*(line skipped)"
expect "reload: the rest is counted, not flooded" "$MILTER_OUT" "and 81 more skipped table lines"
n=$(grep -c "(line skipped)" "$MILTER_OUT")
[ "$n" -eq 21 ] && ok "1 + 20 warning lines in all" || not_ok "expected 21 warning lines, found $n"
e2e_finish
