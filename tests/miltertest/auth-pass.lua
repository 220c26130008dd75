-- The same dynamic client passes once it authenticated ({auth_authen} at MAIL).
dofile(dir .. "/common.lua")
local conn = session("127.0.0.2", "[127.0.0.2]", "<user@isp.test>", "user", "QAUTH1")
-- Accepted with nothing to add: the milter lets the MTA skip it for the rest
-- of the message (no end-of-message round trip, no header).
check(rcpt(conn, "<friend@example.org>") == SMFIR_ACCEPT, "RCPT of an authenticated session")
mt.disconnect(conn)
