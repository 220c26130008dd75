// ip25b/metrics.hpp — the running milter's counters, cheap to bump, rendered on demand.
//
// An operator asks "how many sessions did it refuse, by class, how fast is
// DNS, which rule set is loaded, did anything fail" without reading logs. The
// milter threads bump relaxed atomics (no lock, no allocation on the hot
// path); `ip25b status` (control socket, JSON) and the Prometheus exporter
// (text format) render a snapshot. Classes come from ClientClass through
// to_string(), so a class added to verdict.hpp is counted without code here.
#pragma once

#include "ip25b/decision_log.hpp"
#include "ip25b/resolver.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ip25b {

// What can go wrong without stopping the milter.
enum class MetricError : uint8_t {
    ReloadFailed,   // SIGUSR1 kept the old rule set
    InternalError,  // a session could not be classified (policy.internal_error applied)
    LogWrite,       // a decision record could not be written to the JSON file
    ReplyRefused,   // libmilter refused the reply text (the MTA used its own)
    ControlRequest, // a bad request on the control socket
};
inline constexpr size_t kMetricErrors = 5;
std::string_view to_string(MetricError e);

// The rule set in force, as the status command lists it.
struct RuleSetInfo {
    unsigned generation = 0;
    double load_seconds = 0;             // config + rules + lint, wall time
    int64_t loaded_at = 0;               // Unix time
    std::vector<std::string> file_names; // every file read, in load order
    std::vector<size_t> file_rules;      // rules per file (same order)
    std::string summary;                 // Classifier::summary()
};

// Upper bounds (ms) of the DNS latency histogram buckets; +Inf is implied.
inline constexpr std::array<double, 12> kDnsBucketsMs = {1,   2,   5,   10,   25,   50,
                                                         100, 250, 500, 1000, 2500, 5000};

class Metrics {
  public:
    // Class names counted: every ClientClass (via to_string) plus "exempt"
    // and "error", the record's other values; anything else is "other".
    static const std::vector<std::string>& class_names();
    static const std::vector<std::string>& action_names();

    void session_opened() { sessions_.fetch_add(1, std::memory_order_relaxed); }
    // Counts one written decision record: class, effective or would-be action,
    // dry run, DNS time, late authentication.
    void decision(const DecisionRecord& r);
    void error(MetricError e) {
        errors_[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
    }
    // The outcome of one DecisionLog::write(): false counts a dropped record
    // (and a LogWrite error) and marks the log not writable until a write succeeds.
    void decision_log_write(bool written);
    void rules_loaded(RuleSetInfo info);

    struct Snapshot {
        uint64_t sessions = 0;
        uint64_t sessions_active = 0; // filled by the caller (the milter's registry)
        struct Decision {
            std::string cls, action;
            bool dry_run = false;
            uint64_t count = 0;
        };
        std::vector<Decision> decisions; // non-zero cells only
        uint64_t late_auth_passes = 0;
        std::array<uint64_t, kDnsBucketsMs.size() + 1> dns_buckets{}; // not cumulative
        uint64_t dns_count = 0;
        double dns_sum_seconds = 0;
        std::array<uint64_t, kMetricErrors> errors{};
        uint64_t log_records_dropped = 0; // decision records not in the JSON file
        bool log_writable = true;         // the last decision record was written
        RuleSetInfo rules;
        std::optional<ResolverStats> resolver; // filled by the caller
        double uptime_seconds = 0;
    };
    Snapshot snapshot() const;

    static nlohmann::json to_json(const Snapshot& s, bool with_rules);
    static std::string to_prometheus(const Snapshot& s);
    // Short human summary (status text, SIGUSR2 log line).
    static std::string to_text(const Snapshot& s);

    Metrics();

  private:
    static constexpr size_t kMaxClasses = 32, kMaxActions = 8;
    static size_t class_index(std::string_view cls);
    static size_t action_index(Action action);

    std::chrono::steady_clock::time_point started_;
    std::atomic<uint64_t> sessions_{0};
    std::atomic<uint64_t> decisions_[kMaxClasses][kMaxActions][2] = {};
    std::atomic<uint64_t> late_auth_{0};
    std::atomic<uint64_t> dns_buckets_[kDnsBucketsMs.size() + 1] = {};
    std::atomic<uint64_t> dns_count_{0}, dns_sum_us_{0};
    std::atomic<uint64_t> errors_[kMetricErrors] = {};
    std::atomic<uint64_t> log_dropped_{0};
    std::atomic<bool> log_writable_{true};
    mutable std::mutex rules_m_; // rule-set info changes only on (re)load
    RuleSetInfo rules_;
};

// The milter's one instance.
Metrics& metrics();

} // namespace ip25b
