// milter_signals.hpp — the daemon's main thread waits for signals; loads run elsewhere.
//
// A load (config, lint, rule compile) takes seconds, tens of seconds for a
// big rule set, and cannot be cancelled half way. If the thread that answers
// signals ran it, SIGTERM would wait for the load: a start or a reload could
// hold a stop past systemd's TimeoutStopSec, and a second SIGTERM would not
// stop at once. So every load of the running daemon runs on a BackgroundLoad
// thread, and the main thread stays in wait_for_signal(), so that Linux hands
// it SIGTERM rather than libmilter's own signal thread. A stop that still
// reaches libmilter's thread (the main thread busy for a moment) ends
// smfi_main(); the main thread then drains as for its own stop.
//
// A stop while a load runs does not wait for it: the process ends with the
// load thread still compiling (see loads_running()), never joining it.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace ip25b::milter {

// Sent by a finished BackgroundLoad (and by the thread running smfi_main when
// it returns) to the main thread, so that its signal wait wakes up.
int wake_signal();

// Interrupts libmilter's listener: after smfi_stop() it notices the stop
// only when its select() returns, which it does every 5 s (MI_CHK_TIME) when
// no MTA connects. A signal with a handler makes select() fail with EINTR, and
// the listener then looks at the stop flag at once.
int poke_signal();
// For the thread that runs smfi_main() (the listener): takes the poke signal.
void accept_poke_signal();

// SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP, the wake and the poke signal:
// blocked before any thread exists, so every thread inherits the mask and
// only threads that wait for them (the main thread, libmilter's) ever take
// them.
void block_daemon_signals();

// SIGTERM, SIGINT, SIGHUP: the signals that stop the daemon.
bool is_stop_signal(int sig);

// The next daemon signal, or 0 when `timeout` passes first.
int wait_for_signal(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// How many BackgroundLoad threads have not finished. A process that stops
// while one runs must leave with _exit(): exit() would destroy the globals
// (logger, metrics, the current rule set) under the load's feet.
int loads_running();

namespace detail {
std::atomic<int>& load_counter();
}

// Runs `load` once on a detached thread; the thread that created it gets the
// wake signal when the result is ready. Dropping the BackgroundLoad abandons
// the result: the thread finishes on its own and frees what it built.
template <class T> class BackgroundLoad {
  public:
    explicit BackgroundLoad(std::function<T()> load) : state_(std::make_shared<State>()) {
        pthread_t waiter = pthread_self();
        ++detail::load_counter();
        std::thread([state = state_, load = std::move(load), waiter]() mutable {
            std::optional<T> result;
            std::exception_ptr error;
            try {
                result.emplace(load());
            } catch (...) {
                error = std::current_exception();
            }
            {
                std::lock_guard lock(state->m);
                state->result = std::move(result);
                state->error = error;
                state->done = true;
            }
            pthread_kill(waiter, wake_signal());
            // An abandoned result is freed here, before the counter says the
            // thread is over.
            state.reset();
            load = nullptr;
            --detail::load_counter();
        }).detach();
    }

    bool done() const {
        std::lock_guard lock(state_->m);
        return state_->done;
    }
    // Only once done(); rethrows what the load threw.
    T take() {
        std::lock_guard lock(state_->m);
        if (state_->error) std::rethrow_exception(state_->error);
        return std::move(*state_->result);
    }

  private:
    struct State {
        std::mutex m;
        bool done = false;
        std::optional<T> result;
        std::exception_ptr error;
    };
    std::shared_ptr<State> state_;
};

} // namespace ip25b::milter
