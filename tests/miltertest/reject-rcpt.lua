-- A forward-confirmed dynamic client is rejected at RCPT with the template
-- reply, for every recipient; the connect, HELO and MAIL steps pass.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QRCPT1")
check(rcpt(conn, "<user@example.org>") == SMFIR_REPLYCODE, "first RCPT rejected with a reply")
check(rcpt(conn, "<second@example.org>") == SMFIR_REPLYCODE, "second RCPT rejected too")
mt.disconnect(conn)
