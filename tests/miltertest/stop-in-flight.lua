-- SIGTERM while a session is open: that session is served to its end and its
-- reject record is written; a connection arriving during the drain is not
-- judged and gets the policy.internal_error answer (accept by default).
-- -D pid=<milter pid>.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QSTOP")
check(os.execute("kill -TERM " .. pid), "kill -TERM")
mt.sleep(0.5)
local late = open()
ok(mt.conninfo(late, "[127.0.0.2]", "127.0.0.2"), "conninfo during the drain")
check(mt.getreply(late) == SMFIR_ACCEPT, "connection during the drain accepted unjudged")
mt.disconnect(late)
check(rcpt(conn, "<user@example.org>") == SMFIR_REPLYCODE, "open session still served after SIGTERM")
mt.disconnect(conn)
