-- A reload (SIGUSR1) while a session is open: the open session finishes with
-- the rule set it started with (reject), a new session gets the new one (tag).
-- The wrapper has already written the new config; -D pid=<milter pid>.
dofile(dir .. "/common.lua")
local old = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QINFLIGHT")
check(os.execute("kill -USR1 " .. pid), "kill -USR1")
mt.sleep(1.5)
check(rcpt(old, "<user@example.org>") == SMFIR_REPLYCODE, "session from before the reload still rejects")
mt.disconnect(old)
local new = session("127.0.0.2", "[127.0.0.2]", "<bot@example.net>", nil, "QAFTERRELOAD")
check(rcpt(new, "<user@example.org>") == SMFIR_CONTINUE, "session after the reload is tagged, not rejected")
ok(mt.eom(new), "eom")
check(mt.eom_check(new, MT_HDRADD, "X-IP25B"), "X-IP25B added after the reload")
mt.disconnect(new)
