// cli_update.cpp — `ip25b update`: fetch every subscribed feed, install what verifies, reload.
//
// Run by a systemd timer (contrib/systemd/ip25b-update.timer) or cron. Each
// feed goes through update_feed(); a failure is one log line naming the feed,
// the reason and the serial that stays in force. When at least one feed
// installed a new serial, the running milter gets SIGUSR1 (pid from
// [milter] pidfile) and rebuilds its rule set. `--list` prints each feed's
// serial, age, expiry and last error from the state files, fetching nothing.
#include "ip25b/cli.hpp"
#include "ip25b/config.hpp"
#include "ip25b/feed_update.hpp"
#include "ip25b/install_paths.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace ip25b::cli {

namespace {

// One line to stderr (the journal, under systemd) and to syslog LOG_MAIL.
void log_line(int prio, const std::string& text) {
    std::fprintf(stderr, "ip25b update: %s\n", text.c_str());
    syslog(prio, "%s", text.c_str());
}

std::string span(std::chrono::seconds s) {
    auto v = s.count();
    if (v < 0) return "in " + span(std::chrono::seconds(-v));
    if (v < 120) return fmt::format("{}s", v);
    if (v < 7200) return fmt::format("{}m", v / 60);
    if (v < 172800) return fmt::format("{}h", v / 3600);
    return fmt::format("{}d", v / 86400);
}

int list(const Config& c, std::chrono::sys_seconds now) {
    std::printf("%-24s %8s %8s %-22s %-10s %s\n", "feed", "serial", "age", "expires", "checked",
                "last error");
    for (const auto& f : c.feeds) {
        auto st = load_feed_state(feed_directory(c.update.state_dir, f.name));
        if (!st) {
            std::printf("%-24s %s\n", f.name.c_str(), st.error().to_string().c_str());
            continue;
        }
        const FeedState& s = st.value();
        bool ever_checked = s.checked_at.time_since_epoch().count() != 0;
        std::string expires = s.serial ? format_utc(s.expires) : "-";
        if (s.serial && s.expires <= now) expires += " EXPIRED";
        std::printf("%-24s %8s %8s %-22s %-10s %s\n", f.name.c_str(),
                    s.serial ? std::to_string(s.serial).c_str() : "-",
                    s.serial ? span(now - s.published).c_str() : "-", expires.c_str(),
                    ever_checked ? (span(now - s.checked_at) + " ago").c_str() : "never",
                    s.last_error.empty() ? "-" : s.last_error.c_str());
    }
    return 0;
}

// SIGUSR1 to the milter named by the pidfile; says what happened.
void reload_milter(const Config& c) {
    if (c.milter.pidfile.empty()) {
        log_line(LOG_WARNING, "no [milter] pidfile configured: reload the milter yourself "
                              "(SIGUSR1) to use the new rules");
        return;
    }
    std::ifstream in(c.milter.pidfile);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        log_line(LOG_WARNING, fmt::format("{}: no milter pid; the new rules load when the "
                                          "milter starts",
                                          c.milter.pidfile));
        return;
    }
    // A stale pid file may name another process now; SIGUSR1 would kill it.
    std::string comm;
    std::ifstream(fmt::format("/proc/{}/comm", pid)) >> comm;
    if (comm != "ip25b-milter") {
        log_line(LOG_WARNING, fmt::format("{}: pid {} is not a running ip25b-milter ({}); not "
                                          "signalled",
                                          c.milter.pidfile, pid, comm.empty() ? "gone" : comm));
        return;
    }
    if (::kill(static_cast<pid_t>(pid), SIGUSR1) != 0) {
        log_line(LOG_WARNING, fmt::format("cannot signal milter pid {} from {}: {}", pid,
                                          c.milter.pidfile, std::strerror(errno)));
        return;
    }
    log_line(LOG_INFO, fmt::format("asked the milter (pid {}) to reload", pid));
}

int update(const Config& c, const std::vector<std::string>& only, bool force, bool reload) {
    std::error_code ec;
    std::filesystem::create_directories(c.update.state_dir, ec);
    if (ec) {
        log_line(LOG_ERR, fmt::format("{}: {}", c.update.state_dir, ec.message()));
        return 1;
    }
    // Timer and operator may run at once; one at a time per state directory.
    std::string lock_path = c.update.state_dir + "/.lock";
    int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
        log_line(LOG_ERR, fmt::format("{}: another ip25b update is running ({})", lock_path,
                                      std::strerror(errno)));
        if (lock >= 0) ::close(lock);
        return 1;
    }
    for (const auto& name : only) {
        bool known = false;
        for (const auto& f : c.feeds)
            known = known || f.name == name;
        if (!known) {
            log_line(LOG_ERR, fmt::format("{}: no [[feeds]] entry named {}", c.file, name));
            ::close(lock);
            return 2;
        }
    }
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    bool failed = false, installed = false;
    for (const auto& f : c.feeds) {
        if (!only.empty() && std::find(only.begin(), only.end(), f.name) == only.end()) continue;
        auto r = update_feed(f, c.update.state_dir, force, now);
        switch (r.status) {
        case FeedUpdateStatus::Installed:
            installed = true;
            log_line(LOG_INFO, fmt::format("feed {}: {} ({} bytes fetched)", f.name, r.message,
                                           r.bytes_fetched));
            break;
        case FeedUpdateStatus::Unchanged:
            log_line(LOG_INFO, fmt::format("feed {}: {} ({} bytes fetched)", f.name, r.message,
                                           r.bytes_fetched));
            break;
        case FeedUpdateStatus::NotDue:
            log_line(LOG_DEBUG, fmt::format("feed {}: not due: {}", f.name, r.message));
            break;
        case FeedUpdateStatus::Failed:
            failed = true;
            log_line(LOG_ERR, fmt::format("feed {}: FAILED: {}", f.name, r.message));
            break;
        }
    }
    ::close(lock);
    if (installed && reload) reload_milter(c);
    return failed ? 1 : 0;
}

} // namespace

void add_update_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::string config = install_paths().config_file;
        std::vector<std::string> feeds;
        bool force = false, no_reload = false, list = false;
    };
    auto opt = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "update",
        "Fetch the subscribed rule feeds ([[feeds]]), verify, install, reload the milter");
    cmd->add_option("-c,--config", opt->config, "configuration file")->capture_default_str();
    cmd->add_option("feeds", opt->feeds, "only these feeds (default: all)");
    cmd->add_flag("-f,--force", opt->force,
                  "fetch even when a feed's refresh interval has not "
                  "passed");
    cmd->add_flag("--no-reload", opt->no_reload, "do not signal the milter");
    cmd->add_flag("-l,--list", opt->list,
                  "show each feed's serial, age, expiry, last check and last error; fetch nothing");
    cmd->callback([opt, &exit_code] {
        openlog("ip25b-update", LOG_PID, LOG_MAIL);
        auto c = load_config(opt->config);
        if (!c) {
            std::fprintf(stderr, "ip25b update: %s\n", c.error().to_string().c_str());
            exit_code = 2;
            return;
        }
        if (c->feeds.empty()) {
            std::fprintf(stderr, "ip25b update: %s has no [[feeds]]\n", opt->config.c_str());
            exit_code = opt->list ? 0 : 2;
            return;
        }
        auto now =
            std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        exit_code = opt->list ? list(c.value(), now)
                              : update(c.value(), opt->feeds, opt->force, !opt->no_reload);
    });
}

} // namespace ip25b::cli
