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
// Signals (the main thread waits for them; libmilter runs in another thread):
//   SIGUSR1  reload: re-read the config file and every rule file, build a new
//            working set completely and swap it in; sessions in flight finish
//            with the set they started with; a broken file keeps the old set
//            and is logged as file:line: reason; so is a rule set that
//            `ip25b lint` refuses. Changed [milter] or [metrics] keys are
//            logged as needing a restart; log.level is applied. Also
//            reopens the decision log file (log rotation).
//   SIGUSR2  writes the counters to the log (nothing else).
//   SIGTERM, SIGHUP, SIGINT
//            stop: sessions in flight are served to their end (at most 30 s);
//            connections arriving meanwhile are not judged and get the
//            policy.internal_error answer (accept or tempfail); then
//            smfi_stop(), pending decision records are written, the pid file
//            is removed, exit 0. SIGHUP is NOT a reload: libmilter's own
//            signal thread treats SIGHUP as "stop" (and SIGINT as "abort"),
//            and takes these signals when ours is busy (during a reload or a
//            drain): then libmilter stops at once, sessions in flight are cut
//            off, and only their decided records are written. So a second
//            SIGTERM during the drain stops immediately.
#include "milter_notify.hpp"
#include "milter_process.hpp"
#include "milter_runtime.hpp"
#include "milter_session.hpp"
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
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <libmilter/mfapi.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

using namespace ip25b;
using namespace ip25b::milter;

namespace {

constexpr auto session_drain_limit = std::chrono::seconds(30);

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

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP})
        sigaddset(&set, s);
    return set;
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

void reload(const Overrides& o, bool stderr_copy) {
    notify_reloading();
    auto old = current_runtime().get();
    auto next = build_runtime(o, old, stderr_copy);
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

// Runs on the main thread. Linux delivers a process-directed signal to the
// thread group leader first when it is waiting for it, so SIGTERM, SIGHUP and
// SIGINT reach this loop, not libmilter's own signal thread (which would stop
// at once: in Debian's libmilter, built with a worker pool, sessions in
// flight are no longer served after smfi_stop()). Only while this thread is
// busy (a reload, a drain) does libmilter's thread take them.
void signal_loop(const Overrides& o, bool stderr_copy) {
    sigset_t set = handled_signals();
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (milter_returned.load()) return; // smfi_main() is over
        if (sig == SIGUSR1) {
            reload(o, stderr_copy);
            continue;
        }
        if (sig == SIGUSR2) {
            spdlog::info("counters: {}", Metrics::to_text(status_snapshot()));
            continue;
        }
        if (draining()) continue;
        spdlog::info("signal {}: stopping after sessions in flight", strsignal(sig));
        notify_stopping();
        start_draining();
        size_t left = wait_for_sessions(session_drain_limit);
        if (left)
            spdlog::warn("{} sessions still open after {} s; stopping anyway", left,
                         session_drain_limit.count());
        // libmilter's own signal thread may have stopped it meanwhile; a
        // second smfi_stop() after smfi_main() returned would use a destroyed mutex.
        if (!milter_returned.load()) smfi_stop();
    }
}

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

// The rule set as the daemon would load it, with lint's verdict.
std::optional<Error> check_rules(const Config& config, std::string* summary = nullptr) {
    LintReport lint;
    auto classifier = Classifier::load(config.rules, &lint);
    if (!classifier) return classifier.error();
    if (summary) *summary = classifier.value()->summary();
    return std::nullopt;
}

// -n: everything a start would check, without starting.
int check_configuration(const Overrides& o) {
    auto config = read_config(o);
    if (!config) return fail(config.error().to_string());
    std::string summary;
    if (auto e = check_rules(*config, &summary)) return fail(e->to_string());
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

// Everything after the fork(s): open the sockets (still root), drop
// privileges, build the working set as the service user, serve.
int run_milter(const CommandLine& cl, const Config& config, const SocketAccess& access,
               std::unique_ptr<ControlServer> control, int& ready_fd) {
    const MilterConfig& mc = config.milter;
    auto failed = [&](const std::string& msg) {
        spdlog::error("{}", msg);
        report_ready(ready_fd, msg);
        return 1;
    };
    SocketFile socket_file(unix_path(mc.socket)); // removed on every exit path
    // Debian's libmilter (worker pool) looks for timed-out sessions only every
    // 600 s, so a silent connection goes between timeout and timeout + 600 s.
    smfi_settimeout(static_cast<int>(mc.timeout.count()));
    raise_fd_limit();
    if (auto e = open_milter_socket(mc.socket, access)) return failed(e->to_string());
    if (control)
        if (auto e = control->set_access(access.mode, access.uid, access.gid))
            return failed(e->to_string());
    if (auto e = drop_privileges(mc.user)) return failed(e->to_string());

    // Only current_runtime() and the sessions hold a rule set, so that each
    // is freed (resolver thread, sockets, memory) once it is replaced and its
    // last session has ended.
    std::string first_set;
    {
        auto rt = build_runtime(cl.o, nullptr, cl.o.foreground);
        if (!rt) return failed(rt.error().to_string());
        first_set = rt.value()->classifier->summary();
        publish_rule_set(*rt.value());
        current_runtime().set(std::move(rt).value());
    }

    std::unique_ptr<MetricsHttp> http;
    if (!config.metrics.listen.empty()) {
        auto h = MetricsHttp::start(config.metrics.listen,
                                    [] { return Metrics::to_prometheus(status_snapshot()); });
        if (!h) return failed(h.error().to_string());
        http = std::move(h).value();
    }
    if (control) control->serve(answer_control);

    spdlog::info("listening on {}; rule set 1: {}{}{}", mc.socket, first_set,
                 control ? "; control socket " + control->path() : std::string(),
                 http ? "; metrics on http://" + config.metrics.listen + "/metrics"
                      : std::string());
    report_ready(ready_fd, "ok");
    notify_ready("listening on " + mc.socket + "; rule set 1: " + first_set);

    int rc = MI_SUCCESS;
    pthread_t main_thread = pthread_self();
    std::thread milter([&] {
        rc = smfi_main();
        milter_returned = true;
        pthread_kill(main_thread, SIGTERM); // wake the signal loop
    });
    signal_loop(cl.o, cl.o.foreground);
    milter.join();

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

} // namespace

int main(int argc, char** argv) {
    CommandLine cl;
    if (auto rc = parse_command_line(argc, argv, cl)) return *rc;

    // Before any thread exists, so every thread inherits the mask and only
    // the signal threads (ours, libmilter's) ever see these signals.
    sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    if (cl.check_only) return check_configuration(cl.o);
    auto config = read_config(cl.o);
    if (!config) return fail(config.error().to_string());
    setup_logging(config->log, cl.o.foreground);
    const MilterConfig& mc = config->milter;

    // The rules are loaded (and linted) once, after the privilege drop, as
    // the service user that reloads them; a refusal still reaches the
    // terminal: the parent waits for the ready report (or -f logs to stderr).
    auto access = socket_access(mc);
    if (!access) return fail(access.error().to_string());
    if (smfi_register(filter_description()) != MI_SUCCESS) return fail("smfi_register failed");
    std::unique_ptr<PidFile> pidfile;
    if (!mc.pidfile.empty()) {
        auto p = PidFile::acquire(mc.pidfile);
        if (!p) return fail(p.error().to_string());
        pidfile = std::move(p).value();
    }
    if (auto e = check_socket_free(mc.socket)) return fail(e->to_string());
    std::unique_ptr<ControlServer> control;
    if (auto e = open_control_socket(mc, control)) return fail(e->to_string());

    int ready_fd = -1;
    if (!cl.o.foreground && !daemonize(ready_fd))
        return fail(std::string("cannot fork: ") + std::strerror(errno));
    if (pidfile) pidfile->write_pid(getpid());
    if (will_drop_privileges(mc.user)) {
        // After the drop the milter cannot remove files in root's directories.
        std::string socket_path = unix_path(mc.socket);
        std::string control_path = control ? control->path() : std::string();
        fork_supervisor(ready_fd, [&] {
            if (!socket_path.empty()) unlink(socket_path.c_str());
            if (!control_path.empty()) unlink(control_path.c_str());
            if (pidfile) pidfile->remove();
        });
    }
    int rc = run_milter(cl, *config, *access, std::move(control), ready_fd);
    if (pidfile) pidfile->remove();
    return rc;
}
