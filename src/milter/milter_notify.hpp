// milter_notify.hpp — tells systemd (Type=notify) what the daemon is doing.
//
// READY=1 once the socket listens, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 when a stop begins. The unit can then order Postfix after a
// milter that really accepts connections. Without libsystemd at build time,
// or when not started by systemd (no NOTIFY_SOCKET), every call does nothing.
#pragma once

#include <string>

namespace ip25b::milter {

void notify_ready(const std::string& status);
void notify_reloading();
void notify_stopping();

} // namespace ip25b::milter
