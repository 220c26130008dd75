-- parity.lua — one session of test-check-parity.sh: prints the milter's
-- answer at the step that decided ("RESULT rcpt reply") for the wrapper to
-- compare with `ip25b check`. Variables (-D): ip, port (daemon port), auth
-- ("" for none), qid.
dofile(dir .. "/common.lua")

local names = {
    [SMFIR_CONTINUE] = "pass", [SMFIR_ACCEPT] = "pass", [SMFIR_REPLYCODE] = "reply",
    [SMFIR_REJECT] = "reject", [SMFIR_TEMPFAIL] = "tempfail", [SMFIR_DISCARD] = "discard",
}
local function result(step, r)
    local name = names[r] or ("code " .. tostring(r))
    if name ~= "pass" or step == "rcpt" then
        mt.echo("RESULT " .. step .. " " .. name)
        return true
    end
    return false
end

local conn = open()
ok(mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "smtpd", "{daemon_port}", port,
            "j", "mx.test", "{client_addr}", ip), "connect macros")
ok(mt.conninfo(conn, "[" .. ip .. "]", ip), "conninfo " .. ip)
if not result("connect", mt.getreply(conn)) then
    ok(mt.helo(conn, "client.example"), "helo")
    if not result("helo", mt.getreply(conn)) then
        if auth ~= "" then
            ok(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", auth, "{auth_type}", "PLAIN", "i", qid),
               "mail macros")
        else
            ok(mt.macro(conn, SMFIC_MAIL, "i", qid), "mail macros")
        end
        ok(mt.mailfrom(conn, "<sender@example.net>"), "mailfrom")
        if not result("mail", mt.getreply(conn)) then
            ok(mt.rcptto(conn, "<postmaster@example.org>"), "rcptto")
            result("rcpt", mt.getreply(conn))
        end
    end
end
mt.disconnect(conn)
