-- common.lua — helpers for the ip25b-milter miltertest scripts.
-- The shell wrapper passes -D socket=inet:PORT@127.0.0.1 and -D dir=<this directory>.

function check(cond, what)
    if not cond then error("FAILED: " .. what) end
end

function ok(err, what)
    if err ~= nil then error("FAILED: " .. what .. ": " .. tostring(err)) end
end

-- Connects (retrying briefly: the milter may still be starting) and negotiates
-- with libmilter's default offer.
function open()
    local conn = mt.connect(socket, 40, 0.25)
    check(conn ~= nil, "mt.connect(" .. socket .. ")")
    ok(mt.negotiate(conn, nil, nil, nil), "negotiate")
    return conn
end

-- Connect, HELO, MAIL with the macros an MTA sends once asked for them.
-- auth: nil for an unauthenticated session.
function session(ip, host, sender, auth, qid)
    local conn = open()
    ok(mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "smtpd", "{daemon_port}", "25",
                "j", "mx.test", "{client_addr}", ip), "connect macros")
    ok(mt.conninfo(conn, host, ip), "conninfo " .. ip)
    check(mt.getreply(conn) == SMFIR_CONTINUE, "connect of " .. ip .. " continues")
    -- HELO explicitly: an implicit one would discard MAIL macros set before it.
    ok(mt.helo(conn, "client.example"), "helo")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "helo continues")
    if auth ~= nil then
        ok(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", auth, "{auth_type}", "PLAIN", "i", qid),
           "mail macros")
    else
        ok(mt.macro(conn, SMFIC_MAIL, "i", qid), "mail macros")
    end
    ok(mt.mailfrom(conn, sender), "mailfrom")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL FROM continues")
    return conn
end

function rcpt(conn, addr)
    ok(mt.rcptto(conn, addr), "rcptto " .. addr)
    return mt.getreply(conn)
end
