// rule_file.cpp — reading and validating the TOML rule files.
//
// The raw bytes are screened first (size, NUL, line length, UTF-8) so those
// errors carry a line number whatever the TOML parser would say; toml++ then
// parses, and the walk below checks every key against the spec in
// rules/README.md. Errors are thrown internally as Fail and returned once as
// Expected, so each check stays one line.
#include "ip25b/rule_file.hpp"
#include "ip25b/ascii.hpp"
#include "ip25b/file_reader.hpp"

#include "ip25b/dns_name.hpp"
#include "ip25b/ip_in_name.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace ip25b {

namespace {

struct Fail {
    Error error;
};

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_len(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

// Byte-level screening, before any parser sees the text.
void screen(std::string_view text, const std::string& path) {
    if (text.size() > kMaxRuleFileBytes)
        throw Fail{{path, 0,
                    "file is over " + std::to_string(kMaxRuleFileBytes / 1024) +
                        " KiB; rule files are small, this is probably not one"}};
    unsigned line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < text.size();) {
        char c = text[i];
        if (c == '\0') throw Fail{{path, line, "NUL byte in file"}};
        if (c == '\n') {
            ++line;
            line_start = ++i;
            continue;
        }
        if (i - line_start >= kMaxRuleFileLineBytes)
            throw Fail{{path, line,
                        "line longer than " + std::to_string(kMaxRuleFileLineBytes) + " bytes"}};
        size_t n = utf8_len(text, i);
        if (n == 0) throw Fail{{path, line, "invalid UTF-8"}};
        i += n;
    }
}

unsigned line_of(const toml::node& n) {
    return n.source().begin.line;
}

std::string type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    default:
        return "nothing";
    }
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    auto ok = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (!first && (c == '-' || c == '_' || c == '.'));
    };
    for (size_t i = 0; i < id.size(); ++i)
        if (!ok(id[i], i == 0)) return false;
    return true;
}

constexpr std::string_view kEvidence[] = {"token", "observed", "inferred", "published"};

class Loader {
  public:
    explicit Loader(std::string path) : path_(std::move(path)) { file_.path = path_; }

    RuleFile run(std::string_view text) {
        screen(text, path_);
        toml::table root;
        try {
            root = toml::parse(text, path_);
        } catch (const toml::parse_error& e) {
            throw Fail{{path_, e.source().begin.line, "TOML: " + std::string(e.description())}};
        }
        only_keys(root, "the top level",
                  {"format", "kind", "meta", "exception", "dynamic", "allow", "cloud", "examples"});

        const toml::node& fmt = required(root, "format", 1, "the top level");
        if (!fmt.is_integer()) fail(fmt, "format must be an integer, not " + type_name(fmt));
        if (fmt.as_integer()->get() != 1)
            fail(fmt, "format " + std::to_string(fmt.as_integer()->get()) +
                          " is not supported (this ip25b reads format 1)");

        std::string kind = string_at(root, "kind", true, "the top level");
        if (kind == "isp")
            file_.kind = RuleFileKind::Isp;
        else if (kind == "allowlist")
            file_.kind = RuleFileKind::Allowlist;
        else if (kind == "generic")
            file_.kind = RuleFileKind::Generic;
        else if (kind == "cloud")
            file_.kind = RuleFileKind::Cloud;
        else
            fail(*root.get("kind"),
                 "kind must be \"isp\", \"allowlist\", \"cloud\" or \"generic\"");

        const toml::node& meta = required(root, "meta", 1, "the top level");
        read_meta(meta);

        bool is_allow = file_.kind == RuleFileKind::Allowlist;
        bool is_cloud = file_.kind == RuleFileKind::Cloud;
        // The entry section each kind holds besides [[exception]] (allowlists have none).
        const char* main_section = is_allow ? "allow" : is_cloud ? "cloud" : "dynamic";
        for (const char* section : {"exception", "dynamic", "allow", "cloud"}) {
            const toml::node* n = root.get(section);
            if (!n) continue;
            std::string_view s(section);
            bool permitted = s == main_section || (s == "exception" && !is_allow);
            if (!permitted)
                fail(*n, "[[" + std::string(section) +
                             "]] entries are not allowed in a file of kind \"" + kind + "\"");
        }
        // Exceptions stop the walk, so they come first whatever their place in the file.
        read_entries(root, "exception", RuleAction::Exception);
        read_entries(root, main_section,
                     is_allow   ? RuleAction::Allow
                     : is_cloud ? RuleAction::Cloud
                                : RuleAction::Dynamic);
        if (file_.rules.size() == exceptions_)
            throw Fail{
                {path_, 1,
                 "no [[" + std::string(main_section) + "]] entry: the file matches nothing"}};

        if (const toml::node* ex = root.get("examples")) read_file_examples(*ex);
        std::stable_sort(
            file_.examples.begin(), file_.examples.end(),
            [](const RuleExample& a, const RuleExample& b) { return a.line < b.line; });
        return std::move(file_);
    }

  private:
    [[noreturn]] void fail(unsigned line, std::string reason) {
        throw Fail{{path_, line, std::move(reason)}};
    }
    [[noreturn]] void fail(const toml::node& n, std::string reason) {
        fail(line_of(n), std::move(reason));
    }

    void only_keys(const toml::table& t, const std::string& where,
                   std::initializer_list<std::string_view> allowed) {
        for (auto&& [k, v] : t) {
            if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
                std::string list;
                for (auto a : allowed)
                    list += (list.empty() ? "" : ", ") + std::string(a);
                fail(k.source().begin.line ? k.source().begin.line : line_of(v),
                     "unknown key '" + std::string(k.str()) + "' in " + where + " (known: " + list +
                         ")");
            }
        }
    }

    const toml::node& required(const toml::table& t, std::string_view key, unsigned line,
                               const std::string& where) {
        const toml::node* n = t.get(key);
        if (!n) fail(line, "missing key '" + std::string(key) + "' in " + where);
        return *n;
    }

    std::string string_at(const toml::table& t, std::string_view key, bool needed,
                          const std::string& where, unsigned line = 1) {
        const toml::node* n = t.get(key);
        if (!n) {
            if (needed) fail(line, "missing key '" + std::string(key) + "' in " + where);
            return {};
        }
        if (!n->is_string()) fail(*n, std::string(key) + " must be a string, not " + type_name(*n));
        std::string s = n->as_string()->get();
        if (s.find('\0') != std::string::npos) fail(*n, std::string(key) + " contains a NUL");
        if (needed && s.empty()) fail(*n, std::string(key) + " must not be empty");
        return s;
    }

    void check_evidence(const toml::table& t, const std::string& value) {
        if (value.empty()) return;
        if (std::find(std::begin(kEvidence), std::end(kEvidence), value) == std::end(kEvidence))
            fail(*t.get("evidence"),
                 "evidence must be one of token, observed, inferred, published");
    }

    void read_meta(const toml::node& node) {
        if (!node.is_table()) fail(node, "meta must be a table ([meta])");
        const toml::table& t = *node.as_table();
        unsigned line = line_of(node);
        RuleFileMeta& m = file_.meta;
        m.line = line;
        only_keys(t, "[meta]",
                  {"name", "domains", "contact", "updated", "source", "country", "asn", "evidence",
                   "notes"});
        m.name = string_at(t, "name", true, "[meta]", line);
        m.contact = string_at(t, "contact", true, "[meta]", line);
        m.source = string_at(t, "source", true, "[meta]", line);
        m.country = string_at(t, "country", false, "[meta]", line);
        m.evidence = string_at(t, "evidence", false, "[meta]", line);
        m.notes = string_at(t, "notes", false, "[meta]", line);
        check_evidence(t, m.evidence);
        if (!m.country.empty() &&
            (m.country.size() != 2 ||
             !std::all_of(m.country.begin(), m.country.end(), ascii_is_upper)))
            fail(*t.get("country"), "country must be an ISO 3166 alpha-2 code such as \"JP\"");

        const toml::node& upd = required(t, "updated", line, "[meta]");
        if (!upd.is_date())
            fail(upd, "updated must be a TOML date (updated = 2026-11-22, unquoted), not " +
                          type_name(upd));
        toml::date d = upd.as_date()->get();
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", unsigned(d.year), unsigned(d.month),
                      unsigned(d.day));
        m.updated = buf;

        if (const toml::node* dn = t.get("domains")) {
            if (!dn->is_array()) fail(*dn, "domains must be an array of strings");
            std::set<std::string> seen;
            for (const toml::node& e : *dn->as_array()) {
                if (!e.is_string()) fail(e, "domains must be an array of strings");
                std::string dom = e.as_string()->get();
                if (auto why = hostname_problem(dom)) fail(e, "domain '" + dom + "': " + *why);
                dom = normalize_hostname(dom);
                if (dom.find('.') == std::string::npos)
                    fail(e, "domain '" + dom + "' is a top-level domain; name the ISP's zone");
                if (!seen.insert(dom).second) fail(e, "domain '" + dom + "' listed twice");
                m.domains.push_back(dom);
                m.domain_lines.push_back(line_of(e));
            }
        }
        if ((file_.kind == RuleFileKind::Isp || file_.kind == RuleFileKind::Cloud) &&
            m.domains.empty())
            fail(line, "a file of kind \"" + std::string(to_string(file_.kind)) +
                           "\" must list its domains in [meta]");

        if (const toml::node* an = t.get("asn")) {
            if (!an->is_array()) fail(*an, "asn must be an array of AS numbers");
            for (const toml::node& e : *an->as_array()) {
                if (!e.is_integer()) fail(e, "asn must be an array of AS numbers");
                int64_t v = e.as_integer()->get();
                if (v < 1 || v > 4294967295LL) fail(e, "AS number out of range");
                m.asn.push_back(uint32_t(v));
            }
        }
    }

    void read_entries(const toml::table& root, const char* section, RuleAction action) {
        const toml::node* n = root.get(section);
        if (!n) return;
        if (!n->is_array_of_tables() || n->as_array()->empty())
            fail(*n, std::string(section) + " must be written as [[" + section + "]] tables");
        for (const toml::node& e : *n->as_array())
            read_entry(*e.as_table(), section, action);
    }

    void read_entry(const toml::table& t, const char* section, RuleAction action) {
        unsigned line = line_of(t);
        std::string where = std::string("[[") + section + "]]";
        if (action == RuleAction::Allow)
            only_keys(t, where,
                      {"id", "pattern", "ranges", "operator", "evidence", "note", "examples",
                       "counter_examples", "embeds_ip"});
        else
            only_keys(t, where,
                      {"id", "pattern", "ranges", "evidence", "note", "examples",
                       "counter_examples", "embeds_ip"});
        Rule r;
        RuleInfo info;
        info.entry_line = line;
        r.action = action;
        r.syntax = RuleSyntax::Pcre;
        r.caseless = true;
        r.file = path_;
        r.id = string_at(t, "id", true, where, line);
        if (!valid_id(r.id))
            fail(*t.get("id"),
                 "id '" + r.id + "' must be 1-64 of a-z 0-9 - _ . starting with a letter or digit");
        if (auto [it, fresh] = ids_.emplace(r.id, line_of(*t.get("id"))); !fresh)
            fail(*t.get("id"),
                 "duplicate id '" + r.id + "' (first at line " + std::to_string(it->second) + ")");
        r.pattern = string_at(t, "pattern", true, where, line);
        r.line = line_of(*t.get("pattern"));
        r.isp = file_.meta.name;
        if (action == RuleAction::Allow) {
            std::string op = string_at(t, "operator", false, where, line);
            if (!op.empty()) r.isp = op;
        }
        info.evidence = string_at(t, "evidence", false, where, line);
        check_evidence(t, info.evidence);
        info.note = string_at(t, "note", false, where, line);
        info.embeds_ip = string_at(t, "embeds_ip", false, where, line);
        if (!info.embeds_ip.empty() && info.embeds_ip != "none" &&
            !parse_ip_encoding(info.embeds_ip))
            fail(*t.get("embeds_ip"),
                 "embeds_ip must be none, decimal, decimal-reversed, padded, padded-reversed, "
                 "hex, hex-reversed or partial");

        if (const toml::node* rn = t.get("ranges")) {
            if (!rn->is_array()) fail(*rn, "ranges must be an array of CIDR strings");
            for (const toml::node& e : *rn->as_array()) {
                if (!e.is_string()) fail(e, "ranges must be an array of CIDR strings");
                std::string why;
                auto c = Cidr::parse(e.as_string()->get(), &why);
                if (!c)
                    fail(e, "bad CIDR '" + e.as_string()->get() + "'" +
                                (why.empty() ? "" : ": " + why));
                r.scope.push_back(*c);
            }
            if (r.scope.empty()) fail(*rn, "ranges is empty; leave it out to match every address");
        }

        if (const toml::node* en = t.get("examples"))
            read_examples(*en, "examples", true, false, r.id, !r.scope.empty());
        if (const toml::node* cn = t.get("counter_examples"))
            read_examples(*cn, "counter_examples", false, false, r.id, false);

        if (action == RuleAction::Exception) ++exceptions_;
        file_.rules.push_back(std::move(r));
        file_.info.push_back(std::move(info));
    }

    void read_examples(const toml::node& n, const std::string& key, bool must_match,
                       bool file_level, const std::string& rule_id, bool need_ip) {
        if (!n.is_array()) fail(n, key + " must be an array");
        for (const toml::node& e : *n.as_array()) {
            RuleExample ex;
            ex.must_match = must_match;
            ex.file_level = file_level;
            ex.rule_id = rule_id;
            ex.line = line_of(e);
            if (e.is_string()) {
                ex.ptr = e.as_string()->get();
            } else if (e.is_table()) {
                const toml::table& t = *e.as_table();
                if (file_level)
                    only_keys(t, "an example", {"ptr", "ip", "rule"});
                else
                    only_keys(t, "an example", {"ptr", "ip"});
                ex.ptr = string_at(t, "ptr", true, "an example", ex.line);
                std::string ip = string_at(t, "ip", false, "an example", ex.line);
                if (!ip.empty() || t.get("ip")) {
                    auto a = IpAddress::parse(ip);
                    if (!a) fail(*t.get("ip"), "bad address '" + ip + "'");
                    ex.ip = *a;
                }
                if (file_level) {
                    ex.rule_id = string_at(t, "rule", false, "an example", ex.line);
                    if (!ex.rule_id.empty() && !ids_.count(ex.rule_id))
                        fail(*t.get("rule"), "no rule with id '" + ex.rule_id + "' in this file");
                }
            } else {
                fail(e,
                     key +
                         " entries must be names or { ptr = \"...\", ip = \"...\" } tables, not " +
                         type_name(e));
            }
            if (auto why = hostname_problem(ex.ptr))
                fail(e, "example '" + ex.ptr + "' is not a valid host name: " + *why);
            if (need_ip && !ex.ip)
                fail(e, "rule '" + rule_id +
                            "' is scoped by ranges: its examples need an address "
                            "({ ptr = \"...\", ip = \"...\" })");
            file_.examples.push_back(std::move(ex));
        }
    }

    void read_file_examples(const toml::node& n) {
        if (!n.is_table()) fail(n, "examples must be a table ([examples])");
        const toml::table& t = *n.as_table();
        only_keys(t, "[examples]", {"match", "no_match"});
        if (const toml::node* m = t.get("match")) read_examples(*m, "match", true, true, "", false);
        if (const toml::node* m = t.get("no_match"))
            read_examples(*m, "no_match", false, true, "", false);
    }

    std::string path_;
    RuleFile file_;
    std::map<std::string, unsigned> ids_;
    size_t exceptions_ = 0;
};

} // namespace

std::string_view to_string(RuleFileKind k) {
    switch (k) {
    case RuleFileKind::Isp:
        return "isp";
    case RuleFileKind::Allowlist:
        return "allowlist";
    case RuleFileKind::Generic:
        return "generic";
    case RuleFileKind::Cloud:
        return "cloud";
    }
    return "?";
}

Expected<RuleFile> parse_rule_file(std::string_view text, const std::string& path) {
    try {
        return Loader(path).run(text);
    } catch (const Fail& f) {
        return f.error;
    }
}

Expected<RuleFile> load_rule_file(const std::string& path) {
    auto text = read_regular_file(path, kMaxRuleFileBytes, "rule file");
    if (!text) return text.error();
    return parse_rule_file(*text, path);
}

Expected<std::vector<std::string>> list_rule_files(const std::string& dir, bool recursive) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return Error{dir, 0, ec ? "cannot read: " + ec.message() : "not a directory"};
    std::vector<std::string> out;
    auto take = [&](const fs::directory_entry& e) {
        const fs::path& p = e.path();
        std::string name = p.filename().string();
        if (name.empty() || name[0] == '.') return;
        if (p.extension() != ".toml") return;
        std::error_code ec2;
        if (e.is_regular_file(ec2)) out.push_back(p.string());
    };
    // A directory that cannot be read is an error, never skipped: the milter reads
    // its rules as the service user, and rules/isp/jp/ unreadable to it must refuse
    // the load, not quietly drop every Japanese rule. The error names the directory
    // being entered (or the entry last read, if reading the next one failed).
    auto unreadable = [](const fs::path& p, const std::error_code& e) {
        return Error{p.string(), 0, "cannot read directory: " + e.message()};
    };
    if (recursive) {
        fs::recursive_directory_iterator it(dir, ec);
        if (ec) return unreadable(dir, ec);
        for (auto end = fs::recursive_directory_iterator(); it != end;) {
            const fs::path current = it->path();
            // Hidden directories (.git, editor state) are not rule sets.
            if (it->is_directory() && current.filename().string().starts_with("."))
                it.disable_recursion_pending();
            else
                take(*it);
            it.increment(ec);
            if (ec) return unreadable(current, ec);
        }
    } else {
        fs::directory_iterator it(dir, ec);
        if (ec) return unreadable(dir, ec);
        for (auto end = fs::directory_iterator(); it != end;) {
            const fs::path current = it->path();
            take(*it);
            it.increment(ec);
            if (ec) return unreadable(current, ec);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

Expected<std::vector<RuleFile>> load_rule_directory(const std::string& dir) {
    auto files = list_rule_files(dir, true);
    if (!files) return files.error();
    std::vector<RuleFile> out;
    for (const std::string& f : *files) {
        auto rf = load_rule_file(f);
        if (!rf) return rf.error();
        // Generic shapes (S25R) are opt-in: a directory named in the config
        // brings along only those lying directly in it, never those of a
        // subdirectory, so naming rules/ cannot switch S25R on by accident.
        auto rel = std::filesystem::path(f).lexically_relative(dir);
        const bool nested = std::distance(rel.begin(), rel.end()) > 1;
        if (rf->kind == RuleFileKind::Generic && nested) continue;
        out.push_back(std::move(rf).value());
    }
    return out;
}

} // namespace ip25b
