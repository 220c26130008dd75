// policy.cpp — exemptions, actions, replies and the per-connection session.
#include "ip25b/policy.hpp"

#include "ip25b/ascii.hpp"

#include <algorithm>
#include <cctype>

namespace ip25b {

namespace {

constexpr size_t max_recipients = 100;   // a record must stay one readable line
constexpr size_t max_reply_length = 900; // SMTP reply lines are at most 512 octets per
                                         // RFC 5321 but MTAs wrap; keep well under 1000

bool iequals(std::string_view a, std::string_view b) {
    return ascii_iequals(a, b);
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool file_matches(std::string_view want, std::string_view file) {
    if (want.empty()) return true;
    if (want == file) return true;
    return want.find('/') == std::string_view::npos && want == base_name(file);
}

// A failure must never become a permanent reject: the client may be a real MTA.
Action never_permanent(Action a) {
    return a == Action::Reject ? Action::Tempfail : a;
}

bool is_temporary(const Classified& c) {
    return c.verdict.temporary ||
           (c.verdict.cls == ClientClass::UnknownPtr && is_dns_failure(c.ptr.status));
}

void split_code(std::string_view code, std::string& rcode, std::string& xcode) {
    auto sp = code.find(' ');
    rcode = std::string(code.substr(0, sp));
    xcode = sp == std::string_view::npos ? std::string() : std::string(code.substr(sp + 1));
}

} // namespace

std::string_view to_string(Stage s) {
    switch (s) {
    case Stage::Connect:
        return "connect";
    case Stage::Helo:
        return "helo";
    case Stage::Mail:
        return "mail";
    case Stage::Rcpt:
        return "rcpt";
    }
    return "?";
}

std::optional<Stage> parse_stage(std::string_view text) {
    for (Stage s : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt})
        if (text == to_string(s)) return s;
    return std::nullopt;
}

std::vector<Cidr> default_local_ranges() {
    // Parsed once: every PolicyConfig starts from a copy (each config read, each reload).
    static const std::vector<Cidr> ranges = [] {
        std::vector<Cidr> out;
        for (const char* text :
             {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
              "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"})
            out.push_back(*Cidr::parse(text));
        return out;
    }();
    return ranges;
}

std::string escape_reply(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (char ch : text) {
        auto u = static_cast<unsigned char>(ch);
        if (out.size() >= max_reply_length) break;
        if (u == '%')
            out += "%%";
        else if (u < 0x20 || u == 0x7f)
            out += ' ';
        else if (u >= 0x80)
            out += '?'; // SMTP replies are ASCII unless SMTPUTF8 was negotiated
        else
            out += ch;
    }
    return out;
}

std::string render_template(std::string_view tmpl, const Classified& c, const IpAddress* client) {
    const Verdict& v = c.verdict;
    auto value = [&](std::string_view key) -> std::optional<std::string> {
        if (key == "ip") return client ? client->to_string() : std::string("unknown");
        if (key == "ptr") return c.ptr.name.empty() ? std::string("no PTR") : c.ptr.name;
        if (key == "isp") return v.isp.empty() ? std::string("its provider") : v.isp;
        if (key == "rule") return v.rule.empty() ? std::string("-") : v.rule;
        if (key == "feed") return v.feed.empty() ? std::string("-") : v.feed;
        if (key == "class") return std::string(to_string(v.cls));
        if (key == "file")
            return v.file.empty() ? std::string("-") : std::string(base_name(v.file));
        if (key == "reason") {
            if (v.cls != ClientClass::Generic) return std::string(to_string(v.cls));
            std::string r = "generic name:";
            bool first = true;
            for (const auto& e : v.weighed)
                if (!e.veto && e.weight > 0) {
                    r += (first ? " " : ", ") + e.token;
                    first = false;
                }
            return r;
        }
        return std::nullopt;
    };
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
        if (tmpl[i] == '{') {
            auto close = tmpl.find('}', i);
            if (close != std::string_view::npos) {
                if (auto val = value(tmpl.substr(i + 1, close - i - 1))) {
                    out += *val;
                    i = close + 1;
                    continue;
                }
            }
        }
        out += tmpl[i++];
    }
    return out;
}

Policy::Policy(PolicyConfig config) : c_(std::move(config)) {
    c_.dns_failure = never_permanent(c_.dns_failure);
    c_.internal_error = never_permanent(c_.internal_error);
}

std::optional<std::string> Policy::exemption(const ConnectInfo& info) const {
    if (!info.client) return std::string("no client address");
    for (const auto& c : c_.allowlist)
        if (c.contains(*info.client)) return "allowlist " + c.to_string();
    for (const auto& c : c_.local_ranges)
        if (c.contains(*info.client)) return "local range " + c.to_string();
    if (!info.daemon_name.empty())
        for (const auto& n : c_.submission_daemon_names)
            if (iequals(n, info.daemon_name)) return "submission listener " + info.daemon_name;
    if (info.daemon_port)
        for (auto p : c_.submission_ports)
            if (p == *info.daemon_port)
                return "submission port " + std::to_string(*info.daemon_port);
    return std::nullopt;
}

Action Policy::action_for(const Classified& c, std::string* why) const {
    auto say = [&](std::string text) {
        if (why) *why = std::move(text);
    };
    if (!c.internal_error.empty()) {
        say("internal error: " + c.internal_error);
        return c_.internal_error;
    }
    if (is_temporary(c)) {
        say("dns failure" + (c.ptr.detail.empty() ? std::string() : ": " + c.ptr.detail));
        return c_.dns_failure;
    }
    const Verdict& v = c.verdict;
    if (!v.rule.empty())
        for (const auto& o : c_.overrides)
            if (!o.rule.empty() && o.rule == v.rule && file_matches(o.file, v.file) &&
                (o.isp.empty() || iequals(o.isp, v.isp))) {
                say("override rule=" + o.rule + " at " + o.where);
                return o.action;
            }
    if (!v.isp.empty())
        for (const auto& o : c_.overrides)
            if (o.rule.empty() && !o.isp.empty() && iequals(o.isp, v.isp)) {
                say("override isp=" + o.isp + " at " + o.where);
                return o.action;
            }
    say("class " + std::string(to_string(v.cls)));
    switch (v.cls) {
    case ClientClass::Dynamic:
        return c_.dynamic;
    case ClientClass::SelfDynamic:
        return c_.self_dynamic;
    case ClientClass::Allowlisted:
        return c_.allowlisted;
    case ClientClass::UnknownPtr:
        return c_.unknown_ptr;
    case ClientClass::None:
        return c_.none;
    case ClientClass::Cloud:
        return c_.cloud;
    case ClientClass::Generic:
        return c_.generic;
    }
    return Action::Accept;
}

StepResult Policy::reply_for(Action action, const Classified& c, const IpAddress* client) const {
    StepResult r;
    if (action != Action::Reject && action != Action::Tempfail) return r;
    r.reply = action == Action::Reject ? Reply::Reject : Reply::Tempfail;
    std::string_view tmpl = c_.reply_other;
    std::string_view code = action == Action::Reject ? c_.reject_code : c_.tempfail_code;
    if (!c.internal_error.empty()) {
        tmpl = "temporary local problem checking {ip}; try again later";
        code = "451 4.3.0";
    } else if (is_temporary(c)) {
        tmpl = c_.reply_dns_failure;
        code = c_.dns_failure_code;
    } else {
        switch (c.verdict.cls) {
        case ClientClass::Dynamic:
            tmpl = c_.reply_dynamic;
            break;
        case ClientClass::SelfDynamic:
            tmpl = c_.reply_self_dynamic;
            break;
        case ClientClass::UnknownPtr:
            tmpl = c_.reply_unknown_ptr;
            break;
        case ClientClass::Generic:
            tmpl = c_.reply_generic;
            break;
        case ClientClass::Cloud:
            tmpl = c_.reply_cloud;
            break;
        default:
            break;
        }
    }
    split_code(code, r.rcode, r.xcode);
    r.plain_text = render_template(tmpl, c, client);
    r.text = escape_reply(r.plain_text);
    return r;
}

std::string Policy::tag_value(const Classified& c) const {
    const Verdict& v = c.verdict;
    std::string out = "class=" + std::string(to_string(v.cls));
    if (!v.isp.empty()) out += "; isp=" + v.isp;
    if (!v.rule.empty()) out += "; rule=" + v.rule;
    if (!v.file.empty())
        out += "; file=" + std::string(base_name(v.file)) + ":" + std::to_string(v.line);
    out += "; ptr=" + (c.ptr.name.empty() ? std::string(to_string(c.ptr.status)) : c.ptr.name);
    std::string clean;
    for (char ch : out) // header values are one line of printable ASCII here
        clean += (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f)
                     ? '?'
                     : ch;
    return clean;
}

Session::Session(std::shared_ptr<const Policy> policy, std::string id)
    : policy_(std::move(policy)) {
    record_.session = std::move(id);
    record_.ptr_status = "not-looked-up";
}

bool Session::at_or_after_stage(Stage s) const {
    return static_cast<int>(s) >= static_cast<int>(policy_->config().stage);
}

StepResult Session::enforce() const {
    StepResult r = outcome_;
    r.start_lookup = false;
    return r;
}

StepResult Session::decide_exempt(Stage at, const std::string& reason, const char* cls) {
    decided_ = true;
    action_ = Action::Accept;
    outcome_ = StepResult{};
    record_.time = std::chrono::system_clock::now();
    record_.stage = std::string(to_string(at));
    record_.cls = cls;
    record_.action = Action::Accept;
    record_.reason = reason;
    return enforce();
}

StepResult Session::decide(Stage at, const ClassifyFn& classify) {
    Classified c;
    try {
        c = classify();
    } catch (const std::exception& e) {
        c.internal_error = e.what();
    }
    const Policy& p = *policy_;
    std::string why;
    Action action = p.action_for(c, &why);
    decided_ = true;
    action_ = action;
    record_.time = std::chrono::system_clock::now();
    record_.stage = std::string(to_string(at));
    record_.ptr = c.ptr.name;
    record_.ptr_status = c.looked_up ? std::string(to_string(c.ptr.status)) : "not-looked-up";
    record_.dns_us = c.looked_up ? c.ptr.elapsed.count() : -1;
    record_.dns_detail = c.ptr.detail;
    record_.cls = c.internal_error.empty() ? std::string(to_string(c.verdict.cls)) : "error";
    record_.isp = c.verdict.isp;
    record_.feed = c.verdict.feed;
    record_.rule = c.verdict.rule;
    record_.rule_file = c.verdict.file;
    record_.rule_line = c.verdict.line;
    if (!c.verdict.weighed.empty() || c.verdict.cls == ClientClass::Generic) {
        record_.score = c.verdict.score;
        record_.weighed.clear();
        for (const auto& e : c.verdict.weighed)
            record_.weighed.push_back(e.veto ? e.token + ":veto"
                                             : e.token + "+" + std::to_string(e.weight));
    }
    // The record says what the client got; in a dry run that is "accept",
    // and `would` keeps the policy's choice for the roll-out report.
    record_.dry_run = p.config().dry_run;
    record_.action = record_.dry_run ? Action::Accept : action;
    if (record_.dry_run) record_.would = action;
    record_.reason = why;
    const IpAddress* client = info_.client ? &*info_.client : nullptr;
    StepResult would = p.reply_for(action, c, client);
    if (would.reply != Reply::Continue)
        record_.reply =
            would.rcode + (would.xcode.empty() ? "" : " " + would.xcode) + " " + would.plain_text;
    if (action == Action::Tag) header_value_ = p.tag_value(c);
    outcome_ = p.config().dry_run ? StepResult{} : would;
    return enforce();
}

StepResult Session::connect(const ConnectInfo& info, const ClassifyFn& classify) {
    info_ = info;
    record_.client_ip = info.client ? info.client->to_string() : std::string();
    record_.client_port = info.client_port;
    if (auto why = policy_->exemption(info)) return decide_exempt(Stage::Connect, *why, "exempt");
    if (policy_->config().stage == Stage::Connect) {
        StepResult r = decide(Stage::Connect, classify);
        r.start_lookup = true; // harmless: the classify call above already waited for it
        return r;
    }
    StepResult r;
    r.start_lookup = true;
    return r;
}

StepResult Session::helo(std::string_view name, const ClassifyFn& classify) {
    record_.helo = std::string(name.substr(0, 255));
    if (decided_) return enforce();
    if (at_or_after_stage(Stage::Helo)) return decide(Stage::Helo, classify);
    return {};
}

StepResult Session::mail(std::string_view sender, std::optional<std::string_view> auth,
                         std::string_view queue_id, const ClassifyFn& classify) {
    if (record_.sender.empty()) record_.sender = std::string(sender.substr(0, 512));
    if (!queue_id.empty()) record_.queue_id = std::string(queue_id.substr(0, 64));
    if (auth && !auth->empty() && !authenticated_) {
        authenticated_ = true;
        record_.auth = std::string(auth->substr(0, 255));
        // A client refused at RCPT may RSET, authenticate and try again:
        // authenticated sessions always pass, so the refusal ends here.
        if (decided_ && outcome_.reply != Reply::Continue) {
            outcome_ = StepResult{};
            action_ = Action::Accept;
            record_.refused_before_auth = record_.action;
            record_.action = Action::Accept;
            record_.reason += "; then authenticated: passed";
        }
    }
    if (decided_) return enforce();
    if (authenticated_) return decide_exempt(Stage::Mail, "authenticated", "exempt");
    if (at_or_after_stage(Stage::Mail)) return decide(Stage::Mail, classify);
    return {};
}

StepResult Session::rcpt(std::string_view recipient, std::string_view queue_id,
                         const ClassifyFn& classify) {
    if (record_.recipients.size() < max_recipients)
        record_.recipients.emplace_back(recipient.substr(0, 512));
    if (!queue_id.empty()) record_.queue_id = std::string(queue_id.substr(0, 64));
    if (decided_) return enforce();
    return decide(Stage::Rcpt, classify);
}

void Session::note_queue_id(std::string_view queue_id) {
    if (!queue_id.empty()) record_.queue_id = std::string(queue_id.substr(0, 64));
}

std::optional<std::pair<std::string, std::string>> Session::header_to_add() const {
    if (!decided_ || action_ != Action::Tag || policy_->config().dry_run) return std::nullopt;
    return std::make_pair(policy_->config().tag_header, header_value_);
}

void Session::abort_message() {
    // The decision is about the client, not the message: it stays. The
    // record keeps the first transaction's sender and every recipient seen.
}

} // namespace ip25b
