-- policy.stage = "connect": a dynamic client is rejected at connect (no reply
-- text: libmilter does not allow one there), a static one passes.
dofile(dir .. "/common.lua")
local conn = open()
ok(mt.conninfo(conn, "[127.0.0.2]", "127.0.0.2"), "conninfo")
check(mt.getreply(conn) == SMFIR_REJECT, "dynamic client rejected at connect")
mt.disconnect(conn)
local ok_conn = open()
ok(mt.conninfo(ok_conn, "[127.0.0.3]", "127.0.0.3"), "conninfo")
check(mt.getreply(ok_conn) == SMFIR_CONTINUE, "static client continues at connect")
mt.disconnect(ok_conn)
