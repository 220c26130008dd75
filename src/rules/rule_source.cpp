// rule_source.cpp — dispatch of a rule-source string to the right reader.
#include "ip25b/rule_source.hpp"

#include "ip25b/feed_store.hpp"
#include "ip25b/rule_file.hpp"

#include <filesystem>

namespace ip25b {

namespace {

// An ISP's own publication (evidence "published", or a signed feed) speaks
// for its whole zone: a name there that no pool rule matched is not a pool
// name, so the generic tier leaves it alone. A file written by a third party
// from observed names makes no such claim, and the generic tier still weighs
// names in its zones that none of its rules matched.
bool speaks_for_its_zones(const RuleFile& f) {
    return f.kind == RuleFileKind::Isp && f.meta.evidence == "published";
}

// A feed speaks for its publisher's zones only. Lint checks that examples lie
// inside meta.domains, not that patterns do: '^.*$' with an in-zone example
// passes, and from a third party's feed it would refuse (or, as an
// exception, exempt) everybody's clients. So every rule of a feed also
// requires the whole name to end in one of the file's domains: after the
// rule's own match, the rest of the name is consumed and the end is checked
// by a fixed-length lookbehind per domain (PCRE2 10.42 allows alternatives of
// different fixed lengths).
void confine_to_domains(Rule& r, const std::vector<std::string>& domains) {
    std::string alts;
    for (const auto& d : domains) {
        std::string quoted;
        for (char c : d) {
            if (c == '.' || c == '-') quoted += '\\';
            quoted += c;
        }
        if (!alts.empty()) alts += '|';
        alts += "^" + quoted + "|\\." + quoted;
    }
    if (alts.empty()) alts = "(*FAIL)"; // an isp file always has domains; never widen
    r.pattern = "(?:" + r.pattern + ")(?=.*+(?<=" + alts + ")\\z)";
}

} // namespace

Expected<RuleSource> load_rule_source(std::string_view spec, TableStrictness strictness) {
    RuleSource out;
    out.spec = std::string(spec);
    if (spec.starts_with("pcre:") || spec.starts_with("regexp:")) {
        auto table = load_table_spec(spec, strictness);
        if (!table) return table.error();
        out.rules = std::move(table->rules);
        out.warnings = std::move(table->warnings);
        out.files.push_back(std::string(spec.substr(spec.find(':') + 1)));
        return out;
    }
    std::error_code ec;
    if (spec.starts_with("feed:")) {
        // A subscribed feed (config [[feeds]]): its state directory. Until the
        // first `ip25b update` installs it there is nothing to load, which is
        // not an error: the milter must start before the first fetch.
        const std::string dir(spec.substr(5));
        const std::string rules = feed_rules_directory(dir);
        const std::string name = std::filesystem::path(dir).filename().string();
        if (!std::filesystem::is_directory(rules, ec)) {
            out.warnings.push_back(
                Error{dir, 0, "feed " + name + " is not installed yet (run ip25b update)"});
            return out;
        }
        auto files = load_rule_directory(rules);
        if (!files) return files.error();
        for (auto& f : *files) {
            out.files.push_back(f.path);
            if (f.kind == RuleFileKind::Isp)
                out.isp_domains.insert(out.isp_domains.end(), f.meta.domains.begin(),
                                       f.meta.domains.end());
            for (auto& r : f.rules) {
                r.feed = name;
                confine_to_domains(r, f.meta.domains);
                out.rules.push_back(std::move(r));
            }
        }
        return out;
    }
    const std::string path(spec);
    if (std::filesystem::is_directory(path, ec)) {
        auto files = load_rule_directory(path);
        if (!files) return files.error();
        if (files->empty()) return Error{path, 0, "directory holds no *.toml rule file"};
        for (auto& f : *files) {
            out.files.push_back(f.path);
            if (f.kind == RuleFileKind::Cloud)
                out.cloud_domains.insert(out.cloud_domains.end(), f.meta.domains.begin(),
                                         f.meta.domains.end());
            if (speaks_for_its_zones(f))
                out.isp_domains.insert(out.isp_domains.end(), f.meta.domains.begin(),
                                       f.meta.domains.end());
            for (auto& r : f.rules)
                out.rules.push_back(std::move(r));
        }
        return out;
    }
    if (path.ends_with(".toml")) {
        auto file = load_rule_file(path);
        if (!file) return file.error();
        out.files.push_back(file->path);
        if (file->kind == RuleFileKind::Cloud) out.cloud_domains = file->meta.domains;
        if (speaks_for_its_zones(*file)) out.isp_domains = file->meta.domains;
        out.rules = std::move(file->rules);
        return out;
    }
    return Error{path, 0,
                 "not a rule source: expected pcre:FILE, regexp:FILE, a *.toml rule file "
                 "or a directory of them"};
}

} // namespace ip25b
