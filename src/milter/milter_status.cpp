// milter_status.cpp — snapshots and control-socket answers.
#include "milter_status.hpp"

#include "milter_session.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

namespace ip25b::milter {

Metrics::Snapshot status_snapshot() {
    Metrics::Snapshot s = metrics().snapshot();
    s.sessions_active = live_sessions();
    if (auto rt = current_runtime().get()) s.resolver = rt->resolver->stats();
    return s;
}

void publish_rule_set(const Runtime& rt) {
    RuleSetInfo info;
    info.generation = rt.generation;
    info.load_seconds = rt.load_seconds;
    info.loaded_at = static_cast<int64_t>(std::time(nullptr));
    for (const auto& [file, rules] : rt.classifier->files()) {
        info.file_names.push_back(file);
        info.file_rules.push_back(rules);
    }
    info.summary = rt.classifier->summary();
    metrics().rules_loaded(std::move(info));
}

std::string answer_control(const ControlRequest& request) {
    using Kind = ControlRequest::Kind;
    if (request.kind == Kind::Cache) {
        auto addr = IpAddress::parse(request.address);
        if (!addr) return {}; // the server answers {"error": ...}
        auto rt = current_runtime().get();
        nlohmann::json j = {{"address", addr->to_string()}};
        auto hit = rt ? rt->resolver->cached(*addr) : std::nullopt;
        j["cached"] = hit.has_value();
        if (hit) {
            j["ptr_status"] = std::string(to_string(hit->status));
            j["ptr"] = hit->name;
            j["names"] = hit->names;
            j["ttl"] = hit->ttl;
            j["detail"] = hit->detail;
            // What the rule set in force makes of the cached answer (no DNS).
            Verdict v = rt->classifier->classify(*addr, *hit);
            j["class"] = std::string(to_string(v.cls));
            j["isp"] = v.isp;
            j["rule"] = v.rule;
            j["file"] = v.file;
            j["line"] = v.line;
        }
        return j.dump(2) + "\n";
    }
    return Metrics::to_json(status_snapshot(), request.kind == Kind::Rules).dump(2) + "\n";
}

} // namespace ip25b::milter
