// decision_log.cpp — JSON lines to a file, a short line to syslog (LOG_MAIL).
#include "ip25b/decision_log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace ip25b {

struct DecisionLog::Impl {
    DecisionLogConfig config;
    int fd = -1;
    // The file ends in a partial line that could not be cut off: the next
    // record starts with a newline, so it stands on its own line.
    bool torn = false;
    std::atomic<uint64_t> written{0}, dropped{0};
    std::atomic<bool> failing{false};
    // Under the file mutex: records dropped since the log failed / since the
    // last line said so, fragments left in the file since it failed.
    uint64_t dropped_in_outage = 0, dropped_since_alarm = 0, fragments_in_outage = 0;
    std::chrono::steady_clock::time_point last_alarm;
    std::shared_ptr<spdlog::logger> syslog;
};

namespace {

// One lock for every DecisionLog in the process, not one per object: across
// a reload that changed log.syslog the old and the new object append to the
// same file for a while, and the cleanup after a short write (below) must not
// cut off a record the other one appended in between.
std::mutex& file_mutex() {
    static std::mutex m;
    return m;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    time_t secs = static_cast<time_t>(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us % 1000000));
    return buf;
}

// O_APPEND so several writers (and a rotated-away file) never interleave
// partial lines; one write(2) per record.
int open_append(const std::string& path, std::string& error) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) error = std::strerror(errno);
    return fd;
}

// True when the file at `path` is not empty and does not end in a newline
// (a crash or an older version left a partial line): the next record must
// then start on a fresh line. Unreadable counts as clean.
bool ends_mid_line(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    struct stat st;
    char last = '\n';
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        ::pread(fd, &last, 1, st.st_size - 1) != 1)
        last = '\n';
    ::close(fd);
    return last != '\n';
}

struct Append {
    bool whole = false; // the record is in the file
    int error = 0;      // errno of the failed write
    bool torn = false;  // part of it stayed in the file (the cleanup failed)
    int cleanup_error = 0;
};

// Appends `data` as a whole or not at all. With O_APPEND one write(2) per
// record keeps concurrent writers from interleaving, but it can still be
// short: on ENOSPC, EDQUOT or EFBIG the kernel writes what fits and fails
// the rest. Of the ways out, cutting the partial bytes off again
// (ftruncate to the offset the record began at) is the one that leaves the
// file exactly as if the record had never been tried: every line stays one
// complete JSON object for `ip25b report`, jq and the like, nothing is glued
// onto a fragment, and a later append lands on a fresh line with no state
// to carry, and it costs nothing until a write fails (reserving the space
// first with fallocate(2) would cost a call per record and is not supported
// everywhere). The offset is exact even under O_APPEND: after each write the
// descriptor's offset is the end of the bytes that write put in. It is cut
// only when those bytes are contiguous and still the end of the file (fstat),
// so a record another process appended meanwhile is never cut; writers in
// this process hold file_mutex(). Should the cut be impossible (EIO, someone
// appended after us), the fragment stays, is counted with the dropped record,
// and the caller starts the next record with a newline so the fragment is a
// line of its own that no JSON parser accepts.
Append append_whole(int fd, const std::string& data) {
    Append r;
    size_t done = 0;
    off_t begin = -1, end = -1; // file range of the bytes written so far
    bool contiguous = true;
    for (int tries = 0; done < data.size() && tries < 100; ++tries) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            r.error = n < 0 ? errno : ENOSPC;
            break;
        }
        off_t now = ::lseek(fd, 0, SEEK_CUR);
        if (now < n) {
            contiguous = false;
        } else {
            if (done == 0)
                begin = now - n;
            else if (now - n != end)
                contiguous = false;
            end = now;
        }
        done += static_cast<size_t>(n);
    }
    if (done == data.size()) {
        r.whole = true;
        return r;
    }
    if (r.error == 0) r.error = EIO; // gave up after 100 short writes
    if (done == 0) return r;
    struct stat st;
    if (!contiguous || begin < 0) {
        r.cleanup_error = ESPIPE;
    } else if (::fstat(fd, &st) != 0) {
        r.cleanup_error = errno;
    } else if (st.st_size != end) {
        r.cleanup_error = EBUSY; // appended to meanwhile: not ours to cut
    } else if (::ftruncate(fd, begin) != 0) {
        r.cleanup_error = errno;
    }
    r.torn = r.cleanup_error != 0;
    return r;
}

// A failure of the decision log, to stderr and syslog (LOG_MAIL) whatever
// log.syslog says: dropping records must never go unnoticed. syslog(3)
// without a prior openlog() still reaches the mail log, named after the
// program.
void alarm(const DecisionLogConfig& config, int priority, const std::string& text) {
    char stamp[32];
    time_t now = time(nullptr);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    std::string line = std::string(stamp) + " " + config.ident + "[" + std::to_string(getpid()) +
                       "] " + (priority <= LOG_ERR ? "error" : "notice") + ": " + text + "\n";
    // One write(2), so concurrent lines do not interleave.
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    ::syslog(LOG_MAIL | priority, "%s", text.c_str());
}

} // namespace

DecisionLog::DecisionLog() : impl_(std::make_unique<Impl>()) {}

DecisionLog::~DecisionLog() {
    if (impl_ && impl_->fd >= 0) ::close(impl_->fd);
}

Expected<std::shared_ptr<DecisionLog>> DecisionLog::open(const DecisionLogConfig& config) {
    std::shared_ptr<DecisionLog> log(new DecisionLog());
    log->impl_->config = config;
    if (!config.json_file.empty()) {
        std::string err;
        log->impl_->fd = open_append(config.json_file, err);
        if (log->impl_->fd < 0)
            return Error{config.json_file, 0, "cannot open decision log: " + err};
        log->impl_->torn = ends_mid_line(config.json_file);
        // A file-size limit (ulimit -f, LimitFSIZE=) makes the write that
        // crosses it raise SIGXFSZ, whose default action ends the process:
        // ignored, the write fails with EFBIG and the record is dropped like
        // on a full disk. A handler someone installed is left alone.
        struct sigaction old {};
        if (sigaction(SIGXFSZ, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
            signal(SIGXFSZ, SIG_IGN);
    }
    if (config.syslog) {
        // openlog(3) state is per process and the sink's destructor calls
        // closelog(), so every DecisionLog (a reload makes a new one while
        // the old one still writes for sessions in flight) shares one sink.
        static auto sink =
            std::make_shared<spdlog::sinks::syslog_sink_mt>(config.ident, LOG_PID, LOG_MAIL, false);
        log->impl_->syslog = std::make_shared<spdlog::logger>("ip25b-decisions", sink);
        log->impl_->syslog->set_pattern("%v");
        log->impl_->syslog->flush_on(spdlog::level::trace);
    }
    return log;
}

const DecisionLogConfig& DecisionLog::config() const {
    return impl_->config;
}

DecisionLog::Stats DecisionLog::stats() const {
    return {impl_->written.load(), impl_->dropped.load(), !impl_->failing.load()};
}

std::string DecisionLog::to_json(const DecisionRecord& r) {
    nlohmann::json j;
    j["time"] = iso_time(r.time);
    j["session"] = r.session;
    j["client_ip"] = r.client_ip;
    j["client_port"] = r.client_port;
    j["ptr"] = r.ptr;
    j["ptr_status"] = r.ptr_status;
    j["fcrdns"] = r.ptr_status == "confirmed";
    j["class"] = r.cls;
    j["isp"] = r.isp;
    j["feed"] = r.feed;
    j["rule"] = r.rule;
    j["rule_file"] = r.rule_file;
    j["rule_line"] = r.rule_line;
    if (r.score >= 0) {
        j["score"] = r.score;
        j["weighed"] = r.weighed;
    }
    j["action"] = to_string(r.action);
    j["reason"] = r.reason;
    j["stage"] = r.stage;
    j["dry_run"] = r.dry_run;
    auto optional_action = [](const std::optional<Action>& a) {
        return a ? nlohmann::json(to_string(*a)) : nlohmann::json(nullptr);
    };
    j["would"] = optional_action(r.would);
    j["refused_before_auth"] = optional_action(r.refused_before_auth);
    j["reply"] = r.reply;
    j["helo"] = r.helo;
    j["sender"] = r.sender;
    j["recipients"] = r.recipients;
    j["auth"] = r.auth;
    j["queue_id"] = r.queue_id;
    if (r.dns_us >= 0)
        j["dns_ms"] = static_cast<double>(r.dns_us) / 1000.0;
    else
        j["dns_ms"] = nullptr;
    j["dns_detail"] = r.dns_detail;
    // Names and addresses come from the network; replace anything that is not UTF-8.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DecisionLog::to_line(const DecisionRecord& r) {
    std::string s = r.session + ": " + std::string(to_string(r.action));
    if (r.dry_run)
        s += " (dry-run: would " + std::string(to_string(r.would.value_or(r.action))) + ")";
    if (r.refused_before_auth)
        s += " (" + std::string(to_string(*r.refused_before_auth)) + " lifted by AUTH)";
    s += " client=" + (r.client_ip.empty() ? "unknown" : r.client_ip) +
         " ptr=" + (r.ptr.empty() ? r.ptr_status : r.ptr) + " class=" + r.cls;
    if (!r.isp.empty()) s += " isp=\"" + r.isp + "\"";
    if (!r.feed.empty()) s += " feed=\"" + r.feed + "\"";
    if (!r.rule.empty()) s += " rule=\"" + r.rule + "\"";
    if (r.score >= 0) s += " score=" + std::to_string(r.score);
    s += " stage=" + r.stage;
    if (!r.queue_id.empty()) s += " queue_id=" + r.queue_id;
    if (!r.sender.empty()) s += " from=<" + r.sender + ">";
    if (!r.recipients.empty()) s += " to=<" + r.recipients.front() + ">";
    if (r.recipients.size() > 1) s += "+" + std::to_string(r.recipients.size() - 1);
    s += " reason=\"" + r.reason + "\"";
    for (char& ch : s)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) == 0x7f)
            ch = '?';
    return s;
}

bool DecisionLog::write(const DecisionRecord& record) {
    std::string json = to_json(record) + "\n";
    std::string line = to_line(record);
    Impl& im = *impl_;
    std::string report; // said after the lock is released
    int report_priority = LOG_ERR;
    bool written = true;
    {
        std::lock_guard lock(file_mutex());
        if (im.fd >= 0) {
            Append a = append_whole(im.fd, im.torn ? "\n" + json : json);
            written = a.whole;
            if (a.whole) {
                im.torn = false;
                im.written.fetch_add(1);
                if (im.failing.exchange(false)) {
                    report = fmt::format("decision log {} writable again after {} dropped records",
                                         im.config.json_file, im.dropped_in_outage);
                    if (im.fragments_in_outage)
                        report += fmt::format(" ({} of them left a partial line in the file)",
                                              im.fragments_in_outage);
                    report_priority = LOG_NOTICE;
                    im.dropped_in_outage = im.fragments_in_outage = 0;
                }
            } else {
                im.dropped.fetch_add(1);
                ++im.dropped_in_outage;
                ++im.dropped_since_alarm;
                std::string torn;
                if (a.torn) {
                    im.torn = true;
                    ++im.fragments_in_outage;
                    torn = fmt::format("; a partial line stays in the file (cannot cut it off: {})",
                                       std::strerror(a.cleanup_error));
                }
                const auto now = std::chrono::steady_clock::now();
                if (!im.failing.exchange(true)) {
                    report = fmt::format("cannot write decision log {}: {}; record of session {} "
                                         "dropped, and every record until the file is writable "
                                         "again{}",
                                         im.config.json_file, std::strerror(a.error),
                                         record.session, torn);
                    im.last_alarm = now;
                    im.dropped_since_alarm = 0;
                } else if (now - im.last_alarm >= im.config.alarm_interval) {
                    report = fmt::format("decision log {} still not writable ({}): {} more "
                                         "records dropped, {} since it failed{}",
                                         im.config.json_file, std::strerror(a.error),
                                         im.dropped_since_alarm, im.dropped_in_outage, torn);
                    if (im.fragments_in_outage && !a.torn)
                        report += fmt::format("; {} partial lines stay in the file",
                                              im.fragments_in_outage);
                    im.last_alarm = now;
                    im.dropped_since_alarm = 0;
                }
            }
        }
        if (im.syslog) {
            if (is_refusal(record.action))
                im.syslog->warn(line);
            else
                im.syslog->info(line);
        }
        if (im.config.stderr_copy) std::cerr << line << std::endl;
    }
    if (!report.empty()) alarm(im.config, report_priority, report);
    return written;
}

std::optional<Error> DecisionLog::reopen() {
    if (impl_->config.json_file.empty()) return std::nullopt;
    std::string err;
    int fd = open_append(impl_->config.json_file, err);
    if (fd < 0) return Error{impl_->config.json_file, 0, "cannot reopen decision log: " + err};
    bool torn = ends_mid_line(impl_->config.json_file);
    std::lock_guard lock(file_mutex());
    if (impl_->fd >= 0) ::close(impl_->fd);
    impl_->fd = fd;
    impl_->torn = torn;
    return std::nullopt;
}

} // namespace ip25b
