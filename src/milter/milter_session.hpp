// milter_session.hpp — libmilter callbacks: thin glue from milter events to policy::Session.
//
// Each MTA connection gets a Conn (smfi_setpriv) holding the Runtime snapshot
// it started with, a policy Session, and its PTR lookup, which starts at
// connect and is waited for (with the DNS deadline) only when the policy
// needs the verdict. Sessions are registered while alive so that shutdown
// can wait for them and write any decided record that is still pending.
#pragma once

#include <libmilter/mfapi.h>

#include <chrono>
#include <cstddef>

namespace ip25b::milter {

smfiDesc& filter_description();

// Stop accepting work: connections that arrive from now on are not judged;
// they get the failure policy's answer (policy.internal_error: accept or
// tempfail), as if the milter were down. Sessions in flight go on.
void start_draining();
bool draining();

// Connections between xxfi_connect and xxfi_close.
size_t live_sessions();
// Waits (bounded) until no session is alive; returns how many were left.
size_t wait_for_sessions(std::chrono::milliseconds limit);
// Writes the records of decided sessions that never reached xxfi_close
// (stop while a connection was open); returns how many were written.
size_t flush_live_records();

} // namespace ip25b::milter
