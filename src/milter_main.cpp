// milter_main.cpp — the ip25b-milter daemon: options, start-up order, signals, shutdown.
//
// Start-up order matters: signals are blocked before any thread exists (the
// resolver's, libmilter's), the listening socket, pid file and logs are
// opened while still privileged, then privileges are dropped, then
// libmilter runs.
//
// Signals (the main thread waits for them; libmilter runs in another thread):
//   SIGUSR1  reload: re-read the config file and every rule file, build a new
//            working set completely and swap it in; sessions in flight finish
//            with the set they started with; a broken file keeps the old set
//            and is logged as file:line: reason. Also reopens the decision
//            log file (log rotation).
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
#include "milter_runtime.hpp"
#include "milter_session.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
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
    for (std::string prefix : {"pcre:", "regexp:"})
        if (p.rfind(prefix, 0) == 0) return prefix + absolute(p.substr(prefix.size()));
    return absolute(p);
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
    auto level = log.level == "debug"     ? spdlog::level::debug
                 : log.level == "warning" ? spdlog::level::warn
                 : log.level == "error"   ? spdlog::level::err
                                          : spdlog::level::info;
    logger->set_level(level);
    logger->flush_on(spdlog::level::debug);
    spdlog::set_default_logger(logger);
}

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

std::atomic<bool> milter_returned{false};

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
    auto old = current_runtime().get();
    auto next = build_runtime(o, old, stderr_copy);
    if (!next) {
        spdlog::error("reload failed, still running rule set {}: {}", old ? old->generation : 0,
                      next.error().to_string());
        return;
    }
    current_runtime().set(next.value());
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
        if (draining()) continue;
        spdlog::info("signal {}: stopping after sessions in flight", strsignal(sig));
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

bool drop_privileges(const std::string& user, std::string& error) {
    if (user.empty()) return true;
    errno = 0;
    struct passwd* pw = getpwnam(user.c_str());
    if (!pw) {
        error = "unknown user " + user;
        return false;
    }
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid) return true;
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        error = "cannot become " + user + ": " + std::strerror(errno);
        return false;
    }
    if (setuid(0) == 0) {
        error = "privileges could be regained after dropping them";
        return false;
    }
    return true;
}

// Forks into the background. The parent stays until the child reports that
// it is listening (or why it is not), so an init script sees the real status.
int daemonize(int& ready_fd) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) {
        close(p[1]);
        std::string msg;
        char buf[512];
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            msg.append(buf, static_cast<size_t>(n));
        if (msg == "ok") _exit(0);
        std::cerr << "ip25b-milter: " << (msg.empty() ? "daemon exited during start-up" : msg)
                  << std::endl;
        _exit(1);
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
    }
    return 0;
}

void report_ready(int& fd, const std::string& msg) {
    if (fd < 0) return;
    [[maybe_unused]] auto n = write(fd, msg.data(), msg.size());
    close(fd);
    fd = -1;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"ip25b-milter — refuse direct-to-MX mail from dynamic addresses (IP25B)"};
    Overrides o;
    bool check_only = false;
    app.add_option("-c,--config", o.config_file, "configuration file (TOML)");
    app.add_flag("-f,--foreground", o.foreground, "stay in the foreground, log to stderr too");
    app.add_option("-p,--socket", o.socket,
                   "listen on inet:PORT@HOST, inet6:PORT@HOST, unix:/PATH");
    app.add_option("-u,--user", o.user, "run as USER after opening sockets and files");
    app.add_option("-P,--pidfile", o.pidfile, "write the process id to PIDFILE");
    app.add_flag("-n,--check", check_only, "load the configuration and rules, report, exit 0/1");
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
    CLI11_PARSE(app, argc, argv);

    o.config_file = absolute(o.config_file);
    o.pidfile = absolute(o.pidfile);
    for (auto& r : o.rules)
        r = absolute_rule(r);

    // Before any thread exists, so every thread inherits the mask and only
    // the signal threads (ours, libmilter's) ever see these signals.
    sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto config = read_config(o);
    if (!config) {
        std::cerr << "ip25b-milter: " << config.error().to_string() << std::endl;
        return 1;
    }
    if (check_only) {
        auto classifier = Classifier::load(config->rules);
        if (!classifier) {
            std::cerr << "ip25b-milter: " << classifier.error().to_string() << std::endl;
            return 1;
        }
        std::cout << "ip25b-milter: configuration "
                  << (o.config_file.empty() ? "(defaults)" : o.config_file) << " OK; "
                  << classifier.value()->summary() << std::endl;
        return 0;
    }
    setup_logging(config->log, o.foreground);
    const MilterConfig& mc = config->milter;

    // Fail in the foreground, with a clear message, on what would otherwise
    // only show in syslog after the fork.
    if (auto classifier = Classifier::load(config->rules); !classifier) {
        std::cerr << "ip25b-milter: " << classifier.error().to_string() << std::endl;
        return 1;
    }
    if (smfi_register(filter_description()) != MI_SUCCESS) {
        std::cerr << "ip25b-milter: smfi_register failed" << std::endl;
        return 1;
    }
    // Debian's libmilter (worker pool) looks for timed-out sessions only every
    // 600 s, so a silent connection goes between timeout and timeout + 600 s.
    smfi_settimeout(static_cast<int>(mc.timeout.count()));
    raise_fd_limit();
    std::string socket = mc.socket;
    if (smfi_setconn(socket.data()) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        std::cerr << "ip25b-milter: cannot listen on " << socket << std::endl;
        return 1;
    }
    int pid_fd = -1;
    if (!mc.pidfile.empty()) {
        pid_fd = open(mc.pidfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (pid_fd < 0) {
            std::cerr << "ip25b-milter: " << mc.pidfile << ": " << std::strerror(errno)
                      << std::endl;
            return 1;
        }
    }

    int ready_fd = -1;
    if (!o.foreground && daemonize(ready_fd) != 0) {
        std::cerr << "ip25b-milter: cannot fork: " << std::strerror(errno) << std::endl;
        return 1;
    }
    if (pid_fd >= 0) {
        std::string pid = std::to_string(getpid()) + "\n";
        [[maybe_unused]] auto n = write(pid_fd, pid.data(), pid.size());
        close(pid_fd);
    }

    auto rt = build_runtime(o, nullptr, o.foreground);
    if (!rt) {
        spdlog::error("{}", rt.error().to_string());
        report_ready(ready_fd, rt.error().to_string());
        return 1;
    }
    current_runtime().set(rt.value());

    if (!mc.user.empty()) {
        // The MTA (running as its own user) must reach a unix socket, and we
        // must be able to remove it at exit.
        if (socket.rfind("unix:", 0) == 0 || socket.rfind("local:", 0) == 0) {
            std::string path = socket.substr(socket.find(':') + 1);
            if (struct passwd* pw = getpwnam(mc.user.c_str()))
                if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                    spdlog::warn("chown {}: {}", path, std::strerror(errno));
        }
        std::string error;
        if (!drop_privileges(mc.user, error)) {
            spdlog::error("{}", error);
            report_ready(ready_fd, error);
            return 1;
        }
    }

    spdlog::info("listening on {}; rule set 1: {}", socket, rt.value()->classifier->summary());
    report_ready(ready_fd, "ok");

    int rc = MI_SUCCESS;
    pthread_t main_thread = pthread_self();
    std::thread milter([&] {
        rc = smfi_main();
        milter_returned = true;
        pthread_kill(main_thread, SIGTERM); // wake the signal loop
    });
    signal_loop(o, o.foreground);
    milter.join();

    // Records of sessions that were decided but never closed (libmilter's
    // thread took the stop signal, or the drain limit passed).
    size_t flushed = flush_live_records();
    spdlog::info("stopped ({} sessions still open, {} pending records written)", live_sessions(),
                 flushed);
    if (!mc.pidfile.empty()) unlink(mc.pidfile.c_str());
    current_runtime().set(nullptr);
    return rc == MI_SUCCESS ? 0 : 1;
}
