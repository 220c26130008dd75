-- Tag mode: the dynamic client is accepted and the message gets an X-IP25B
-- header naming class, ISP and rule.
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QTAG")
check(rcpt(conn, "<user@example.org>") == SMFIR_CONTINUE, "RCPT continues in tag mode")
-- DATA, headers and body were negotiated away (miltertest exits on them).
ok(mt.eom(conn), "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "end of message continues")
check(mt.eom_check(conn, MT_HDRADD, "X-IP25B"), "X-IP25B added")
local v = mt.getheader(conn, "X-IP25B", 0)
check(v ~= nil and string.find(v, "class=dynamic", 1, true) ~= nil, "header names the class: " .. tostring(v))
check(string.find(v, "isp=ISP-TEST", 1, true) ~= nil, "header names the ISP: " .. v)
check(string.find(v, "rule=isp-test-pool", 1, true) ~= nil, "header names the rule: " .. v)
mt.disconnect(conn)
