// milter_signals.cpp — signal mask, signal wait, and the count of load threads.
#include "milter_signals.hpp"

#include <cerrno>
#include <ctime>

namespace ip25b::milter {

namespace {

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP, wake_signal()})
        sigaddset(&set, s);
    return set;
}

} // namespace

// A real-time signal: libmilter, c-ares and glibc leave SIGRTMIN itself alone
// (glibc's own ones are below it), and real-time signals queue, so no wake-up
// is lost while the main thread is busy.
int wake_signal() {
    return SIGRTMIN;
}

int poke_signal() {
    return SIGRTMIN + 1;
}

void accept_poke_signal() {
    struct sigaction sa {};
    sa.sa_handler = [](int) {}; // no SA_RESTART: the interrupted call fails with EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(poke_signal(), &sa, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, poke_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void block_daemon_signals() {
    sigset_t set = daemon_signals();
    sigaddset(&set, poke_signal()); // its default action would end the process
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool is_stop_signal(int sig) {
    return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

int wait_for_signal(std::optional<std::chrono::milliseconds> timeout) {
    sigset_t set = daemon_signals();
    for (;;) {
        int sig = -1;
        if (timeout) {
            auto ms = timeout->count();
            timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
            sig = sigtimedwait(&set, nullptr, &ts);
        } else {
            sig = sigwaitinfo(&set, nullptr);
        }
        if (sig > 0) return sig;
        if (errno == EAGAIN) return 0; // timed out
        // EINTR: a signal outside the set (e.g. SIGCHLD with a handler); wait on
    }
}

namespace detail {
std::atomic<int>& load_counter() {
    static std::atomic<int> n{0};
    return n;
}
} // namespace detail

int loads_running() {
    return detail::load_counter().load();
}

} // namespace ip25b::milter
