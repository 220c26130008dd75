// milter_notify.cpp — sd_notify(3) when built with libsystemd.
#include "milter_notify.hpp"

#ifdef IP25B_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

#include <time.h>

#include <string>
#endif

namespace ip25b::milter {

#ifdef IP25B_HAVE_SYSTEMD

void notify_ready(const std::string& status) {
    std::string msg = "READY=1\nSTATUS=" + status;
    sd_notify(0, msg.c_str());
}

void notify_reloading() {
    // MONOTONIC_USEC lets systemd (253+, Type=notify-reload) tell this reload
    // from an older one; older versions ignore it.
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
    sd_notify(0, msg.c_str());
}

void notify_stopping() {
    sd_notify(0, "STOPPING=1");
}

#else

void notify_ready(const std::string&) {}
void notify_reloading() {}
void notify_stopping() {}

#endif

} // namespace ip25b::milter
