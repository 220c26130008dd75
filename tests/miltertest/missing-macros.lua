-- An MTA that sends no macros at all (no {daemon_name}, {daemon_port}, i,
-- {auth_authen}): the milter still judges by the socket address.
dofile(dir .. "/common.lua")
local conn = open()
ok(mt.conninfo(conn, "[127.0.0.2]", "127.0.0.2"), "conninfo")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect continues")
ok(mt.helo(conn, "bot"), "helo")
ok(mt.mailfrom(conn, "<bot@example.net>"), "mailfrom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL continues")
check(rcpt(conn, "<user@example.org>") == SMFIR_REPLYCODE, "RCPT rejected without any macro")
mt.disconnect(conn)
