-- An IPv6 client: the address comes from the socket address (no "IPv6:" text),
-- the PTR from ip6.arpa, forward-confirmed by AAAA.
dofile(dir .. "/common.lua")
local conn = session("2001:db8::25", "[2001:db8::25]", "<bot@example.net>", nil, "QV6")
check(rcpt(conn, "<user@example.org>") == SMFIR_REPLYCODE, "dynamic IPv6 client rejected")
mt.disconnect(conn)
