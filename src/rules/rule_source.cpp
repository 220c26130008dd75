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

namespace {

constexpr std::string_view kPcrePrefix = "pcre:";
constexpr std::string_view kRegexpPrefix = "regexp:";
constexpr std::string_view kFeedPrefix = "feed:";

} // namespace

RuleSourceSpec parse_rule_source(std::string_view spec) {
    for (auto [prefix, kind] : {std::pair{kPcrePrefix, RuleSourceKind::PcreTable},
                                std::pair{kRegexpPrefix, RuleSourceKind::RegexpTable},
                                std::pair{kFeedPrefix, RuleSourceKind::Feed}})
        if (spec.starts_with(prefix)) return {kind, std::string(spec.substr(prefix.size()))};
    return {RuleSourceKind::RuleFiles, std::string(spec)};
}

std::string RuleSourceSpec::feed_name() const {
    return std::filesystem::path(path).filename().string();
}

std::string RuleSourceSpec::to_string() const {
    switch (kind) {
    case RuleSourceKind::PcreTable:
        return std::string(kPcrePrefix) + path;
    case RuleSourceKind::RegexpTable:
        return std::string(kRegexpPrefix) + path;
    case RuleSourceKind::Feed:
        return std::string(kFeedPrefix) + path;
    case RuleSourceKind::RuleFiles:
        break;
    }
    return path;
}

Expected<RuleSource> read_rule_source(std::string_view spec, TableStrictness strictness) {
    RuleSource out;
    out.spec = std::string(spec);
    const RuleSourceSpec source = parse_rule_source(spec);
    if (source.is_table()) {
        auto table = load_postfix_table(
            source.path,
            source.kind == RuleSourceKind::PcreTable ? RuleSyntax::Pcre : RuleSyntax::PosixRegexp,
            strictness);
        if (!table) return table.error();
        out.rules = std::move(table->rules);
        out.warnings = std::move(table->warnings);
        out.files.push_back(source.path);
        return out;
    }
    std::error_code ec;
    if (source.kind == RuleSourceKind::Feed) {
        // A subscribed feed (config [[feeds]]): its state directory. Until the
        // first `ip25b update` installs it there is nothing to load, which is
        // not an error: the milter must start before the first fetch.
        const std::string& dir = source.path;
        const std::string rules = feed_rules_directory(dir);
        const std::string name = source.feed_name();
        if (!std::filesystem::is_directory(rules, ec)) {
            // Installed but unreadable (the milter reads its rules as the service
            // user) is an error; only an absent feed waits for its first fetch.
            if (ec && ec != std::errc::no_such_file_or_directory)
                return Error{rules, 0, "cannot read: " + ec.message()};
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
    const std::string& path = source.path;
    auto keep = [&](RuleFile&& f) {
        out.files.push_back(f.path);
        if (f.kind == RuleFileKind::Cloud)
            out.cloud_domains.insert(out.cloud_domains.end(), f.meta.domains.begin(),
                                     f.meta.domains.end());
        if (speaks_for_its_zones(f))
            out.isp_domains.insert(out.isp_domains.end(), f.meta.domains.begin(),
                                   f.meta.domains.end());
        out.rule_files.push_back(std::move(f));
    };
    if (std::filesystem::is_directory(path, ec)) {
        auto files = load_rule_directory(path);
        if (!files) return files.error();
        if (files->empty()) return Error{path, 0, "directory holds no *.toml rule file"};
        for (auto& f : *files)
            keep(std::move(f));
        return out;
    }
    if (path.ends_with(".toml")) {
        auto file = load_rule_file(path);
        if (!file) return file.error();
        keep(std::move(file).value());
        return out;
    }
    // A rule directory the service user cannot enter is not a wrongly written source:
    // say why it cannot be read.
    if (ec && ec != std::errc::no_such_file_or_directory)
        return Error{path, 0, "cannot read: " + ec.message()};
    return Error{path, 0,
                 std::string("not a rule source") + (ec ? " (no such file or directory)" : "") +
                     ": expected pcre:FILE, regexp:FILE, a *.toml rule file or a directory of "
                     "them"};
}

void take_file_rules(RuleSource& source) {
    for (RuleFile& f : source.rule_files)
        for (Rule& r : f.rules)
            source.rules.push_back(std::move(r));
    source.rule_files.clear();
}

Expected<RuleSource> load_rule_source(std::string_view spec, TableStrictness strictness) {
    auto source = read_rule_source(spec, strictness);
    if (source) take_file_rules(*source);
    return source;
}

} // namespace ip25b
