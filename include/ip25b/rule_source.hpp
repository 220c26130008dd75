// ip25b/rule_source.hpp — one string names a source of rules, whatever its kind.
//
// Operators and tools name rules the same way everywhere (config `rules`,
// `ip25b match --table`, `ip25b-milter --rules`): "pcre:FILE" and
// "regexp:FILE" are Postfix tables read unchanged; a *.toml path is one of the
// project's rule files; a directory is every *.toml inside it and its
// subdirectories, in sorted path order (generic files only directly inside);
// "feed:DIR" is a subscribed feed's state directory (its current/rules/, each
// rule tagged with the feed's name). This is the single place that tells them
// apart.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/postfix_table.hpp"
#include "ip25b/rule.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

struct RuleSource {
    std::string spec;                       // as given
    std::vector<Rule> rules;                // in evaluation order
    std::vector<std::string> files;         // files read
    std::vector<Error> warnings;            // lines Postfix would skip with a warning
    std::vector<std::string> cloud_domains; // meta.domains of the cloud rule files read
    std::vector<std::string> isp_domains;   // meta.domains of ISP files that speak for their zones
};

// `strictness` applies to Postfix tables (rule files are always strict).
Expected<RuleSource> load_rule_source(std::string_view spec,
                                      TableStrictness strictness = TableStrictness::Postfix);

} // namespace ip25b
