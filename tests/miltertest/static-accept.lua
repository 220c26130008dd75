-- Static, no-PTR and unconfirmed clients are accepted by default; a client
-- inside rules.self_ranges is rejected as self-dynamic.
dofile(dir .. "/common.lua")
for _, ip in ipairs({"127.0.0.3", "127.0.0.4", "127.0.0.5"}) do
    local conn = session(ip, "[" .. ip .. "]", "<a@example.net>", nil, "QOK" .. ip)
    check(rcpt(conn, "<b@example.org>") == SMFIR_CONTINUE, ip .. " accepted")
    mt.disconnect(conn)
end
local conn = session("127.0.0.7", "[127.0.0.7]", "<a@example.net>", nil, "QSELF7")
check(rcpt(conn, "<b@example.org>") == SMFIR_REPLYCODE, "self-dynamic 127.0.0.7 rejected")
mt.disconnect(conn)
