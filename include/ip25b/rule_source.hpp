// ip25b/rule_source.hpp — one string names a source of rules, whatever its kind.
//
// Operators and tools name rules the same way everywhere (config `rules`,
// `ip25b match --table`, `ip25b-milter --rules`): "pcre:FILE" and
// "regexp:FILE" are Postfix tables read unchanged; a *.toml path is one of the
// project's rule files; a directory is every *.toml inside it and its
// subdirectories, in sorted path order (generic files only directly inside);
// "feed:DIR" is a subscribed feed's state directory (its current/rules/, each
// rule tagged with the feed's name). parse_rule_source() is the single place
// that reads those prefixes; the config, the programs and the loader all go
// through it.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/postfix_table.hpp"
#include "ip25b/rule.hpp"
#include "ip25b/rule_file.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class RuleSourceKind : uint8_t {
    PcreTable,   // "pcre:FILE"
    RegexpTable, // "regexp:FILE"
    Feed,        // "feed:DIR" (in rules.files: "feed:NAME", which the config maps to DIR)
    RuleFiles,   // a *.toml rule file or a directory of them (no prefix)
};

// A rule-source string taken apart.
struct RuleSourceSpec {
    RuleSourceKind kind = RuleSourceKind::RuleFiles;
    std::string path; // the table, the feed's state directory (or name), the file or directory

    bool is_table() const {
        return kind == RuleSourceKind::PcreTable || kind == RuleSourceKind::RegexpTable;
    }
    // The name of a subscribed feed: the last component of its state directory.
    std::string feed_name() const;
    // Back to the string form ("pcre:" + path, ...).
    std::string to_string() const;
};

RuleSourceSpec parse_rule_source(std::string_view spec);

struct RuleSource {
    std::string spec;        // as given
    std::vector<Rule> rules; // in evaluation order
    // The project's rule files a *.toml or directory source read, whole (with
    // their examples), for lint to check before the rules are used. Filled by
    // read_rule_source() only, whose caller moves their rules into `rules`
    // with take_file_rules(); empty for tables and feeds.
    std::vector<RuleFile> rule_files;
    std::vector<std::string> files;         // files read
    std::vector<Error> warnings;            // lines Postfix would skip with a warning
    std::vector<std::string> cloud_domains; // meta.domains of the cloud rule files read
    std::vector<std::string> isp_domains;   // meta.domains of ISP files that speak for their zones
};

// Reads a source; the rules of its rule files stay in `rule_files`.
// `strictness` applies to Postfix tables (rule files are always strict).
Expected<RuleSource> read_rule_source(std::string_view spec,
                                      TableStrictness strictness = TableStrictness::Postfix);

// Moves the rules of `rule_files` (in file order) to the end of `rules` and
// drops the files.
void take_file_rules(RuleSource& source);

// read_rule_source() and take_file_rules(): every rule in `rules`.
Expected<RuleSource> load_rule_source(std::string_view spec,
                                      TableStrictness strictness = TableStrictness::Postfix);

} // namespace ip25b
