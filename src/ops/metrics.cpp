// metrics.cpp — counters and their renderings (status JSON, Prometheus text, one log line).
#include "ip25b/metrics.hpp"

#include "ip25b/policy.hpp"
#include "ip25b/verdict.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>

namespace ip25b {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// Enumerates an enum through its to_string(): values from 0 up to the first
// one that prints "?", so new enumerators are picked up without a list here.
template <class E> std::vector<std::string> enum_names() {
    std::vector<std::string> out;
    for (unsigned i = 0; i < 64; ++i) {
        std::string_view s = to_string(static_cast<E>(i));
        if (s == "?") break;
        out.emplace_back(s);
    }
    return out;
}

// Prometheus label values: backslash, quote and newline escaped.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\', out += c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string number(double v) {
    return fmt::format("{}", v);
}

} // namespace

std::string_view to_string(MetricError e) {
    switch (e) {
    case MetricError::ReloadFailed:
        return "reload_failed";
    case MetricError::InternalError:
        return "internal_error";
    case MetricError::LogWrite:
        return "log_write";
    case MetricError::ReplyRefused:
        return "reply_refused";
    case MetricError::ControlRequest:
        return "control_request";
    }
    return "?";
}

Metrics::Metrics() : started_(std::chrono::steady_clock::now()) {}

Metrics& metrics() {
    static Metrics m;
    return m;
}

const std::vector<std::string>& Metrics::class_names() {
    static const std::vector<std::string> names = [] {
        auto v = enum_names<ClientClass>();
        for (const char* extra : {"exempt", "error", "other"})
            v.emplace_back(extra);
        if (v.size() > kMaxClasses) v.resize(kMaxClasses);
        return v;
    }();
    return names;
}

const std::vector<std::string>& Metrics::action_names() {
    static const std::vector<std::string> names = [] {
        auto v = enum_names<Action>();
        v.emplace_back("other");
        if (v.size() > kMaxActions) v.resize(kMaxActions);
        return v;
    }();
    return names;
}

size_t Metrics::class_index(std::string_view cls) {
    const auto& names = class_names();
    for (size_t i = 0; i + 1 < names.size(); ++i)
        if (names[i] == cls) return i;
    return names.size() - 1; // "other"
}

size_t Metrics::action_index(Action action) {
    // action_names() lists the enum in its order, "other" last.
    return std::min(static_cast<size_t>(action), action_names().size() - 1);
}

void Metrics::decision(const DecisionRecord& r) {
    // A dry run is counted under the action it would have taken.
    const Action action = r.dry_run ? r.would.value_or(r.action) : r.action;
    decisions_[class_index(r.cls)][action_index(action)][r.dry_run ? 1 : 0].fetch_add(1, relaxed);
    if (r.refused_before_auth) late_auth_.fetch_add(1, relaxed);
    if (r.dns_us >= 0) {
        double ms = static_cast<double>(r.dns_us) / 1000.0;
        size_t b = 0;
        while (b < kDnsBucketsMs.size() && ms > kDnsBucketsMs[b])
            ++b;
        dns_buckets_[b].fetch_add(1, relaxed);
        dns_count_.fetch_add(1, relaxed);
        dns_sum_us_.fetch_add(static_cast<uint64_t>(r.dns_us), relaxed);
    }
    if (r.cls == "error") error(MetricError::InternalError);
}

void Metrics::decision_log_write(bool written) {
    log_writable_.store(written, relaxed);
    if (written) return;
    log_dropped_.fetch_add(1, relaxed);
    error(MetricError::LogWrite);
}

void Metrics::rules_loaded(RuleSetInfo info) {
    std::lock_guard lock(rules_m_);
    rules_ = std::move(info);
}

Metrics::Snapshot Metrics::snapshot() const {
    Snapshot s;
    s.sessions = sessions_.load(relaxed);
    const auto& classes = class_names();
    const auto& actions = action_names();
    for (size_t c = 0; c < classes.size(); ++c)
        for (size_t a = 0; a < actions.size(); ++a)
            for (int d = 0; d < 2; ++d)
                if (uint64_t n = decisions_[c][a][d].load(relaxed))
                    s.decisions.push_back({classes[c], actions[a], d == 1, n});
    s.late_auth_passes = late_auth_.load(relaxed);
    for (size_t b = 0; b < s.dns_buckets.size(); ++b)
        s.dns_buckets[b] = dns_buckets_[b].load(relaxed);
    s.dns_count = dns_count_.load(relaxed);
    s.dns_sum_seconds = static_cast<double>(dns_sum_us_.load(relaxed)) / 1e6;
    for (size_t e = 0; e < kMetricErrors; ++e)
        s.errors[e] = errors_[e].load(relaxed);
    s.log_records_dropped = log_dropped_.load(relaxed);
    s.log_writable = log_writable_.load(relaxed);
    {
        std::lock_guard lock(rules_m_);
        s.rules = rules_;
    }
    s.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return s;
}

nlohmann::json Metrics::to_json(const Snapshot& s, bool with_rules) {
    nlohmann::json j;
    j["uptime_seconds"] = s.uptime_seconds;
    j["sessions"] = {{"total", s.sessions}, {"active", s.sessions_active}};
    j["decisions"] = nlohmann::json::array();
    for (const auto& d : s.decisions)
        j["decisions"].push_back(
            {{"class", d.cls}, {"action", d.action}, {"dry_run", d.dry_run}, {"count", d.count}});
    j["late_auth_passes"] = s.late_auth_passes;
    nlohmann::json buckets = nlohmann::json::array();
    for (size_t b = 0; b < s.dns_buckets.size(); ++b)
        buckets.push_back({{"le_ms", b < kDnsBucketsMs.size() ? nlohmann::json(kDnsBucketsMs[b])
                                                              : nlohmann::json("+Inf")},
                           {"count", s.dns_buckets[b]}});
    j["dns"] = {{"lookups", s.dns_count}, {"sum_seconds", s.dns_sum_seconds}, {"buckets", buckets}};
    if (s.resolver) {
        const auto& r = *s.resolver;
        j["cache"] = {{"hits", r.cache_hits},    {"misses", r.cache_misses},
                      {"size", r.cache.entries}, {"evictions", r.cache.evictions},
                      {"queries", r.queries},    {"timeouts", r.timeouts},
                      {"failures", r.failures},  {"in_flight", r.in_flight}};
    }
    nlohmann::json errors = nlohmann::json::object();
    for (size_t e = 0; e < kMetricErrors; ++e)
        errors[std::string(to_string(static_cast<MetricError>(e)))] = s.errors[e];
    j["errors"] = errors;
    j["decision_log"] = {{"records_dropped", s.log_records_dropped}, {"writable", s.log_writable}};
    j["rule_set"] = {{"generation", s.rules.generation},
                     {"load_seconds", s.rules.load_seconds},
                     {"loaded_at", s.rules.loaded_at},
                     {"files", s.rules.file_names.size()},
                     {"summary", s.rules.summary}};
    if (with_rules) {
        nlohmann::json files = nlohmann::json::array();
        for (size_t i = 0; i < s.rules.file_names.size(); ++i)
            files.push_back({{"file", s.rules.file_names[i]},
                             {"rules", i < s.rules.file_rules.size() ? s.rules.file_rules[i] : 0}});
        j["rule_set"]["file_list"] = files;
    }
    return j;
}

std::string Metrics::to_prometheus(const Snapshot& s) {
    std::string out;
    auto head = [&](const char* name, const char* type, const char* help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    head("ip25b_sessions_total", "counter", "SMTP sessions the milter saw (connects).");
    out += fmt::format("ip25b_sessions_total {}\n", s.sessions);
    head("ip25b_sessions_active", "gauge", "Sessions open now.");
    out += fmt::format("ip25b_sessions_active {}\n", s.sessions_active);
    head("ip25b_decisions_total", "counter",
         "Decision records by client class and action (dry runs under the action they would "
         "have taken).");
    for (const auto& d : s.decisions)
        out +=
            fmt::format("ip25b_decisions_total{{class=\"{}\",action=\"{}\",dry_run=\"{}\"}} {}\n",
                        label(d.cls), label(d.action), d.dry_run ? "true" : "false", d.count);
    head("ip25b_late_auth_passes_total", "counter",
         "Sessions refused first, then authenticated and passed.");
    out += fmt::format("ip25b_late_auth_passes_total {}\n", s.late_auth_passes);
    head("ip25b_dns_lookup_seconds", "histogram",
         "Wall time of the PTR lookups sessions waited for.");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < s.dns_buckets.size(); ++b) {
        cumulative += s.dns_buckets[b];
        std::string le = b < kDnsBucketsMs.size() ? number(kDnsBucketsMs[b] / 1000.0) : "+Inf";
        out += fmt::format("ip25b_dns_lookup_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
    }
    out += fmt::format("ip25b_dns_lookup_seconds_sum {}\n", number(s.dns_sum_seconds));
    out += fmt::format("ip25b_dns_lookup_seconds_count {}\n", s.dns_count);
    if (s.resolver) {
        const auto& r = *s.resolver;
        head("ip25b_cache_hits_total", "counter", "PTR cache hits.");
        out += fmt::format("ip25b_cache_hits_total {}\n", r.cache_hits);
        head("ip25b_cache_misses_total", "counter", "PTR cache misses.");
        out += fmt::format("ip25b_cache_misses_total {}\n", r.cache_misses);
        head("ip25b_cache_entries", "gauge", "Addresses in the PTR cache.");
        out += fmt::format("ip25b_cache_entries {}\n", r.cache.entries);
        head("ip25b_dns_queries_total", "counter", "DNS queries sent.");
        out += fmt::format("ip25b_dns_queries_total {}\n", r.queries);
        head("ip25b_dns_timeouts_total", "counter", "Lookups answered by the deadline.");
        out += fmt::format("ip25b_dns_timeouts_total {}\n", r.timeouts);
    }
    head("ip25b_errors_total", "counter", "Failures that did not stop the milter, by kind.");
    for (size_t e = 0; e < kMetricErrors; ++e)
        out += fmt::format("ip25b_errors_total{{kind=\"{}\"}} {}\n",
                           to_string(static_cast<MetricError>(e)), s.errors[e]);
    head("ip25b_decision_log_records_dropped_total", "counter",
         "Decision records that could not be written to the JSON file (full disk, I/O error).");
    out += fmt::format("ip25b_decision_log_records_dropped_total {}\n", s.log_records_dropped);
    head("ip25b_decision_log_writable", "gauge",
         "1 when the last decision record was written to the JSON file, 0 when it was dropped.");
    out += fmt::format("ip25b_decision_log_writable {}\n", s.log_writable ? 1 : 0);
    head("ip25b_rule_set_generation", "gauge", "1 for the first rule set, +1 per reload.");
    out += fmt::format("ip25b_rule_set_generation {}\n", s.rules.generation);
    head("ip25b_rule_set_load_seconds", "gauge", "Time to load and check the rule set in force.");
    out += fmt::format("ip25b_rule_set_load_seconds {}\n", number(s.rules.load_seconds));
    head("ip25b_rule_set_loaded_timestamp_seconds", "gauge",
         "When the rule set in force was loaded.");
    out += fmt::format("ip25b_rule_set_loaded_timestamp_seconds {}\n", s.rules.loaded_at);
    head("ip25b_rule_files", "gauge", "Rule files in the set in force.");
    out += fmt::format("ip25b_rule_files {}\n", s.rules.file_names.size());
    head("ip25b_uptime_seconds", "gauge", "Seconds since the milter started.");
    out += fmt::format("ip25b_uptime_seconds {}\n", number(s.uptime_seconds));
    return out;
}

std::string Metrics::to_text(const Snapshot& s) {
    std::string out = fmt::format(
        "sessions {} ({} open); rule set {} ({} files, loaded in {:.3f} s)", s.sessions,
        s.sessions_active, s.rules.generation, s.rules.file_names.size(), s.rules.load_seconds);
    std::string decisions;
    for (const auto& d : s.decisions)
        decisions += fmt::format("{}{} {}{}={}", decisions.empty() ? "" : ", ", d.cls,
                                 d.dry_run ? "would-" : "", d.action, d.count);
    out += "; decisions: " + (decisions.empty() ? std::string("none") : decisions);
    if (s.late_auth_passes) out += fmt::format(" (late-auth passes {})", s.late_auth_passes);
    if (s.resolver)
        out += fmt::format("; cache hits {} misses {} size {}", s.resolver->cache_hits,
                           s.resolver->cache_misses, s.resolver->cache.entries);
    out += fmt::format("; dns lookups {} avg {:.1f} ms", s.dns_count,
                       s.dns_count ? s.dns_sum_seconds * 1000.0 / double(s.dns_count) : 0.0);
    std::string errors;
    for (size_t e = 0; e < kMetricErrors; ++e)
        if (s.errors[e])
            errors += fmt::format("{}{}={}", errors.empty() ? "" : ", ",
                                  to_string(static_cast<MetricError>(e)), s.errors[e]);
    out += "; errors: " + (errors.empty() ? std::string("none") : errors);
    if (s.log_records_dropped || !s.log_writable)
        out += fmt::format("; decision log: {} records dropped{}", s.log_records_dropped,
                           s.log_writable ? "" : ", not writable now");
    return out;
}

} // namespace ip25b
