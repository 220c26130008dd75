// ip25b/rule.hpp — one entry of an ordered rule list, whatever file it came from.
//
// Postfix pcre:/regexp: tables, the project's per-ISP rule files and the
// allowlist all load into the same flat, ordered vector<Rule>. The matcher
// compiles that vector and answers with the first entry that matches, exactly
// as Postfix walks a table, so "which rule decided" is always one Rule with
// its file and line, whichever source it came from.
#pragma once

#include "ip25b/address.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ip25b {

class Regex;

enum class RuleSyntax : uint8_t {
    Pcre,        // PCRE2 (pcre: tables, rule files)
    PosixRegexp, // POSIX extended regex (regexp: tables), via regcomp(3)
};

enum class RuleAction : uint8_t {
    Result,    // Postfix table line: a match answers `result` ($n substituted)
    Dynamic,   // rule file: the name belongs to the ISP's dynamic pool
    Exception, // rule file: the name is in a non-dynamic zone of that ISP; stops the walk
    Allow,     // allowlist: a real MTA whose name looks generic; stops the walk
    Cloud,     // cloud file: a provider-generated name of a public cloud or VM host
    IfBegin,   // Postfix `if /re/`: the entries up to the matching IfEnd apply only when it matches
    IfEnd,     // Postfix `endif`
};

struct Rule {
    RuleAction action = RuleAction::Result;
    RuleSyntax syntax = RuleSyntax::Pcre;
    std::string pattern;     // the regex text between the delimiters, unmodified
    bool caseless = true;    // Postfix default; the `i` flag toggles it
    uint32_t pcre_flags = 0; // further PCRE2 compile options (DOTALL, EXTENDED, ...)
    bool negated = false;    // `!/re/`: matches when the regex does not
    std::string result;      // Result: the table's right-hand side
    std::string id;          // rule-file id; for tables "line N"
    std::string isp;         // ISP name from the rule file's metadata; empty for tables
    std::string feed;        // subscribed feed the rule came from; empty for local files
    std::vector<Cidr> scope; // when not empty the rule counts only for clients inside
    std::string file;        // where it was read, for every explanation and error
    unsigned line = 0;
    // `pattern` compiled (syntax, caseless, pcre_flags) by whichever step first
    // had to compile it (a table reader checking the line, lint), so that the
    // matcher takes it over instead of compiling again; null until then.
    // Immutable and shared by copies of the rule.
    std::shared_ptr<const Regex> compiled;
};

} // namespace ip25b
