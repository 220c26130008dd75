-- A dynamic client refused at RCPT authenticates on the same connection
-- (RSET, AUTH, MAIL again) and passes: the record says it passed.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<user@isp.test>", nil, "QLATE")
check(rcpt(conn, "<friend@example.org>") == SMFIR_REPLYCODE, "refused before AUTH")
ok(mt.abort(conn), "RSET")
ok(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "user", "{auth_type}", "PLAIN", "i", "QLATE"),
   "mail macros after AUTH")
ok(mt.mailfrom(conn, "<user@isp.test>"), "mailfrom after AUTH")
check(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL FROM after AUTH continues")
local r = rcpt(conn, "<friend@example.org>")
check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "RCPT after AUTH passes")
mt.disconnect(conn)
