// fuzz-postfix_table — the Postfix pcre:/regexp: table reader (postfix_table.hpp).
//
// Input: 1 byte selects the dialect and strictness, the rest is the table text. Tables
// are read unchanged from operators' Postfix setups; any bytes must give rules with
// balanced if/endif, or a file:line error, and every $-result must split cleanly.
#include "ip25b/postfix_table.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const auto syntax = data[0] & 1 ? ip25b::RuleSyntax::PosixRegexp : ip25b::RuleSyntax::Pcre;
    const auto strictness =
        data[0] & 2 ? ip25b::TableStrictness::Strict : ip25b::TableStrictness::Postfix;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    auto t = ip25b::parse_postfix_table(text, "fuzz.pcre", syntax, strictness);
    if (!t) {
        if (t.error().reason.empty()) abort();
        return 0;
    }
    long depth = 0;
    for (const auto& r : t->rules) {
        if (r.action == ip25b::RuleAction::IfBegin) ++depth;
        if (r.action == ip25b::RuleAction::IfEnd && --depth < 0) abort();
        if (r.action == ip25b::RuleAction::Result && !ip25b::parse_result(r.result)) abort();
    }
    if (depth != 0) abort();
    return 0;
}
