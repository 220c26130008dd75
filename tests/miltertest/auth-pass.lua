-- The same dynamic client passes once it authenticated ({auth_authen} at MAIL).
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<user@isp.test>", "user", "QAUTH1")
check(rcpt(conn, "<friend@example.org>") == SMFIR_CONTINUE, "RCPT of an authenticated session")
ok(mt.data(conn), "data")
ok(mt.eom(conn), "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "end of message continues")
check(not mt.eom_check(conn, MT_HDRADD), "no header added")
mt.disconnect(conn)
