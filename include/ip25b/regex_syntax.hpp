// ip25b/regex_syntax.hpp — reading a PCRE2 pattern's text without compiling it.
//
// Two modules look at the text of a rule's pattern: the matcher, for the
// literal tail or substrings every match must contain (its index keys), and
// lint, for missing anchors, a top-level '|' and nested unbounded
// quantifiers. Both must agree on where a character class, a quantifier or a
// group ends, so this is the one reading of those constructs. Every scanner
// is conservative: npos or nullopt means "not sure", and the caller then does
// the safe thing (the matcher leaves the rule unindexed, lint stays silent).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ip25b {

// Index of the ']' closing the character class that opens at p[i] == '[': a
// leading ']' (after an optional '^') is literal, escapes are skipped and a
// POSIX [:name:], [.x.] or [=x=] inside is one item. npos when unterminated.
size_t regex_class_end(std::string_view p, size_t i);

// Index of the '}' of the {n}, {n,}, {n,m} or {,m} quantifier opening at
// p[i] == '{'; npos when the brace is not a quantifier (PCRE2 reads it as a
// literal).
size_t regex_brace_end(std::string_view p, size_t i);

struct RegexQuantifier {
    size_t length = 0;       // bytes, including a lazy '?' or possessive '+'
    bool unbounded = false;  // *, + or {n,}
    bool possessive = false; // x*+, x++ ...: never gives back, so never backtracks
};

// The quantifier that starts at p[i], if one does.
std::optional<RegexQuantifier> regex_quantifier_at(std::string_view p, size_t i);

// Index of the ')' closing the group that opens at p[i] == '('; npos when
// unbalanced or unsure: \Q...\E quoting, and verbs such as (*ACCEPT), which
// end a match early, make it give up.
size_t regex_group_end(std::string_view p, size_t i);

} // namespace ip25b
