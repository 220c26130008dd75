-- A static client and one without PTR are accepted by default; a dynamic
-- pool name that does not forward-confirm is still dynamic (require_fcrdns is
-- off by default); a client inside rules.self_ranges is rejected as
-- self-dynamic without a lookup.
dofile(dir .. "/common.lua")
for _, ip in ipairs({"127.0.0.3", "127.0.0.4"}) do
    local conn = session(ip, "[" .. ip .. "]", "<a@example.net>", nil, "QOK" .. ip)
    check(rcpt(conn, "<b@example.org>") == SMFIR_ACCEPT, ip .. " accepted")
    mt.disconnect(conn)
end
local c5 = session("127.0.0.5", "[127.0.0.5]", "<a@example.net>", nil, "QUNCONF5")
check(rcpt(c5, "<b@example.org>") == SMFIR_REPLYCODE, "unconfirmed dynamic 127.0.0.5 rejected")
mt.disconnect(c5)
local conn = session("127.0.0.7", "[127.0.0.7]", "<a@example.net>", nil, "QSELF7")
check(rcpt(conn, "<b@example.org>") == SMFIR_REPLYCODE, "self-dynamic 127.0.0.7 rejected")
mt.disconnect(conn)
