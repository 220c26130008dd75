// decision_log.cpp — JSON lines to a file, a short line to syslog (LOG_MAIL).
#include "ip25b/decision_log.hpp"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace ip25b {

struct DecisionLog::Impl {
    DecisionLogConfig config;
    std::mutex mutex;
    int fd = -1;
    std::shared_ptr<spdlog::logger> syslog;
};

namespace {

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

bool write_all(int fd, const std::string& data) {
    size_t done = 0;
    for (int tries = 0; done < data.size() && tries < 100; ++tries) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return done == data.size();
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
    std::lock_guard lock(impl_->mutex);
    bool written = impl_->fd < 0 || write_all(impl_->fd, json);
    if (!written && impl_->syslog)
        impl_->syslog->error("cannot write {}: {}", impl_->config.json_file, std::strerror(errno));
    if (impl_->syslog) {
        if (is_refusal(record.action))
            impl_->syslog->warn(line);
        else
            impl_->syslog->info(line);
    }
    if (impl_->config.stderr_copy) std::cerr << line << std::endl;
    return written;
}

std::optional<Error> DecisionLog::reopen() {
    if (impl_->config.json_file.empty()) return std::nullopt;
    std::string err;
    int fd = open_append(impl_->config.json_file, err);
    if (fd < 0) return Error{impl_->config.json_file, 0, "cannot reopen decision log: " + err};
    std::lock_guard lock(impl_->mutex);
    if (impl_->fd >= 0) ::close(impl_->fd);
    impl_->fd = fd;
    return std::nullopt;
}

} // namespace ip25b
