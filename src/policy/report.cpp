// report.cpp — totals and false-positive candidates from decision records.
//
// What makes a refused client look like a real MTA rather than a bot:
//   - its HELO name equals its forward-confirmed PTR (bots rarely bother);
//   - its PTR or HELO has a mail-server token (mail, mx, smtp, relay, out...);
//   - it was refused on several different days (real MTAs retry for days,
//     bots move on);
//   - the same address also authenticated in another session (a customer of
//     ours whose client was misconfigured to send on port 25 without AUTH);
//   - it came back after a temporary refusal (the generic tier's tempfail):
//     MTAs queue and retry, bots mostly move on.
#include "ip25b/report.hpp"

#include "ip25b/action.hpp"
#include "ip25b/dns_name.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

namespace ip25b {

namespace {

struct ClientSeen {
    SuspectClient s;
    std::set<std::string> days;
    std::set<std::string> senders;
    bool helo_equals_ptr = false;
    bool mta_token = false;
    bool authenticated_elsewhere = false;
    uint64_t tempfails = 0;
};

std::string str(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A field of the wrong type reads as false: json::value() would throw on it.
bool flag(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

bool has_mta_token(const std::string& name) {
    // A label that starts with a mail-server word followed by nothing, a digit
    // or a dash: "mail", "mx1", "smtp-out", "relay2", "mta7-a". Not "mailbox".
    static constexpr std::string_view tokens[] = {"mail", "mx", "smtp", "relay", "mta", "out"};
    size_t start = 0;
    while (start < name.size()) {
        size_t end = std::min(name.find('.', start), name.size());
        std::string_view label(name.data() + start, end - start);
        for (auto t : tokens)
            if (label.starts_with(t) && (label.size() == t.size() || label[t.size()] == '-' ||
                                         (label[t.size()] >= '0' && label[t.size()] <= '9')))
                return true;
        start = end + 1;
    }
    return false;
}

// One line of at most kMaxRecordBytes into `line`; false at the end of input. A longer
// line (a torn or foreign file, /dev/zero behind a symlink) is skipped to its end and
// reported as `too_long`, so a log without newlines cannot take all memory.
constexpr std::streamsize kMaxRecordBytes = 64 * 1024;
bool next_line(std::istream& in, std::string& line, bool& too_long) {
    line.clear();
    too_long = false;
    for (;;) {
        const int c = in.get();
        if (c == std::char_traits<char>::eof()) return !line.empty();
        if (c == '\n') return true;
        if (static_cast<std::streamsize>(line.size()) >= kMaxRecordBytes) {
            too_long = true;
            line.clear();
            in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
            return true;
        }
        line.push_back(static_cast<char>(c));
    }
}

// What one record says the client got, and what a dry run would have done.
struct Outcome {
    Action action = Action::Accept; // effective
    std::optional<Action> would;    // dry run only
    bool late_auth = false;
};

// nullopt when the record's action is not one ip25b writes: such a line is
// not understood, and counted as bad rather than guessed at.
std::optional<Outcome> outcome_of(const nlohmann::json& j) {
    Outcome o;
    auto action = parse_action(str(j, "action"));
    if (!action) return std::nullopt;
    o.action = *action;
    if (flag(j, "dry_run")) {
        // Older records carry the policy's choice in "action" and no "would".
        o.would = str(j, "would").empty() ? o.action : parse_action(str(j, "would"));
        if (!o.would) return std::nullopt;
        o.action = Action::Accept;
    }
    bool lifted = !str(j, "refused_before_auth").empty() ||
                  (is_refusal(o.action) && !str(j, "auth").empty() &&
                   str(j, "reason").find("then authenticated") != std::string::npos);
    if (lifted) {
        o.late_auth = true;
        o.action = Action::Accept;
        o.would.reset();
    }
    return o;
}

} // namespace

Report build_report(const std::vector<std::istream*>& inputs) {
    Report r;
    std::map<std::string, ClientSeen> clients;
    std::set<std::string> authenticated;
    std::string line;
    bool too_long = false;
    for (std::istream* in : inputs)
        while (next_line(*in, line, too_long)) {
            if (too_long) {
                ++r.bad_lines;
                continue;
            }
            if (line.empty()) continue;
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.is_object() || !j.contains("action")) {
                ++r.bad_lines;
                continue;
            }
            const auto outcome = outcome_of(j);
            if (!outcome) {
                ++r.bad_lines;
                continue;
            }
            const Outcome& o = *outcome;
            ++r.records;
            const std::string cls = str(j, "class");
            const std::string ip = str(j, "client_ip"), ptr = str(j, "ptr");
            ++r.by_action[std::string(to_string(o.action))];
            ++r.by_class[cls];
            if (o.would) ++r.dry_run_would[std::string(to_string(*o.would))];
            if (o.late_auth) ++r.late_auth_passes;
            if (!str(j, "auth").empty() && !ip.empty()) authenticated.insert(ip);
            const bool real = is_refusal(o.action), would = o.would && is_refusal(*o.would);
            if (!real && !would) continue;
            const std::string isp = str(j, "isp");
            // "file:line id", as `ip25b check` names a rule.
            std::string rule = str(j, "rule_file");
            if (auto ln = j.find("rule_line");
                ln != j.end() && ln->is_number_unsigned() && *ln != 0)
                rule += fmt::format(":{}", ln->get<unsigned>());
            if (const std::string id = str(j, "rule"); !id.empty())
                rule += rule.empty() ? id : " " + id;
            const std::string day = str(j, "time").substr(0, 10);
            if (real) {
                ++r.refused_by_class[cls.empty() ? "(none)" : cls];
                ++r.refused_by_isp[isp.empty() ? "(none)" : isp];
                ++r.refused_by_rule[rule.empty() ? "(" + cls + ")" : rule];
                ++r.refused_by_day[day];
            } else {
                ++r.dry_run_refused_by_isp[isp.empty() ? "(none)" : isp];
            }

            // Would-be refusals count too: the dry run exists to find these clients.
            auto& c = clients[ip];
            c.s.client_ip = ip;
            c.s.ptr = ptr;
            c.s.isp = isp;
            c.s.rule = rule;
            ++(real ? c.s.refusals : c.s.dry_refusals);
            if (o.action == Action::Tempfail) ++c.tempfails;
            c.days.insert(day);
            if (auto s = str(j, "sender"); !s.empty() && c.senders.size() < 3) c.senders.insert(s);
            const std::string helo = normalize_hostname(str(j, "helo"));
            const std::string name = normalize_hostname(ptr);
            if (!helo.empty() && flag(j, "fcrdns") && helo == name) c.helo_equals_ptr = true;
            if (has_mta_token(name) || has_mta_token(helo)) c.mta_token = true;
        }
    for (auto& [ip, c] : clients) {
        if (authenticated.count(ip))
            c.s.reasons.push_back("the same address authenticated in another session");
        if (c.helo_equals_ptr) c.s.reasons.push_back("HELO equals its forward-confirmed PTR");
        if (c.mta_token) c.s.reasons.push_back("PTR or HELO names a mail server");
        if (c.tempfails >= 2)
            c.s.reasons.push_back(fmt::format(
                "came back {} times after a temporary refusal (MTAs retry, bots mostly do not)",
                c.tempfails - 1));
        if (c.days.size() >= 2)
            c.s.reasons.push_back(
                fmt::format("refused on {} different days (retries like an MTA)", c.days.size()));
        if (c.s.reasons.empty()) continue;
        c.s.senders.assign(c.senders.begin(), c.senders.end());
        r.suspects.push_back(std::move(c.s));
    }
    std::sort(r.suspects.begin(), r.suspects.end(), [](const auto& a, const auto& b) {
        if (a.reasons.size() != b.reasons.size()) return a.reasons.size() > b.reasons.size();
        if (a.refusals != b.refusals) return a.refusals > b.refusals;
        return a.client_ip < b.client_ip;
    });
    return r;
}

static std::string top_lines(const std::map<std::string, uint64_t>& m, size_t top) {
    std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
    std::string out;
    for (size_t i = 0; i < v.size() && i < top; ++i)
        out += fmt::format("  {:>8}  {}\n", v[i].second, v[i].first);
    return out;
}

std::string report_text(const Report& r, size_t top) {
    std::string out = fmt::format("{} decisions ({} unreadable lines)\n", r.records, r.bad_lines);
    out += "by action:\n" + top_lines(r.by_action, top);
    out += "by class:\n" + top_lines(r.by_class, top);
    if (r.late_auth_passes)
        out += fmt::format("passed after authenticating (refused first): {}\n", r.late_auth_passes);
    if (!r.dry_run_would.empty()) {
        out += "dry run, would have (nothing enforced):\n" + top_lines(r.dry_run_would, top);
        out += "dry run, would refuse, by ISP:\n" + top_lines(r.dry_run_refused_by_isp, top);
    }
    out += "refused, by class:\n" + top_lines(r.refused_by_class, top);
    out += "refused, by ISP:\n" + top_lines(r.refused_by_isp, top);
    out += "refused, by rule:\n" + top_lines(r.refused_by_rule, top);
    std::string days;
    for (const auto& [d, n] : r.refused_by_day)
        days += fmt::format("  {:>8}  {}\n", n, d);
    out += "refused, by day:\n" + days;
    out += fmt::format("false-positive candidates ({}):\n", r.suspects.size());
    for (size_t i = 0; i < r.suspects.size() && i < top; ++i) {
        const auto& s = r.suspects[i];
        std::string times = fmt::format("{}x", s.refusals);
        if (s.dry_refusals) times += fmt::format(" (+{}x in dry run)", s.dry_refusals);
        out += fmt::format("  {} ({}) refused {} by {} [{}]\n", s.client_ip,
                           s.ptr.empty() ? "-" : s.ptr, times, s.rule, s.isp.empty() ? "-" : s.isp);
        for (const auto& why : s.reasons)
            out += "      - " + why + "\n";
        if (!s.senders.empty())
            out += fmt::format("      senders: {}\n", fmt::join(s.senders, ", "));
    }
    return out;
}

std::string report_json(const Report& r) {
    nlohmann::json j = {{"records", r.records},
                        {"bad_lines", r.bad_lines},
                        {"by_action", r.by_action},
                        {"by_class", r.by_class},
                        {"late_auth_passes", r.late_auth_passes},
                        {"dry_run_would", r.dry_run_would},
                        {"dry_run_refused_by_isp", r.dry_run_refused_by_isp},
                        {"refused_by_class", r.refused_by_class},
                        {"refused_by_isp", r.refused_by_isp},
                        {"refused_by_rule", r.refused_by_rule},
                        {"refused_by_day", r.refused_by_day}};
    j["false_positive_candidates"] = nlohmann::json::array();
    for (const auto& s : r.suspects)
        j["false_positive_candidates"].push_back({{"client_ip", s.client_ip},
                                                  {"ptr", s.ptr},
                                                  {"isp", s.isp},
                                                  {"rule", s.rule},
                                                  {"refusals", s.refusals},
                                                  {"dry_run_refusals", s.dry_refusals},
                                                  {"reasons", s.reasons},
                                                  {"senders", s.senders}});
    // Names and senders in the log come from the network: replace what is not UTF-8.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace ip25b
