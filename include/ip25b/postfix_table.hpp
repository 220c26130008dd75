// ip25b/postfix_table.hpp — reads Postfix pcre: and regexp: tables unchanged.
//
// Operators already run tables such as fqrdns.pcre in Postfix; ip25b must give
// the answer postmap gives, so this reader follows pcre_table(5) and
// regexp_table(5) as Postfix 3.7 implements them (checked against postmap -q):
//   - logical lines: a line starting with whitespace continues the previous one
//     (joined verbatim, without the newline); blank lines and lines whose first
//     non-blank is '#' are skipped and do not end a logical line;
//   - `/re/flags result`, any non-alphanumeric delimiter, `\` protects the
//     delimiter (and stays in the pattern); `!/re/` negates; `if /re/`,
//     `if !/re/` and `endif` (keywords in any case) nest;
//   - pcre flags toggle i (caseless, on), s (DOTALL, on), m, x, A, E, U; X is
//     obsolete and ignored; regexp flags toggle i (on), x (REG_EXTENDED, on), m;
//   - results: `$n`, `${n}`, `$(n)` and `$$`; a group number beyond the
//     pattern's groups, or `$n` in a negated rule, is refused.
// Like Postfix, a bad line is reported (file:line: reason) and skipped; strict
// mode (lint) turns the first such report into an error instead.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/rule.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class TableStrictness : uint8_t {
    Postfix, // warn and skip what postmap warns about and skips
    Strict,  // the first warning is an error
};

struct TableLoad {
    std::vector<Rule> rules;     // in file order, if/endif balanced
    std::vector<Error> warnings; // what Postfix would log, file:line: reason
};

// Parses table text; `file` names it in rules and messages.
Expected<TableLoad> parse_postfix_table(std::string_view text, const std::string& file,
                                        RuleSyntax syntax,
                                        TableStrictness strictness = TableStrictness::Postfix);

// Reads and parses a file.
Expected<TableLoad> load_postfix_table(const std::string& path, RuleSyntax syntax,
                                       TableStrictness strictness = TableStrictness::Postfix);

// A result split into literal text and group references, for substitution.
struct ResultPart {
    std::string text; // literal text when group < 0
    int group = -1;   // $n
};

// Splits a result at its $-macros. The Error holds the reason only
// ("non-numeric replacement index \"x\"").
Expected<std::vector<ResultPart>> parse_result(std::string_view result);

} // namespace ip25b
