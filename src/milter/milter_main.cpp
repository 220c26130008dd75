// milter_main.cpp — the ip25b-milter daemon: options, start-up order, signals, shutdown.
//
// Start-up order matters: signals are blocked before any thread exists (the
// resolver's, libmilter's); the configuration is checked while errors still
// reach the terminal; the pid file is locked and the sockets probed (a live
// instance is an error, stale files are replaced) before forking; the sockets
// are opened while still privileged, then privileges are dropped, and only
// then is the working set built (the rules read, linted and compiled once),
// so the rules are read and the decision log is opened (and reopened at
// rotation) as the service user; the parent waits for that and prints a refusal.
// With -u a root supervisor stays behind to remove the pid file and sockets
// (milter_process.hpp).
//
// Signals (the main thread waits for them; loads run on their own thread and
// libmilter in others, milter_signals.hpp):
//   SIGUSR1  reload: re-read the config file and every rule file, build a new
//            working set completely and swap it in; sessions in flight finish
//            with the set they started with; a broken file keeps the old set
//            and is logged as file:line: reason; so is a rule set that
//            `ip25b lint` refuses. Changed [milter] or [metrics] keys are
//            logged as needing a restart; log.level is applied. Also
//            reopens the decision log file (log rotation). A SIGUSR1 during
//            a load (the start's or a reload's) asks for one more reload
//            after it.
//   SIGUSR2  writes the counters to the log (nothing else).
//   SIGTERM, SIGHUP, SIGINT
//            stop: sessions in flight are served to their end (at most [milter] drain_limit, 30 s);
//            connections arriving meanwhile are not judged and get the
//            policy.internal_error answer (accept or tempfail); then
//            smfi_stop(), pending decision records are written, the pid file
//            and sockets are removed, exit 0. A reload in progress is
//            abandoned (its thread is not waited for). During the start's
//            loads there is nothing to drain: the process leaves at once.
//            A second stop signal while draining or stopping leaves at once:
//            pending records are written (waiting at most 1 s), pid file and
//            sockets removed, exit 0; sessions in flight are cut off.
//            SIGHUP is NOT a reload: libmilter's own signal thread treats
//            SIGHUP as "stop" (and SIGINT as "abort") should it ever take one.
//   `-n` keeps the default actions: SIGTERM and SIGINT end it at once.
#include "milter_notify.hpp"
#include "milter_process.hpp"
#include "milter_runtime.hpp"
#include "milter_session.hpp"
#include "milter_signals.hpp"
#include "milter_status.hpp"

#include "ip25b/control.hpp"
#include "ip25b/install_paths.hpp"
#include "ip25b/lint.hpp"
#include "ip25b/metrics_http.hpp"
#include "ip25b/rule_source.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <libmilter/mfapi.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

using namespace ip25b;
using namespace ip25b::milter;

namespace {

std::string absolute(const std::string& p) {
    if (p.empty() || p.front() == '/') return p;
    std::error_code ec;
    auto abs = std::filesystem::absolute(p, ec);
    return ec ? p : abs.lexically_normal().string();
}

std::string absolute_rule(const std::string& p) {
    RuleSourceSpec source = parse_rule_source(p);
    source.path = absolute(source.path);
    return source.to_string();
}

spdlog::level::level_enum level_of(const std::string& level) {
    return level == "debug"     ? spdlog::level::debug
           : level == "warning" ? spdlog::level::warn
           : level == "error"   ? spdlog::level::err
                                : spdlog::level::info;
}

void setup_logging(const LogConfig& log, bool to_stderr) {
    std::vector<spdlog::sink_ptr> sinks;
    if (to_stderr) sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    if (log.syslog)
        sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>("ip25b-milter", LOG_PID,
                                                                        LOG_MAIL, false));
    auto logger = std::make_shared<spdlog::logger>("ip25b", sinks.begin(), sinks.end());
    logger->set_pattern(to_stderr && !log.syslog ? "%Y-%m-%d %H:%M:%S ip25b-milter[%P] %l: %v"
                                                 : "%l: %v");
    logger->set_level(level_of(log.level));
    logger->flush_on(spdlog::level::debug);
    spdlog::set_default_logger(logger);
}

std::atomic<bool> milter_returned{false};

// A reload never changes where the milter listens or who it runs as: those
// were set up before the privilege drop. Say so instead of ignoring them.
void warn_restart_keys(const Config& before, const Config& after) {
    auto keys = changed_milter_keys(before.milter, after.milter);
    std::string list;
    for (const auto& k : keys)
        list += (list.empty() ? "milter." : ", milter.") + k;
    if (before.metrics.listen != after.metrics.listen)
        list += (list.empty() ? "" : ", ") + std::string("metrics.listen");
    if (!list.empty())
        spdlog::warn("reload: {} changed: needs restart (still using the values from start)", list);
}

// Every MTA connection holds an FD for as long as the MTA keeps it open, so
// idle connections can eat the usual 1,024 soft limit; libmilter then fails
// accept() and the real sessions behind them wait. Take what the hard limit
// allows (the systemd unit raises it), capped: nothing here needs more.
void raise_fd_limit() {
    constexpr rlim_t wanted = 65536;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= wanted) return;
    rlim_t target = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, rl.rlim_max);
    rlim_t now = rl.rlim_cur;
    if (target > now) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            now = target;
        else
            spdlog::warn("cannot raise the open-file limit from {}: {}", now, std::strerror(errno));
    }
    if (now < 4096)
        spdlog::warn("open-file limit is only {}; idle MTA connections can starve real "
                     "sessions: raise the hard limit (systemd: LimitNOFILE)",
                     now);
}

using RuntimeLoad = BackgroundLoad<Expected<std::shared_ptr<const Runtime>>>;

// What a stop that cannot wait removes itself, since it leaves with _exit()
// and no destructor runs. After -u the milter cannot unlink in root's
// directories; the supervisor does it then.
struct Leftovers {
    std::string socket, control;
    PidFile* pidfile = nullptr;
};
Leftovers leftovers;

void remove_leftovers() {
    if (!leftovers.socket.empty()) unlink(leftovers.socket.c_str());
    if (!leftovers.control.empty()) unlink(leftovers.control.c_str());
    if (leftovers.pidfile) leftovers.pidfile->remove();
}

// Records of sessions decided but not closed. A session callback holds its
// lock while it waits for DNS, so the flush runs on its own thread and is
// waited for at most `limit`: a stop "at once" must not wait for the resolver.
void write_pending_records(std::chrono::milliseconds limit) {
    auto done = std::make_shared<std::promise<size_t>>();
    auto written = done->get_future();
    std::thread([done] { done->set_value(flush_live_records()); }).detach();
    if (written.wait_for(limit) == std::future_status::ready)
        spdlog::info("{} pending decision records written", written.get());
    else
        spdlog::warn("pending decision records not all written within {} ms", limit.count());
}

// The end of a stop that does not wait (a second stop signal, or a stop
// during the start's loads, when nothing is being served yet): files removed,
// exit 0 without joining any thread (a load may be compiling in one).
[[noreturn]] void leave_at_once() {
    if (live_sessions()) write_pending_records(std::chrono::seconds(1));
    remove_leftovers();
    spdlog::default_logger()->flush();
    _exit(0);
}

// Waits for the start's load (the first working set)
// while answering signals. A stop signal leaves at once: there are no sessions
// yet and the load cannot be cancelled.
template <class T> T await_start_load(BackgroundLoad<T>& load, bool& reload_asked) {
    for (;;) {
        int sig = wait_for_signal();
        if (sig == wake_signal()) {
            if (load.done()) return load.take();
        } else if (sig == SIGUSR1) {
            reload_asked = true;
        } else if (sig == SIGUSR2) {
            spdlog::info("counters: {}", Metrics::to_text(status_snapshot()));
        } else if (is_stop_signal(sig)) {
            spdlog::info("signal {}: stopping during start-up", strsignal(sig));
            notify_stopping();
            leave_at_once();
        }
    }
}

// The main thread while the milter serves: reloads, counters, the drain.
class SignalLoop {
  public:
    SignalLoop(const Overrides& o, bool stderr_copy, pthread_t listener)
        : o_(o), stderr_copy_(stderr_copy), listener_(listener) {}

    void run(bool reload_asked) {
        if (reload_asked) start_reload();
        while (!milter_returned.load()) { // smfi_main() is over: nothing left to stop
            // While draining, look at the sessions every 100 ms.
            auto tick = phase_ == Phase::Draining ? std::optional<std::chrono::milliseconds>(100)
                                                  : std::nullopt;
            int sig = wait_for_signal(tick);
            if (sig == SIGUSR1) {
                on_reload_signal();
            } else if (sig == SIGUSR2) {
                spdlog::info("counters: {}", Metrics::to_text(status_snapshot()));
            } else if (is_stop_signal(sig)) {
                on_stop_signal(sig);
            } else if (sig == wake_signal() && reload_ && reload_->done()) {
                apply_reload(reload_->take());
                reload_.reset();
                if (std::exchange(reload_again_, false)) start_reload();
            }
            if (phase_ == Phase::Draining) check_drain();
        }
        if (phase_ != Phase::Stopping) drain_after_libmilter_stopped();
    }

  private:
    enum class Phase { Serving, Draining, Stopping };

    void on_reload_signal() {
        if (phase_ != Phase::Serving) return;
        if (reload_)
            reload_again_ = true; // the files may have changed after it read them
        else
            start_reload();
    }

    void start_reload() {
        notify_reloading();
        auto old = current_runtime().get();
        reload_.emplace([o = o_, old, stderr_copy = stderr_copy_] {
            return build_runtime(o, old, stderr_copy);
        });
    }

    void apply_reload(Expected<std::shared_ptr<const Runtime>> next) {
        auto old = current_runtime().get();
        if (!next) {
            metrics().error(MetricError::ReloadFailed);
            spdlog::error("reload failed, still running rule set {}: {}", old ? old->generation : 0,
                          next.error().to_string());
            notify_ready("reload failed, old rule set kept: " + next.error().to_string());
            return;
        }
        if (old) warn_restart_keys(old->config, next.value()->config);
        spdlog::default_logger()->set_level(level_of(next.value()->config.log.level));
        current_runtime().set(next.value());
        publish_rule_set(*next.value());
        notify_ready("rule set " + std::to_string(next.value()->generation) + ": " +
                     next.value()->classifier->summary());
        spdlog::info("reloaded: rule set {}: {}", next.value()->generation,
                     next.value()->classifier->summary());
    }

    void on_stop_signal(int sig) {
        if (phase_ != Phase::Serving) {
            spdlog::warn("signal {} while stopping: stopping at once, {} sessions cut off",
                         strsignal(sig), live_sessions());
            leave_at_once();
        }
        spdlog::info("signal {}: stopping after sessions in flight", strsignal(sig));
        begin_drain();
    }

    // smfi_main() returned while serving: a stop signal reached libmilter's own
    // signal thread, which sigwait()s for SIGHUP, SIGTERM and SIGINT too (the
    // kernel hands a process-directed signal to the main thread only if it can
    // take it then: busy logging or applying a reload, it is passed over), or
    // the listener failed. The stop then goes the way of our own: STOPPING=1,
    // the sessions still open get up to drain_limit, records are written.
    void drain_after_libmilter_stopped() {
        if (phase_ == Phase::Serving) {
            spdlog::info("libmilter stopped its listener: stopping after sessions in flight");
            begin_drain();
        }
        while (phase_ == Phase::Draining) {
            int sig = wait_for_signal(std::chrono::milliseconds(100));
            if (is_stop_signal(sig)) on_stop_signal(sig); // a second stop: at once
            check_drain();
        }
    }

    void begin_drain() {
        notify_stopping();
        start_draining();
        if (reload_) {
            // A compile cannot be interrupted; its thread finishes on its own
            // and the process does not wait for it (loads_running()).
            spdlog::info("reload abandoned: stopping");
            reload_.reset();
            reload_again_ = false;
        }
        // The rule set in use carries the config last loaded: a reload can change it.
        const auto rt = current_runtime().get();
        drain_limit_ = rt ? rt->config.milter.drain_limit : MilterConfig{}.drain_limit;
        drain_until_ = std::chrono::steady_clock::now() + drain_limit_;
        phase_ = Phase::Draining;
    }

    void check_drain() {
        size_t left = live_sessions();
        if (left && std::chrono::steady_clock::now() < drain_until_) return;
        if (left)
            spdlog::warn("{} sessions still open after {} s; stopping anyway", left,
                         drain_limit_.count());
        phase_ = Phase::Stopping;
        // libmilter's own signal thread may have stopped it meanwhile; a
        // second smfi_stop() after smfi_main() returned would use a destroyed mutex.
        if (!milter_returned.load()) stop_listener();
    }

    // smfi_stop() takes the listener's lock, which the listener holds in its
    // select() for up to 5 s (MI_CHK_TIME) while no MTA connects: poke it out
    // of select() until smfi_stop() has its way. (A poke that lands just
    // before the select() is not seen, hence the repeats.)
    void stop_listener() {
        std::atomic<bool> stopped{false};
        std::thread poker([&] {
            while (!stopped.load()) {
                pthread_kill(listener_, poke_signal());
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        smfi_stop();
        stopped = true;
        poker.join();
    }

    const Overrides& o_;
    bool stderr_copy_;
    pthread_t listener_; // the thread in smfi_main()
    Phase phase_ = Phase::Serving;
    std::optional<RuntimeLoad> reload_;
    bool reload_again_ = false;
    std::chrono::steady_clock::time_point drain_until_;
    std::chrono::seconds drain_limit_{};
};

struct CommandLine {
    Overrides o;
    bool check_only = false;
};

// Options follow OpenDKIM/OpenDMARC: -c -f -p -u -P -n -V.
std::optional<int> parse_command_line(int argc, char** argv, CommandLine& cl) {
    CLI::App app{"ip25b-milter — refuse direct-to-MX mail from dynamic addresses (IP25B)"};
    Overrides& o = cl.o;
    app.add_option("-c,--config", o.config_file,
                   "configuration file (TOML); default " + install_paths().config_file);
    app.add_flag("-f,--foreground", o.foreground, "stay in the foreground, log to stderr too");
    app.add_option("-p,--socket", o.socket,
                   "listen on inet:PORT@HOST, inet6:PORT@HOST, unix:/PATH");
    app.add_option("-u,--user", o.user, "run as USER after opening sockets and files");
    app.add_option("-P,--pidfile", o.pidfile, "write the process id to PIDFILE");
    app.add_flag("-n,--check", cl.check_only,
                 "load the configuration and rules, lint them, report, exit 0/1");
    app.add_option("--dns", o.dns,
                   "DNS server IP[:PORT] or [IPv6]:PORT (repeatable; replaces dns.servers)");
    app.add_option(
        "--rules", o.rules,
        "rule file, directory, pcre:FILE or regexp:FILE (repeatable; replaces rules.files)");
    unsigned major = 0, minor = 0, patch = 0;
    smfi_version(&major, &minor, &patch);
    app.set_version_flag("-V,--version", std::string("ip25b-milter ") + IP25B_VERSION +
                                             " (libmilter " + std::to_string(major) + "." +
                                             std::to_string(minor) + "." + std::to_string(patch) +
                                             ")");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    if (o.config_file.empty()) o.config_file = install_paths().config_file;
    o.config_file = absolute(o.config_file);
    o.pidfile = absolute(o.pidfile);
    for (auto& r : o.rules)
        r = absolute_rule(r);
    return std::nullopt;
}

int fail(const std::string& message) {
    std::cerr << "ip25b-milter: " << message << std::endl;
    return 1;
}

// -n: the rule set as the daemon would load it (linted and compiled once),
// with the table lines it would skip.
std::optional<Error> check_rules(const Config& config, std::string& summary) {
    LintReport lint;
    auto classifier = Classifier::load(config.rules, &lint);
    if (!classifier) return classifier.error();
    summary = classifier.value()->summary();
    log_table_warnings(*classifier.value());
    return std::nullopt;
}

// -n: everything a start would check, without starting.
int check_configuration(const Overrides& o) {
    auto config = read_config(o);
    if (!config) return fail(config.error().to_string());
    std::string summary;
    if (auto e = check_rules(*config, summary)) return fail(e->to_string());
    std::cout << "ip25b-milter: configuration "
              << (o.config_file.empty() ? "(defaults)" : o.config_file) << " OK; " << summary
              << std::endl;
    return 0;
}

// The control socket: a failure is fatal when the operator named the path,
// a warning when it is the derived default (e.g. /run/ip25b missing).
std::optional<Error> open_control_socket(const MilterConfig& mc,
                                         std::unique_ptr<ControlServer>& out) {
    std::string path = control_socket_path(mc);
    if (path.empty()) return std::nullopt;
    auto server = ControlServer::listen(path);
    if (!server) {
        if (!mc.control_socket.empty()) return server.error();
        spdlog::warn("no control socket ({}); `ip25b status` will not reach this instance",
                     server.error().to_string());
        return std::nullopt;
    }
    out = std::move(server).value();
    return std::nullopt;
}

// Opens the milter socket (still root), hands the sockets to the service
// user's group, then drops privileges.
std::optional<Error> open_sockets_and_drop_privileges(const MilterConfig& mc,
                                                      const SocketAccess& access,
                                                      ControlServer* control) {
    // Debian's libmilter (worker pool) looks for timed-out sessions only every
    // 600 s, so a silent connection goes between timeout and timeout + 600 s.
    smfi_settimeout(static_cast<int>(mc.timeout.count()));
    raise_fd_limit();
    if (auto e = open_milter_socket(mc.socket, access)) return e;
    if (control)
        if (auto e = control->set_access(access.mode, access.uid, access.gid)) return e;
    return drop_privileges(mc.user);
}

// The first working set, built while the main thread answers signals.
Expected<std::shared_ptr<const Runtime>> load_first_runtime(const Overrides& o,
                                                            bool& reload_asked) {
    RuntimeLoad load([o] { return build_runtime(o, nullptr, o.foreground); });
    return await_start_load(load, reload_asked);
}

std::optional<Error> start_metrics_http(const Config& config, std::unique_ptr<MetricsHttp>& out) {
    if (config.metrics.listen.empty()) return std::nullopt;
    auto h = MetricsHttp::start(config.metrics.listen,
                                [] { return Metrics::to_prometheus(status_snapshot()); });
    if (!h) return h.error();
    out = std::move(h).value();
    return std::nullopt;
}

// smfi_main() on its own thread, the signal loop on this one, until libmilter returns.
int serve_until_stopped(const Overrides& o, bool reload_asked) {
    int rc = MI_SUCCESS;
    pthread_t main_thread = pthread_self();
    std::thread milter([&] {
        accept_poke_signal();
        rc = smfi_main();
        milter_returned = true;
        pthread_kill(main_thread, wake_signal());
    });
    SignalLoop(o, o.foreground, milter.native_handle()).run(reload_asked);
    milter.join();
    return rc;
}

// Everything after the fork(s): open the sockets (still root), drop
// privileges, build the working set as the service user, serve.
int run_milter(const CommandLine& cl, const Config& config, const SocketAccess& access,
               std::unique_ptr<ControlServer> control, int& ready_fd, bool reload_asked) {
    const MilterConfig& mc = config.milter;
    auto failed = [&](const std::string& msg) {
        spdlog::error("{}", msg);
        report_ready(ready_fd, msg);
        return 1;
    };
    SocketFile socket_file(unix_path(mc.socket)); // removed on every exit path
    leftovers.socket = unix_path(mc.socket);
    if (auto e = open_sockets_and_drop_privileges(mc, access, control.get()))
        return failed(e->to_string());

    // Only current_runtime() and the sessions hold a rule set, so that each
    // is freed (resolver thread, sockets, memory) once it is replaced and its
    // last session has ended.
    std::string first_set;
    {
        auto rt = load_first_runtime(cl.o, reload_asked);
        if (!rt) return failed(rt.error().to_string());
        first_set = rt.value()->classifier->summary();
        publish_rule_set(*rt.value());
        current_runtime().set(std::move(rt).value());
    }

    std::unique_ptr<MetricsHttp> http;
    if (auto e = start_metrics_http(config, http)) return failed(e->to_string());
    if (control) control->serve(answer_control);

    spdlog::info("listening on {}; rule set 1: {}{}{}", mc.socket, first_set,
                 control ? "; control socket " + control->path() : std::string(),
                 http ? "; metrics on http://" + config.metrics.listen + "/metrics"
                      : std::string());
    report_ready(ready_fd, "ok");
    notify_ready("listening on " + mc.socket + "; rule set 1: " + first_set);

    int rc = serve_until_stopped(cl.o, reload_asked);

    // Records of sessions that were decided but never closed (libmilter's
    // thread took the stop signal, or the drain limit passed).
    size_t flushed = flush_live_records();
    spdlog::info("stopped ({} sessions still open, {} pending records written)", live_sessions(),
                 flushed);
    http.reset();
    control.reset();
    current_runtime().set(nullptr);
    return rc == MI_SUCCESS ? 0 : 1;
}

// What the process holds before forking: socket permissions, the locked pid
// file, the control socket; the milter socket is probed, not yet opened.
struct Prepared {
    SocketAccess access;
    std::unique_ptr<PidFile> pidfile;
    std::unique_ptr<ControlServer> control;
};

std::optional<Error> prepare_process(const MilterConfig& mc, Prepared& out) {
    auto access = socket_access(mc);
    if (!access) return access.error();
    out.access = *access;
    if (smfi_register(filter_description()) != MI_SUCCESS)
        return Error{"", 0, "smfi_register failed"};
    if (!mc.pidfile.empty()) {
        auto p = PidFile::acquire(mc.pidfile);
        if (!p) return p.error();
        out.pidfile = std::move(p).value();
        leftovers.pidfile = out.pidfile.get();
    }
    if (auto e = check_socket_free(mc.socket)) return e;
    if (auto e = open_control_socket(mc, out.control)) return e;
    if (out.control) leftovers.control = out.control->path();
    return std::nullopt;
}

// Daemonizes (without -f), writes the pid, and with -u leaves a root
// supervisor behind that removes the pid file and sockets after the milter.
std::optional<Error> detach_and_supervise(const Overrides& o, const MilterConfig& mc, Prepared& p,
                                          int& ready_fd) {
    if (!o.foreground && !daemonize(ready_fd))
        return Error{"", 0, std::string("cannot fork: ") + std::strerror(errno)};
    if (p.pidfile) p.pidfile->write_pid(getpid());
    if (will_drop_privileges(mc.user)) {
        // After the drop the milter cannot remove files in root's directories.
        std::string socket_path = unix_path(mc.socket);
        std::string control_path = p.control ? p.control->path() : std::string();
        PidFile* pidfile = p.pidfile.get();
        fork_supervisor([&] {
            if (!socket_path.empty()) unlink(socket_path.c_str());
            if (!control_path.empty()) unlink(control_path.c_str());
            if (pidfile) pidfile->remove();
        });
    }
    return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
    CommandLine cl;
    if (auto rc = parse_command_line(argc, argv, cl)) return *rc;
    signal(SIGPIPE, SIG_IGN);
    // -n has nothing to clean up: the default actions end it at once.
    if (cl.check_only) return check_configuration(cl.o);

    // Before any thread exists, so every thread inherits the mask and only
    // the signal threads (ours, libmilter's) ever see these signals.
    block_daemon_signals();
    auto config = read_config(cl.o);
    if (!config) return fail(config.error().to_string());
    setup_logging(config->log, cl.o.foreground);
    const MilterConfig& mc = config->milter;

    // The rules are loaded (and linted) once, after the privilege drop, as the
    // service user that reloads them; a refusal still reaches the terminal:
    // the parent waits for the ready report (or -f logs to stderr).
    bool reload_asked = false; // a SIGUSR1 during the start: one reload once serving
    Prepared p;
    if (auto e = prepare_process(mc, p)) return fail(e->to_string());
    int ready_fd = -1;
    if (auto e = detach_and_supervise(cl.o, mc, p, ready_fd)) return fail(e->to_string());
    int rc = run_milter(cl, *config, p.access, std::move(p.control), ready_fd, reload_asked);
    if (p.pidfile) p.pidfile->remove();
    // An abandoned reload may still be compiling: exit() would destroy the
    // globals it uses.
    if (loads_running()) {
        spdlog::default_logger()->flush();
        _exit(rc);
    }
    return rc;
}
