-- A connection from an unknown address family is not judged (no address to
-- look up) and must not upset the milter.
dofile(dir .. "/common.lua")
local conn = open()
ok(mt.conninfo(conn, "localhost", "unspec"), "conninfo unspec")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect continues")
ok(mt.helo(conn, "local"), "helo")
ok(mt.macro(conn, SMFIC_MAIL, "i", "QUNSPEC"), "mail macros")
ok(mt.mailfrom(conn, "<local@example.org>"), "mailfrom")
check(rcpt(conn, "<x@example.org>") == SMFIR_ACCEPT, "RCPT accepted, message left alone")
mt.disconnect(conn)
