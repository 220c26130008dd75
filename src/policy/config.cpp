// config.cpp — reads the operator's TOML file strictly, with file:line errors.
#include "ip25b/config.hpp"
#include "ip25b/file_reader.hpp"

#include "ip25b/feed_format.hpp"
#include "ip25b/feed_signature.hpp"
#include "ip25b/feed_store.hpp"
#include "ip25b/install_paths.hpp"
#include "ip25b/rule_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

namespace ip25b {

namespace {

struct ConfigError {
    Error error;
};

// Walks one TOML table: typed getters remember which keys were read, and
// finish() rejects whatever is left, so a misspelt key is an error.
class Section {
  public:
    Section(const toml::table& t, std::string path, const std::string& file)
        : t_(t), path_(std::move(path)), file_(file) {}

    [[noreturn]] void fail(const toml::node& n, const std::string& reason) const {
        throw ConfigError{Error{file_, static_cast<unsigned>(n.source().begin.line), reason}};
    }

    const toml::node* get(const char* key) {
        seen_.insert(key);
        return t_.get(key);
    }

    std::string key_name(const char* key) const {
        return path_.empty() ? std::string(key) : path_ + "." + key;
    }

    void string(const char* key, std::string& out) {
        if (auto* n = get(key)) {
            auto* s = n->as_string();
            if (!s) fail(*n, key_name(key) + " must be a string");
            out = s->get();
        }
    }

    void boolean(const char* key, bool& out) {
        if (auto* n = get(key)) {
            auto* b = n->as_boolean();
            if (!b) fail(*n, key_name(key) + " must be true or false");
            out = b->get();
        }
    }

    // Integer in [lo, hi]; returns whether the key was present.
    bool integer(const char* key, int64_t lo, int64_t hi, int64_t& out) {
        auto* n = get(key);
        if (!n) return false;
        auto* i = n->as_integer();
        if (!i) fail(*n, key_name(key) + " must be an integer");
        if (i->get() < lo || i->get() > hi)
            fail(*n, key_name(key) + " must be between " + std::to_string(lo) + " and " +
                         std::to_string(hi));
        out = i->get();
        return true;
    }

    // An array of strings; each element is passed to `each` with its node.
    template <class F> bool strings(const char* key, F each) {
        auto* n = get(key);
        if (!n) return false;
        auto* a = n->as_array();
        if (!a) fail(*n, key_name(key) + " must be an array of strings");
        for (const auto& el : *a) {
            auto* s = el.as_string();
            if (!s) fail(el, key_name(key) + " must contain only strings");
            each(s->get(), el);
        }
        return true;
    }

    const toml::table* table(const char* key) {
        auto* n = get(key);
        if (!n) return nullptr;
        auto* t = n->as_table();
        if (!t) fail(*n, key_name(key) + " must be a table");
        return t;
    }

    void finish() const {
        for (const auto& [k, v] : t_)
            if (!seen_.count(std::string(k.str()))) {
                auto line = k.source().begin.line ? k.source().begin.line : v.source().begin.line;
                throw ConfigError{Error{file_, static_cast<unsigned>(line),
                                        "unknown key " + key_name(std::string(k.str()).c_str())}};
            }
    }

  private:
    const toml::table& t_;
    std::string path_;
    const std::string& file_;
    std::set<std::string> seen_;
};

std::string resolve_path(const std::string& base, const std::string& p) {
    if (base.empty() || p.empty() || p.front() == '/') return p;
    return (std::filesystem::path(base) / p).lexically_normal().string();
}

// "pcre:FILE" and "regexp:FILE" keep their prefix; the file part is resolved.
// "{rules}/..." names the shipped rules wherever they are installed, so the
// shipped config works unchanged in /etc and in the source tree.
std::string resolve_rule_path(const std::string& base, const std::string& p) {
    RuleSourceSpec source = parse_rule_source(p);
    source.path = resolve_path(base, expand_rules_dir(source.path, install_paths().rules_dir));
    return source.to_string();
}

std::string feed_source(const UpdateConfig& update, const std::string& name) {
    return RuleSourceSpec{RuleSourceKind::Feed, feed_directory(update.state_dir, name)}.to_string();
}

bool valid_reply_code(std::string_view code, char first) {
    // "550" or "550 5.7.1": the class digit of both parts must agree.
    if (code.size() < 3 || code[0] != first) return false;
    for (int i = 0; i < 3; ++i)
        if (code[i] < '0' || code[i] > '9') return false;
    if (code.size() == 3) return true;
    if (code[3] != ' ' || code.size() < 9 || code[4] != first || code[5] != '.') return false;
    int dots = 0;
    for (size_t i = 5; i < code.size(); ++i) {
        if (code[i] == '.')
            ++dots;
        else if (code[i] < '0' || code[i] > '9')
            return false;
    }
    return dots == 2 && code.back() != '.';
}

bool valid_socket_spec(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    auto proto = s.substr(0, colon), rest = s.substr(colon + 1);
    if (proto == "unix" || proto == "local") return rest.size() > 1 && rest.front() == '/';
    if (proto != "inet" && proto != "inet6") return false;
    auto at = rest.find('@');
    auto port = rest.substr(0, at);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
        return false;
    return at == std::string_view::npos || at + 1 < rest.size();
}

std::chrono::seconds secs(int64_t v) {
    return std::chrono::seconds(v);
}

void read_rules(Section& s, Config& c, const std::string& base) {
    std::set<std::string> named_feeds;
    s.strings("files", [&](const std::string& v, const toml::node& n) {
        const RuleSourceSpec source = parse_rule_source(v);
        if (source.kind == RuleSourceKind::Feed) {
            const std::string& name = source.path;
            auto it = std::find_if(c.feeds.begin(), c.feeds.end(),
                                   [&](const FeedConfig& f) { return f.name == name; });
            if (it == c.feeds.end()) s.fail(n, "rules.files: no [[feeds]] entry is named " + name);
            if (!named_feeds.insert(name).second) s.fail(n, "rules.files: " + v + " twice");
            c.rules.rules.push_back(feed_source(c.update, name));
            return;
        }
        c.rules.rules.push_back(resolve_rule_path(base, v));
    });
    // Feeds the list does not place are consulted after everything it names.
    for (const auto& f : c.feeds)
        if (!named_feeds.count(f.name)) c.rules.rules.push_back(feed_source(c.update, f.name));
    s.strings("self_ranges", [&](const std::string& v, const toml::node& n) {
        std::string err;
        auto cidr = Cidr::parse(v, &err);
        if (!cidr) s.fail(n, "rules.self_ranges: " + (err.empty() ? "bad CIDR " + v : err));
        c.rules.self_ranges.push_back(*cidr);
    });
    s.strings("self_rules", [&](const std::string& v, const toml::node&) {
        c.rules.self_rules.push_back(resolve_rule_path(base, v));
    });
    s.boolean("ip_in_name_is_dynamic", c.rules.ip_in_name_is_dynamic);
    s.boolean("generic", c.rules.generic);
    int64_t threshold = 0;
    if (s.integer("generic_threshold", 1, 1000, threshold))
        c.rules.generic_threshold = static_cast<int>(threshold);
    s.strings("hosting_domains", [&](const std::string& v, const toml::node&) {
        c.rules.hosting_domains.push_back(resolve_rule_path(base, v));
    });
    s.boolean("require_fcrdns", c.rules.require_fcrdns);
    s.boolean("allow_empty", c.rules.allow_empty);
    s.finish();
}

void read_dns(Section& s, Config& c) {
    s.strings("servers", [&](const std::string& v, const toml::node& n) {
        if (!valid_dns_server(v))
            s.fail(n, "dns.servers: \"" + v + "\" is not IP, IP:PORT or [IPv6]:PORT");
        c.dns.servers.push_back(v);
    });
    int64_t v = 0;
    if (s.integer("timeout_ms", 1, 60000, v)) c.dns.timeout = std::chrono::milliseconds(v);
    if (s.integer("tries", 1, 10, v)) c.dns.tries = static_cast<unsigned>(v);
    if (s.integer("deadline_ms", 1, 120000, v)) c.dns.deadline = std::chrono::milliseconds(v);
    if (s.integer("cache_size", 0, 100000000, v)) c.dns.cache_size = static_cast<size_t>(v);
    if (s.integer("cache_min_ttl", 0, 604800, v)) c.dns.cache_min_ttl = secs(v);
    if (s.integer("cache_max_ttl", 0, 604800, v)) c.dns.cache_max_ttl = secs(v);
    if (s.integer("negative_ttl", 0, 604800, v)) c.dns.negative_ttl = secs(v);
    if (s.integer("tempfail_ttl", 0, 3600, v)) c.dns.tempfail_ttl = secs(v);
    s.finish();
}

Action read_action(Section& s, const char* key, Action current, bool failure_only) {
    std::string text;
    const toml::node* n = nullptr;
    {
        n = s.get(key);
        if (!n) return current;
        auto* str = n->as_string();
        if (!str) s.fail(*n, s.key_name(key) + " must be a string");
        text = str->get();
    }
    auto a = parse_action(text);
    if (!a)
        s.fail(*n, s.key_name(key) + ": unknown action \"" + text +
                       "\" (reject, tempfail, tag, log-only, accept)");
    if (failure_only && *a != Action::Accept && *a != Action::Tempfail)
        s.fail(*n, s.key_name(key) + " must be accept or tempfail (a failure is never a "
                                     "permanent reject)");
    return *a;
}

void read_cidrs(Section& s, const char* key, std::vector<Cidr>& out) {
    std::vector<Cidr> list;
    if (s.strings(key, [&](const std::string& v, const toml::node& n) {
            std::string err;
            auto cidr = Cidr::parse(v, &err);
            if (!cidr) s.fail(n, s.key_name(key) + ": " + (err.empty() ? "bad CIDR " + v : err));
            list.push_back(*cidr);
        }))
        out = std::move(list);
}

void read_reply(Section& s, PolicyConfig& p) {
    auto code = [&](const char* key, std::string& out, char cls) {
        if (auto* n = s.get(key)) {
            auto* str = n->as_string();
            if (!str || !valid_reply_code(str->get(), cls))
                s.fail(*n, s.key_name(key) + " must look like \"" + cls + "50 " + cls +
                               ".7.1\" (a " + cls + "xx reply code)");
            out = str->get();
        }
    };
    code("reject_code", p.reject_code, '5');
    code("tempfail_code", p.tempfail_code, '4');
    code("dns_failure_code", p.dns_failure_code, '4');
    s.string("dynamic", p.reply_dynamic);
    s.string("self_dynamic", p.reply_self_dynamic);
    s.string("unknown_ptr", p.reply_unknown_ptr);
    s.string("dns_failure", p.reply_dns_failure);
    s.string("generic", p.reply_generic);
    s.string("cloud", p.reply_cloud);
    s.string("other", p.reply_other);
    s.finish();
}

void read_policy(Section& s, Config& c, const std::string& file) {
    PolicyConfig& p = c.policy;
    if (auto* n = s.get("stage")) {
        auto* str = n->as_string();
        auto st = str ? parse_stage(str->get()) : std::nullopt;
        if (!st) s.fail(*n, "policy.stage must be connect, helo, mail or rcpt");
        p.stage = *st;
    }
    s.boolean("dry_run", p.dry_run);
    p.dns_failure = read_action(s, "dns_failure", p.dns_failure, true);
    p.internal_error = read_action(s, "internal_error", p.internal_error, true);
    read_cidrs(s, "allowlist", p.allowlist);
    read_cidrs(s, "local_ranges", p.local_ranges);
    std::vector<std::string> names;
    if (s.strings("submission_daemon_names",
                  [&](const std::string& v, const toml::node&) { names.push_back(v); }))
        p.submission_daemon_names = names;
    if (auto* n = s.get("submission_ports")) {
        auto* a = n->as_array();
        if (!a) s.fail(*n, "policy.submission_ports must be an array of port numbers");
        p.submission_ports.clear();
        for (const auto& el : *a) {
            auto* i = el.as_integer();
            if (!i || i->get() < 1 || i->get() > 65535)
                s.fail(el, "policy.submission_ports: ports are integers 1..65535");
            p.submission_ports.push_back(static_cast<uint16_t>(i->get()));
        }
    }
    s.string("tag_header", p.tag_header);
    if (auto* n = s.get("tag_header")) {
        if (p.tag_header.empty()) s.fail(*n, "policy.tag_header must not be empty");
        for (char ch : p.tag_header)
            if (ch <= ' ' || ch == ':' || static_cast<unsigned char>(ch) >= 0x7f)
                s.fail(*n, "policy.tag_header is not a valid header field name");
    }
    if (auto* t = s.table("action")) {
        Section a(*t, "policy.action", file);
        p.dynamic = read_action(a, "dynamic", p.dynamic, false);
        p.self_dynamic = read_action(a, "self_dynamic", p.self_dynamic, false);
        p.allowlisted = read_action(a, "allowlisted", p.allowlisted, false);
        p.unknown_ptr = read_action(a, "unknown_ptr", p.unknown_ptr, false);
        p.none = read_action(a, "none", p.none, false);
        p.cloud = read_action(a, "cloud", p.cloud, false);
        p.generic = read_action(a, "generic", p.generic, false);
        a.finish();
    }
    if (auto* t = s.table("reply")) {
        Section r(*t, "policy.reply", file);
        read_reply(r, p);
    }
    if (auto* n = s.get("override")) {
        auto* arr = n->as_array();
        if (!arr) s.fail(*n, "policy.override must be an array of tables ([[policy.override]])");
        for (const auto& el : *arr) {
            auto* t = el.as_table();
            if (!t) s.fail(el, "policy.override entries must be tables");
            Section o(*t, "policy.override", file);
            PolicyOverride ov;
            o.string("rule", ov.rule);
            o.string("file", ov.file);
            o.string("isp", ov.isp);
            if (!o.get("action")) s.fail(el, "policy.override needs an action");
            ov.action = read_action(o, "action", Action::Accept, false);
            if (ov.rule.empty() && ov.isp.empty())
                s.fail(el, "policy.override needs a rule or an isp");
            if (!ov.file.empty() && ov.rule.empty())
                s.fail(el, "policy.override: file is only meaningful with rule");
            ov.where = file + ":" + std::to_string(el.source().begin.line);
            o.finish();
            p.overrides.push_back(std::move(ov));
        }
    }
    s.finish();
}

void read_log(Section& s, Config& c, const std::string& base) {
    s.string("json_file", c.log.json_file);
    c.log.json_file = resolve_path(base, c.log.json_file);
    s.boolean("syslog", c.log.syslog);
    if (auto* n = s.get("level")) {
        auto* str = n->as_string();
        static const std::set<std::string> levels = {"debug", "info", "warning", "error"};
        if (!str || !levels.count(str->get()))
            s.fail(*n, "log.level must be debug, info, warning or error");
        c.log.level = str->get();
    }
    s.finish();
}

void read_milter(Section& s, Config& c, const std::string& base) {
    if (auto* n = s.get("socket")) {
        auto* str = n->as_string();
        if (!str || !valid_socket_spec(str->get()))
            s.fail(*n, "milter.socket must be inet:PORT@HOST, inet6:PORT@HOST or unix:/PATH");
        c.milter.socket = str->get();
    }
    s.string("user", c.milter.user);
    s.string("pidfile", c.milter.pidfile);
    c.milter.pidfile = resolve_path(base, c.milter.pidfile);
    if (auto* n = s.get("socket_mode")) {
        // A string, as in OpenDKIM's UMask: TOML has no octal literal people read right.
        auto* str = n->as_string();
        unsigned mode = 0;
        bool ok = str && str->get().size() >= 3 && str->get().size() <= 4;
        if (ok) {
            auto text = std::string_view(str->get());
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
            ok = ec == std::errc() && p == text.data() + text.size() && mode <= 0777;
        }
        if (!ok) s.fail(*n, "milter.socket_mode must be an octal string such as \"0660\"");
        c.milter.socket_mode = mode;
    }
    s.string("socket_group", c.milter.socket_group);
    s.string("control_socket", c.milter.control_socket);
    if (auto* n = s.get("control_socket"))
        if (c.milter.control_socket != "none" && !c.milter.control_socket.empty() &&
            c.milter.control_socket.front() != '/')
            s.fail(*n, "milter.control_socket must be an absolute path, \"\" or \"none\"");
    int64_t secs = 0;
    if (s.integer("timeout", 1, 86400, secs)) c.milter.timeout = std::chrono::seconds(secs);
    if (s.integer("drain_limit", 0, 3600, secs)) c.milter.drain_limit = std::chrono::seconds(secs);
    s.finish();
}

// "IP:PORT" or "[IPv6]:PORT" with an explicit port (civetweb's listening_ports syntax
// is built from it).
bool valid_listen_address(std::string_view spec) {
    auto colon = spec.rfind(':');
    if (colon == std::string_view::npos || colon + 1 >= spec.size()) return false;
    return valid_dns_server(spec);
}

void read_metrics(Section& s, Config& c) {
    if (auto* n = s.get("listen")) {
        auto* str = n->as_string();
        if (!str || (!str->get().empty() && !valid_listen_address(str->get())))
            s.fail(*n, "metrics.listen must be \"\" (off) or IP:PORT such as "
                       "\"127.0.0.1:9125\" or \"[::1]:9125\"");
        c.metrics.listen = str->get();
    }
    s.finish();
}

void read_update(Section& s, Config& c, const std::string& base) {
    s.string("state_dir", c.update.state_dir);
    if (c.update.state_dir.empty())
        if (auto* n = s.get("state_dir")) s.fail(*n, "update.state_dir must not be empty");
    c.update.state_dir = resolve_path(base, c.update.state_dir);
    s.finish();
}

void read_feeds(const toml::node& n, Config& c, const std::string& file, const std::string& base) {
    auto* arr = n.as_array();
    auto fail = [&](const toml::node& at, const std::string& reason) {
        throw ConfigError{Error{file, static_cast<unsigned>(at.source().begin.line), reason}};
    };
    if (!arr) fail(n, "feeds must be an array of tables ([[feeds]])");
    for (const auto& el : *arr) {
        auto* t = el.as_table();
        if (!t) fail(el, "feeds entries must be tables ([[feeds]])");
        Section f(*t, "feeds", file);
        FeedConfig fc;
        fc.where = file + ":" + std::to_string(el.source().begin.line);
        f.string("name", fc.name);
        if (!valid_feed_name(fc.name))
            fail(t->get("name") ? *t->get("name") : el,
                 "feeds.name must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit");
        for (const auto& other : c.feeds)
            if (other.name == fc.name) fail(el, "feeds: a second feed named " + fc.name);
        f.string("url", fc.url);
        if (!fc.url.starts_with("https://") || fc.url.size() <= 8)
            fail(t->get("url") ? *t->get("url") : el, "feeds.url must be an https:// URL");
        f.string("public_key", fc.public_key);
        if (!parse_public_key(fc.public_key, fc.name))
            fail(t->get("public_key") ? *t->get("public_key") : el,
                 "feeds.public_key must be a minisign public key (the \"RW…\" line)");
        f.string("ca_file", fc.ca_file);
        fc.ca_file = resolve_path(base, fc.ca_file);
        int64_t v = 0;
        if (f.integer("refresh", 60, 30 * 86400, v)) fc.refresh = secs(v);
        if (f.integer("max_size", 1024, 64 * 1024 * 1024, v)) fc.max_size = static_cast<size_t>(v);
        if (f.integer("connect_timeout_ms", 100, 600000, v))
            fc.connect_timeout = std::chrono::milliseconds(v);
        if (f.integer("timeout_ms", 100, 3600000, v)) fc.timeout = std::chrono::milliseconds(v);
        f.finish();
        c.feeds.push_back(std::move(fc));
    }
}

} // namespace

std::vector<std::string> changed_milter_keys(const MilterConfig& a, const MilterConfig& b) {
    std::vector<std::string> out;
    if (a.socket != b.socket) out.push_back("socket");
    if (a.user != b.user) out.push_back("user");
    if (a.pidfile != b.pidfile) out.push_back("pidfile");
    if (a.socket_mode != b.socket_mode) out.push_back("socket_mode");
    if (a.socket_group != b.socket_group) out.push_back("socket_group");
    if (a.control_socket != b.control_socket) out.push_back("control_socket");
    if (a.timeout != b.timeout) out.push_back("timeout");
    return out;
}

std::string control_socket_path(const MilterConfig& m) {
    if (m.control_socket == "none") return {};
    if (!m.control_socket.empty()) return m.control_socket;
    for (std::string_view prefix : {"unix:", "local:"})
        if (std::string_view(m.socket).starts_with(prefix))
            return m.socket.substr(prefix.size()) + ".ctl";
    return "/run/ip25b/control.sock";
}

bool valid_dns_server(std::string_view spec) {
    std::string_view host = spec, port;
    if (!spec.empty() && spec.front() == '[') {
        auto close = spec.find(']');
        if (close == std::string_view::npos) return false;
        host = spec.substr(1, close - 1);
        auto rest = spec.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
        auto a = IpAddress::parse(host);
        if (!a || a->is_v4()) return false;
    } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
        auto colon = spec.find(':');
        host = spec.substr(0, colon);
        port = spec.substr(colon + 1);
        if (port.empty()) return false;
        auto a = IpAddress::parse(host);
        if (!a || !a->is_v4()) return false;
    } else if (!IpAddress::parse(host)) {
        return false;
    }
    if (!port.empty()) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
            return false;
    }
    return true;
}

Expected<Config> parse_config(std::string_view text, const std::string& name,
                              const std::string& base_dir) {
    Config c;
    c.file = name;
    try {
        toml::table root = toml::parse(text, name);
        Section top(root, "", name);
        // Feeds first: rules.files may place them ("feed:NAME").
        if (auto* t = top.table("update")) {
            Section s(*t, "update", name);
            read_update(s, c, base_dir);
        }
        if (auto* n = top.get("feeds")) read_feeds(*n, c, name, base_dir);
        if (auto* t = top.table("rules")) {
            Section s(*t, "rules", name);
            read_rules(s, c, base_dir);
        } else {
            for (const auto& f : c.feeds)
                c.rules.rules.push_back(feed_source(c.update, f.name));
        }
        if (auto* t = top.table("dns")) {
            Section s(*t, "dns", name);
            read_dns(s, c);
        }
        if (auto* t = top.table("policy")) {
            Section s(*t, "policy", name);
            read_policy(s, c, name);
        }
        if (auto* t = top.table("log")) {
            Section s(*t, "log", name);
            read_log(s, c, base_dir);
        }
        if (auto* t = top.table("milter")) {
            Section s(*t, "milter", name);
            read_milter(s, c, base_dir);
        }
        if (auto* t = top.table("metrics")) {
            Section s(*t, "metrics", name);
            read_metrics(s, c);
        }
        top.finish();
        if (c.dns.cache_min_ttl > c.dns.cache_max_ttl)
            return Error{name, 0, "dns.cache_min_ttl is larger than dns.cache_max_ttl"};
    } catch (const toml::parse_error& e) {
        return Error{name, static_cast<unsigned>(e.source().begin.line),
                     std::string(e.description())};
    } catch (const ConfigError& e) {
        return e.error;
    }
    return c;
}

Expected<Config> load_config(const std::string& path) {
    auto text = read_regular_file(path, kMaxConfigBytes, "config file");
    if (!text) return text.error();
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    auto abs = std::filesystem::absolute(dir, ec);
    if (!ec) dir = abs.lexically_normal().string();
    return parse_config(*text, path, dir);
}

ResolverOptions resolver_options(const DnsConfig& d) {
    ResolverOptions r;
    r.servers = d.servers;
    r.timeout_ms = static_cast<unsigned>(d.timeout.count());
    r.tries = d.tries;
    r.deadline_ms = static_cast<unsigned>(d.deadline.count());
    r.cache_max_entries = d.cache_size;
    r.cache_min_ttl = static_cast<uint32_t>(d.cache_min_ttl.count());
    r.cache_max_ttl = static_cast<uint32_t>(d.cache_max_ttl.count());
    r.negative_ttl = static_cast<uint32_t>(d.negative_ttl.count());
    r.tempfail_ttl = static_cast<uint32_t>(d.tempfail_ttl.count());
    return r;
}

} // namespace ip25b
