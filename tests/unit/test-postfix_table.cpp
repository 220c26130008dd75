#define BOOST_TEST_MODULE postfix_table
#include <boost/test/unit_test.hpp>

#include "ip25b/postfix_table.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>

#include <fstream>

using namespace ip25b;

namespace {
TableLoad parse(std::string_view text, RuleSyntax syntax = RuleSyntax::Pcre) {
    auto t = parse_postfix_table(text, "t.pcre", syntax);
    BOOST_REQUIRE(t);
    return std::move(t).value();
}
bool warned(const TableLoad& t, unsigned line, std::string_view what) {
    for (const auto& w : t.warnings)
        if (w.line == line && w.file == "t.pcre" && w.reason.find(what) != std::string::npos)
            return true;
    return false;
}
} // namespace

BOOST_AUTO_TEST_CASE(rules_results_and_lines) {
    auto t = parse("# comment\n\n/^a$/ first\n/^b$/\tsecond  result  \n");
    BOOST_REQUIRE(t.rules.size() == 2u);
    BOOST_TEST(t.rules[0].pattern == "^a$");
    BOOST_TEST(t.rules[0].result == "first");
    BOOST_TEST(t.rules[0].line == 3u);
    BOOST_TEST(t.rules[0].file == "t.pcre");
    BOOST_TEST(t.rules[0].id == "line 3");
    BOOST_TEST(t.rules[1].result == "second  result");
    BOOST_TEST(t.rules[0].caseless);
    BOOST_TEST((t.rules[0].pcre_flags & PCRE2_DOTALL) != 0u); // s is on by default
    BOOST_TEST(t.warnings.empty());
}

BOOST_AUTO_TEST_CASE(continuation_lines_join_verbatim) {
    // Comments and blank lines inside do not end the logical line.
    auto t = parse("/^a$/ x  \n# c\n   \n  cont  \n\t#indented comment\n/^b$/ y\r\n");
    BOOST_REQUIRE(t.rules.size() == 2u);
    BOOST_TEST(t.rules[0].result == "x    cont");
    BOOST_TEST(t.rules[1].result == "y"); // CR is trailing white space
    auto lead = parse("  /^lead$/ lead\n/^q$/ q\n");
    BOOST_TEST(lead.rules.size() == 1u);
    BOOST_TEST(warned(lead, 1, "must not start with whitespace"));
}

BOOST_AUTO_TEST_CASE(delimiters_and_escapes) {
    auto t = parse("/^esc\\/x$/ a\n!#^g$# b\n|^p$|i c\n/^spa ce$/ d\n");
    BOOST_REQUIRE(t.rules.size() == 4u);
    BOOST_TEST(t.rules[0].pattern == "^esc\\/x$"); // the backslash stays
    BOOST_TEST(t.rules[1].negated);
    BOOST_TEST(t.rules[1].pattern == "^g$");
    BOOST_TEST(t.rules[2].pattern == "^p$");
    BOOST_TEST(!t.rules[2].caseless);
    BOOST_TEST(t.rules[3].pattern == "^spa ce$");
}

BOOST_AUTO_TEST_CASE(each_bang_toggles_negation) {
    auto t = parse("!!/^a$/ two\n! ! ! /^b$/ three\nif !!/^c/\nendif\n");
    BOOST_REQUIRE(t.rules.size() == 4u);
    BOOST_TEST(!t.rules[0].negated);
    BOOST_TEST(t.rules[1].negated);
    BOOST_TEST(!t.rules[2].negated);
}

BOOST_AUTO_TEST_CASE(pcre_flags_toggle) {
    auto t = parse("/a/i r\n/b/s r\n/c/mxAEU r\n/d/X r\n/e/q r\n");
    BOOST_REQUIRE(t.rules.size() == 4u);
    BOOST_TEST(!t.rules[0].caseless);
    BOOST_TEST((t.rules[1].pcre_flags & PCRE2_DOTALL) == 0u);
    BOOST_TEST(t.rules[2].pcre_flags == (PCRE2_DOTALL | PCRE2_MULTILINE | PCRE2_EXTENDED |
                                         PCRE2_ANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_UNGREEDY));
    BOOST_TEST(warned(t, 4, "obsolete regexp option \"X\""));
    BOOST_TEST(warned(t, 5, "unknown regexp option \"q\""));
}

BOOST_AUTO_TEST_CASE(regexp_flags_toggle) {
    auto t = parse("/a/ r\n/b/x r\n/c/im r\n/d/s r\n", RuleSyntax::PosixRegexp);
    BOOST_REQUIRE(t.rules.size() == 3u);
    BOOST_TEST((t.rules[0].syntax == RuleSyntax::PosixRegexp));
    BOOST_TEST(t.rules[0].pcre_flags == uint32_t(REG_EXTENDED));
    BOOST_TEST(t.rules[1].pcre_flags == 0u);
    BOOST_TEST(!t.rules[2].caseless);
    BOOST_TEST(t.rules[2].pcre_flags == uint32_t(REG_EXTENDED | REG_NEWLINE));
    BOOST_TEST(warned(t, 4, "unknown regexp option \"s\""));
}

BOOST_AUTO_TEST_CASE(if_endif_nesting) {
    auto t = parse("if /^a/\nIF !/^ab/\n/^ac$/ x\nENDIF\nendif\nif/^j/\n/^jj$/ y\nendif\n");
    BOOST_REQUIRE(t.rules.size() == 8u);
    BOOST_TEST((t.rules[0].action == RuleAction::IfBegin));
    BOOST_TEST((t.rules[1].action == RuleAction::IfBegin));
    BOOST_TEST(t.rules[1].negated);
    BOOST_TEST((t.rules[3].action == RuleAction::IfEnd));
    BOOST_TEST((t.rules[5].action == RuleAction::IfBegin));
    BOOST_TEST(t.warnings.empty());
}

BOOST_AUTO_TEST_CASE(if_endif_mistakes_are_reported_like_postfix) {
    auto t =
        parse("endif\nif /^b/ extra\n/^bb$/ bb\nendif trailing\nifx /^k/\nif /^j/\n/^jj$/ j\n");
    BOOST_TEST(warned(t, 1, "ENDIF without matching IF"));
    BOOST_TEST(warned(t, 2, "extra text after IF"));
    BOOST_TEST(warned(t, 4, "extra text after ENDIF"));
    BOOST_TEST(warned(t, 5, "unrecognized request"));
    BOOST_TEST(warned(t, 6, "IF has no matching ENDIF"));
    // The unclosed if is closed at the end so the list stays balanced.
    BOOST_REQUIRE(!t.rules.empty());
    BOOST_TEST((t.rules.back().action == RuleAction::IfEnd));
}

BOOST_AUTO_TEST_CASE(result_macros) {
    auto p = parse_result("x${1}y$(2)z$3 $$ $10");
    BOOST_REQUIRE(p);
    BOOST_REQUIRE(p->size() == 8u);
    BOOST_TEST((*p)[0].text == "x");
    BOOST_TEST((*p)[1].group == 1);
    BOOST_TEST((*p)[3].group == 2);
    BOOST_TEST((*p)[5].group == 3);
    BOOST_TEST((*p)[6].text == " $ ");
    BOOST_TEST((*p)[7].group == 10);
    BOOST_TEST(parse_result("$1z").error().reason.find("non-numeric") != std::string::npos);
    BOOST_TEST(parse_result("a $ b").error().reason.find("empty macro") != std::string::npos);
    BOOST_TEST(parse_result("${1").error().reason.find("unbalanced") != std::string::npos);
    BOOST_TEST(parse_result("$0").error().reason.find("out of range") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_rules_are_skipped_with_file_and_line) {
    auto t =
        parse("/^x(y)$/ $2\n!/^z(y)$/ $1\n/^h(/ bad\n/^n$/\n/^d$/ a$b\nabc/^f$/ f\n/^ok$/ ok\n");
    BOOST_TEST(warned(t, 1, "out of range replacement index \"2\""));
    BOOST_TEST(warned(t, 2, "negative match"));
    BOOST_TEST(warned(t, 3, "missing closing parenthesis"));
    BOOST_TEST(warned(t, 4, "no replacement text"));
    BOOST_TEST(warned(t, 5, "non-numeric replacement index \"b\""));
    BOOST_TEST(warned(t, 6, "unrecognized request"));
    BOOST_REQUIRE(t.rules.size() == 2u); // /^n$/ with an empty result, and /^ok$/
    BOOST_TEST(t.rules[0].result.empty());
    BOOST_TEST(t.rules[1].pattern == "^ok$");
    auto nodelim = parse("/^open ok\n");
    BOOST_TEST(warned(nodelim, 1, "no closing regexp delimiter"));
}

BOOST_AUTO_TEST_CASE(strict_mode_turns_the_first_warning_into_an_error) {
    auto t = parse_postfix_table("/^a$/ a\n/^b(/ b\n", "t.pcre", RuleSyntax::Pcre,
                                 TableStrictness::Strict);
    BOOST_REQUIRE(!t);
    BOOST_TEST(t.error().to_string().rfind("t.pcre:2: error in regex", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(hostile_table_content) {
    // NUL byte: refused for the line, the rest loads.
    std::string nul("/^a\0b$/ x\n/^c$/ c\n", 18);
    auto t = parse(nul);
    BOOST_TEST(warned(t, 1, "NUL byte"));
    BOOST_REQUIRE(t.rules.size() == 1u);
    BOOST_TEST(t.rules[0].pattern == "^c$");
    // A 64 KiB line loads (or is refused) without trouble.
    std::string huge = "/^" + std::string(70000, 'a') + "$/ long\n/^z$/ z\n";
    auto h = parse(huge);
    // PCRE2 refuses a 70,000-byte pattern as too large: a clear, located warning.
    BOOST_TEST(warned(h, 1, "too large"));
    BOOST_TEST(h.rules.size() == 1u);
    std::string huge_result = "/^y$/ " + std::string(70000, 'r') + "\n";
    BOOST_TEST(parse(huge_result).rules[0].result.size() == 70000u);
    // Invalid UTF-8 is just bytes to a non-UTF pattern.
    auto u = parse("/^caf\xc3$/ bad-utf8\n/^\xff\xfe$/ y\n");
    BOOST_TEST(u.rules.size() == 2u);
    // Alphanumeric delimiter: postmap takes it, strict mode refuses it.
    auto d = parse("!a^xa r\n");
    BOOST_REQUIRE(d.rules.size() == 1u);
    BOOST_TEST(d.rules[0].pattern == "^x");
    auto ds = parse_postfix_table("!a^xa r\n", "t.pcre", RuleSyntax::Pcre, TableStrictness::Strict);
    BOOST_TEST(ds.error().reason.find("invalid regexp delimiter") != std::string::npos);
}
