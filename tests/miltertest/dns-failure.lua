-- DNS temporary failure (SERVFAIL behind a CNAME). Expected reply passed by
-- the wrapper: -D expect=continue (dns_failure = "accept") or tempfail.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.6", "[127.0.0.6]", "<a@example.net>", nil, "QDNS")
local r = rcpt(conn, "<b@example.org>")
if expect == "continue" then
    check(r == SMFIR_ACCEPT, "DNS failure accepted")
else
    check(r == SMFIR_REPLYCODE, "DNS failure tempfailed with a reply")
end
mt.disconnect(conn)
