-- Aborts mid-session: a message aborted after MAIL, a new transaction on the
-- same connection, and a connection dropped abruptly before any decision.
-- The milter must keep serving.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.3", "[127.0.0.3]", "<a@example.net>", nil, "QABORT1")
ok(mt.abort(conn), "abort after MAIL")
ok(mt.macro(conn, SMFIC_MAIL, "i", "QABORT2"), "mail macros")
ok(mt.mailfrom(conn, "<again@example.net>"), "second mailfrom")
check(rcpt(conn, "<b@example.org>") == SMFIR_ACCEPT, "second transaction accepted")
mt.disconnect(conn)
-- abrupt close in the middle of a dynamic client's session (lookup in flight)
local c2 = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QDROP")
mt.disconnect(c2, false)
-- abrupt close right after negotiation (xxfi_close without xxfi_connect)
local c3 = open()
mt.disconnect(c3, false)
-- still serving
local c4 = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QAFTER")
check(rcpt(c4, "<user@example.org>") == SMFIR_REPLYCODE, "still rejecting after aborts")
mt.disconnect(c4)
