#define BOOST_TEST_MODULE matcher
#include <boost/test/unit_test.hpp>

#include "ip25b/matcher.hpp"
#include "ip25b/postfix_table.hpp"
#include "ip25b/regex.hpp"
#include "ip25b/rule_source.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace ip25b;

namespace {
Matcher table(std::string_view text, RuleSyntax syntax = RuleSyntax::Pcre) {
    auto t = parse_postfix_table(text, "t.pcre", syntax, TableStrictness::Strict);
    BOOST_REQUIRE_MESSAGE(t, (t ? "" : t.error().to_string()));
    auto m = Matcher::build(std::move(t->rules));
    BOOST_REQUIRE_MESSAGE(m, (m ? "" : m.error().to_string()));
    return std::move(m).value();
}
std::string answer(const Matcher& m, std::string_view name, const IpAddress* client = nullptr) {
    auto fast = m.match(name, client);
    auto slow = m.match_linear(name, client);
    BOOST_TEST(fast.has_value() == slow.has_value());
    if (fast && slow) {
        BOOST_TEST(fast->rule == slow->rule);
        BOOST_TEST(fast->result == slow->result);
    }
    return fast ? fast->result : std::string("-");
}
} // namespace

BOOST_AUTO_TEST_CASE(first_match_wins_and_substitutes) {
    auto m = table("/^(a+)\\.example\\.com$/ got $1 ${1} $(1) $$\n"
                   "/\\.example\\.com$/ second\n"
                   "/^(x)?y\\.example\\.com$/ [$1]\n");
    BOOST_TEST(answer(m, "aaa.example.com") == "got aaa aaa aaa $");
    BOOST_TEST(answer(m, "AAA.Example.COM") == "got AAA AAA AAA $");
    BOOST_TEST(answer(m, "b.example.com") == "second");
    BOOST_TEST(answer(m, "example.com") == "-");
    BOOST_TEST(answer(m, "b.example.com.evil") == "-");
    BOOST_TEST(m.stats().indexed == 3u);
}

BOOST_AUTO_TEST_CASE(guards_and_negation) {
    auto m = table("if /^a/\n"
                   "if !/^ab/\n"
                   "/\\.jp$/ a-not-ab\n"
                   "endif\n"
                   "/\\.jp$/ a-any\n"
                   "endif\n"
                   "!/\\.jp$/ not-jp\n"
                   "/\\.jp$/ fallback\n");
    BOOST_TEST(answer(m, "ax.example.jp") == "a-not-ab");
    BOOST_TEST(answer(m, "abx.example.jp") == "a-any");
    BOOST_TEST(answer(m, "x.example.jp") == "fallback");
    BOOST_TEST(answer(m, "x.example.com") == "not-jp");
}

BOOST_AUTO_TEST_CASE(case_sensitive_rules_and_flags) {
    auto m = table("/^ABC\\.jp$/i upper\n/^abc\\.jp$/i lower\n/^a.b$/s dotall-off\n");
    BOOST_TEST(answer(m, "ABC.jp") == "upper");
    BOOST_TEST(answer(m, "abc.jp") == "lower");
    BOOST_TEST(answer(m, "Abc.jp") == "-");
    BOOST_TEST(answer(m, "a\nb") == "-"); // s toggles DOTALL off
    BOOST_TEST(answer(m, "axb") == "dotall-off");
}

BOOST_AUTO_TEST_CASE(scope_limits_a_rule_to_client_ranges) {
    auto t = parse_postfix_table("/\\.dyn\\.example\\.jp$/ scoped\n/\\.example\\.jp$/ any\n",
                                 "t.pcre", RuleSyntax::Pcre);
    BOOST_REQUIRE(t);
    auto cidr = Cidr::parse("192.0.2.0/24");
    BOOST_REQUIRE(cidr);
    t->rules[0].scope.push_back(*cidr);
    auto m = Matcher::build(t->rules);
    BOOST_REQUIRE(m);
    auto inside = IpAddress::parse("192.0.2.7");
    auto outside = IpAddress::parse("198.51.100.7");
    BOOST_REQUIRE(inside);
    BOOST_REQUIRE(outside);
    BOOST_TEST(answer(*m, "h1.dyn.example.jp", &*inside) == "scoped");
    BOOST_TEST(answer(*m, "h1.dyn.example.jp", &*outside) == "any");
    BOOST_TEST(answer(*m, "h1.dyn.example.jp") == "any");
}

BOOST_AUTO_TEST_CASE(unindexable_rules_still_answer_in_order) {
    // Top-level |, inline options, \Q..\E, x flag, no $: all scanned, order kept.
    auto m = table("/^mail|\\.dyn\\.jp$/ alt\n"
                   "/(?i)\\.opt\\.jp$/ inline\n"
                   "/\\Q.q.jp\\E$/ quoted\n"
                   "/ \\.x\\.jp $ /x extended\n"
                   "/\\.jp/ unanchored\n"
                   "/[.]y\\.jp$/ class\n");
    BOOST_TEST(answer(m, "a.dyn.jp") == "alt");
    BOOST_TEST(answer(m, "mail.example.com") == "alt");
    BOOST_TEST(answer(m, "a.OPT.jp") == "inline");
    BOOST_TEST(answer(m, "a.q.jp") == "quoted");
    BOOST_TEST(answer(m, "a.x.jp") == "extended");
    BOOST_TEST(answer(m, "a.jp.example") == "unanchored");
    BOOST_TEST(answer(m, "a.y.jp") == "unanchored");
    BOOST_TEST(m.stats().scanned >= 5u);
}

BOOST_AUTO_TEST_CASE(multi_byte_escapes_before_the_tail_are_not_read_as_literals) {
    // Found by the random-table test: "\x61$" once indexed under "61".
    auto m = table("/\\x61$/ hex\n/\\142\\.jp$/ octal\n/\\cAz$/ ctrl\n/[0-9]\\pLq$/ prop\n"
                   "/(a)\\1k$/ backref\n/\\d\\.x\\.jp$/ digit\n");
    BOOST_TEST(answer(m, "1-A") == "hex");
    BOOST_TEST(answer(m, "b.jp") == "octal");
    BOOST_TEST(answer(m, "aak") == "backref");
    BOOST_TEST(answer(m, "1.x.jp") == "digit");
    BOOST_TEST(answer(m, "1xq") == "prop");
    BOOST_TEST(answer(m, "61") == "-");
    BOOST_TEST(m.stats().indexed == 1u); // only \d\.x\.jp$
}

BOOST_AUTO_TEST_CASE(pathological_pattern_is_cut_off_and_counted) {
    auto m = table("/(a+)+$/ boom\n/!$/ bang\n");
    const std::string name = std::string(60, 'a') + "!";
    auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST(answer(m, name) == "bang");
    auto t1 = std::chrono::steady_clock::now();
    BOOST_TEST(std::chrono::duration<double>(t1 - t0).count() < 10.0);
    BOOST_TEST(m.stats().limit_exceeded >= 1u);
}

BOOST_AUTO_TEST_CASE(build_errors_name_file_and_line) {
    std::vector<Rule> rules(1);
    rules[0].pattern = "^h(";
    rules[0].file = "x.pcre";
    rules[0].line = 7;
    auto m = Matcher::build(rules);
    BOOST_REQUIRE(!m);
    BOOST_TEST(m.error().to_string().rfind("x.pcre:7: error in regex", 0) == 0u);
    std::vector<Rule> unbalanced(1);
    unbalanced[0].action = RuleAction::IfEnd;
    unbalanced[0].file = "y.pcre";
    unbalanced[0].line = 3;
    BOOST_TEST(Matcher::build(unbalanced).error().to_string() ==
               "y.pcre:3: endif without matching if");
}

BOOST_AUTO_TEST_CASE(regexp_tables_use_posix_syntax) {
    auto t = load_postfix_table(std::string(IP25B_TEST_DATA) + "/sample.regexp",
                                RuleSyntax::PosixRegexp, TableStrictness::Strict);
    BOOST_REQUIRE_MESSAGE(t, (t ? "" : t.error().to_string()));
    auto m = Matcher::build(t->rules);
    BOOST_REQUIRE(m);
    BOOST_TEST(answer(*m, "c-1-2-3-4.hsd1.ca.comcast.net") == "REJECT dynamic c ca 4");
    BOOST_TEST(answer(*m, "cpe-1-2-3-4.nyc.res.rr.com") == "REJECT rr $ 1-2-3-4");
    BOOST_TEST(answer(*m, "mail.rr.com") == "OTHER rr");
    BOOST_TEST(answer(*m, "www.example.org") == "NODIGITS");
    BOOST_TEST(answer(*m, "softbank221110223044.bbtec.net") == "bbtec softbank");
    BOOST_TEST(answer(*m, "host1-2-dynamic") == "dynamic-anywhere");
}

namespace {

// Every shipped rule file (rules/ in the repo) as one first-match list, as
// contrib/ip25b.conf loads them.
std::vector<Rule> shipped_rules() {
    std::vector<Rule> all;
    for (const char* dir : {"/rules/allowlist", "/rules/isp", "/rules/cloud"}) {
        auto source = load_rule_source(std::string(IP25B_SOURCE_DIR) + dir);
        BOOST_REQUIRE_MESSAGE(source, (source ? "" : source.error().to_string()));
        for (auto& r : source->rules)
            all.push_back(std::move(r));
    }
    return all;
}

// The real PTR names of the accuracy corpus (bench/accuracy/corpus.tsv).
std::vector<std::string> corpus_names() {
    std::ifstream in(std::string(IP25B_SOURCE_DIR) + "/bench/accuracy/corpus.tsv");
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto tab = line.find('\t');
        auto end = line.find('\t', tab + 1);
        if (tab != std::string::npos) names.push_back(line.substr(tab + 1, end - tab - 1));
    }
    return names;
}

} // namespace

// The index (suffix buckets, prefilter, literal grams) must never change an
// answer: every shipped rule over every corpus name, and case, root-dot,
// prefix and parent-zone variants that stress the index, against the plain
// first-match scan. (fqrdns.pcre against postmap itself: test-postmap-equivalence.)
BOOST_AUTO_TEST_CASE(shipped_rules_indexed_equals_linear_over_the_corpus) {
    auto m = Matcher::build(shipped_rules());
    BOOST_REQUIRE(m);
    BOOST_TEST(m->stats().indexed > m->stats().rules / 2);
    const auto names = corpus_names();
    BOOST_REQUIRE(names.size() > 1000u);
    size_t hits = 0, differ = 0;
    auto check = [&](const std::string& n) {
        auto a = m->match(n);
        auto b = m->match_linear(n);
        if (a.has_value() != b.has_value() || (a && (a->rule != b->rule || a->result != b->result)))
            ++differ;
        return a.has_value();
    };
    for (const auto& name : names) {
        hits += check(name);
        std::string upper = name;
        for (auto& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        check(upper);
        check(name + ".");
        check("x" + name);
        check(name.substr(name.find('.') + 1));
    }
    BOOST_TEST(differ == 0u);
    BOOST_TEST(hits > names.size() / 3); // most corpus names are some rule's business
}

BOOST_AUTO_TEST_CASE(concurrent_lookups_agree) {
    auto m = Matcher::build(shipped_rules());
    BOOST_REQUIRE(m);
    std::vector<std::string> names = corpus_names();
    names.resize(std::min<size_t>(names.size(), 64));
    names.push_back("mail.example.com");
    std::vector<std::optional<Match>> expect;
    for (auto& n : names)
        expect.push_back(m->match_linear(n));
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int k = 0; k < 4; ++k)
        ts.emplace_back([&] {
            for (int i = 0; i < 3000; ++i) {
                size_t j = static_cast<size_t>(i) % names.size();
                auto a = m->match(names[j]);
                if (a.has_value() != expect[j].has_value() || (a && a->rule != expect[j]->rule))
                    ++bad;
            }
        });
    for (auto& th : ts)
        th.join();
    BOOST_TEST(bad.load() == 0);
}

BOOST_AUTO_TEST_CASE(if_nesting_has_no_depth_limit) {
    constexpr int depth = 200;
    std::string text;
    for (int i = 0; i < depth; ++i)
        text += i % 2 ? "if /a/\n" : "if !/z/\n";
    text += "/b\\.jp$/ deep\n";
    for (int i = 0; i < depth; ++i)
        text += "endif\n";
    text += "/\\.jp$/ outside\n";
    auto m = table(text);
    BOOST_TEST(answer(m, "ab.jp") == "deep");
    BOOST_TEST(answer(m, "xb.jp") == "outside");  // the /a/ guards fail
    BOOST_TEST(answer(m, "zab.jp") == "outside"); // the !/z/ guards fail
}

// ------------------------------------------------------------ scaling the load

namespace {
// The reference the prefilters must agree with: each pattern compiled on its
// own by PCRE2, walked in order, first match wins (no guards, no scope).
struct LinearScan {
    std::vector<Regex> regex;
    explicit LinearScan(const std::vector<std::string>& patterns) {
        for (const auto& p : patterns) {
            auto re = Regex::compile(p, RuleSyntax::Pcre, true, 0);
            BOOST_REQUIRE_MESSAGE(re, p);
            regex.push_back(std::move(re).value());
        }
    }
    // Line (1-based) of the first pattern that matches, 0 for none.
    unsigned first(std::string_view name) const {
        for (size_t i = 0; i < regex.size(); ++i)
            if (regex[i].match(name) == MatchOutcome::Match) return static_cast<unsigned>(i + 1);
        return 0;
    }
};
Matcher table_of(const std::vector<std::string>& patterns) {
    std::string text;
    for (size_t i = 0; i < patterns.size(); ++i)
        text += "/" + patterns[i] + "/ r" + std::to_string(i + 1) + "\n";
    return table(text);
}
unsigned first(const Matcher& m, std::string_view name) {
    auto a = m.match(name);
    return a ? a->rule->line : 0;
}
// Patterns Hyperscan refuses though PCRE2 takes them (each matches the name
// "k<N>.refused.example" for its own N, and some more).
std::string refused_pattern(size_t n) {
    const std::string k = std::to_string(n);
    switch (n % 5) {
    case 0:
        return "^k" + k + "\\K\\.refused\\.example";
    case 1:
        return "\\Gk" + k + "\\.refused\\.example";
    case 2:
        return "^(?|k" + k + "|q" + k + ")\\.refused\\.example";
    case 3:
        return "^k" + k + "\\R?\\.refused\\.example";
    default:
        return "^k" + k + "(*ACCEPT)\\.refused\\.example";
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(hyperscan_refused_patterns_are_set_aside_in_one_pass) {
    // Few unindexed rules: all go to Hyperscan but the refused, which are set
    // aside one by one, not by recompiling the set for each.
    std::vector<std::string> pats;
    for (size_t n = 0; n < 60; ++n) {
        const std::string k = std::to_string(n);
        pats.push_back(n % 3 == 2 ? refused_pattern(n) : "^k" + k + "[.-]accepted\\.example");
    }
    const Matcher m = table_of(pats);
    const LinearScan ref(pats);
    BOOST_TEST(m.stats().prefilter_refused == 20u);
    BOOST_TEST(m.stats().prefiltered == 40u);
    BOOST_TEST(m.stats().gram_indexed == 0u);
    for (size_t n = 0; n < 62; ++n) {
        const std::string k = std::to_string(n);
        for (const std::string& name :
             {"k" + k + ".refused.example", "k" + k + ".refused", "q" + k + ".refused.example",
              "k" + k + "-accepted.example", "K" + k + ".ACCEPTED.example.com",
              "x.k" + k + ".refused.example"}) {
            BOOST_TEST_CONTEXT(name) {
                BOOST_TEST(first(m, name) == ref.first(name));
                const unsigned want = ref.first(name);
                BOOST_TEST(answer(m, name) ==
                           (want ? std::string("r") + std::to_string(want) : "-"));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(many_unindexed_rules_take_the_gram_index) {
    // Beyond the prefilter's cap, rules with a required literal are keyed by a
    // gram of it; the rest (and the refused) are looked at for every name.
    std::vector<std::string> pats;
    for (size_t n = 0; n < 3000; ++n) {
        const std::string k = std::to_string(n);
        switch (n % 6) {
        case 0:
            pats.push_back("^dyn-[0-9]+-" + k + "\\.pool\\.isp\\.example");
            break;
        case 1:
            pats.push_back("(^|\\.)ppp" + k + "[0-9]*\\.isp\\.example\\.");
            break;
        case 2:
            pats.push_back("^(dhcp|dsl)" + k + "-[0-9]{1,3}|^cable" + k + "\\.");
            break;
        case 3:
            pats.push_back("^(x|y)" + k.substr(k.size() - 1) + "\\d");
            break; // no gram
        case 4:
            pats.push_back(refused_pattern(n));
            break;
        default:
            pats.push_back("^h" + k + "[0-9]+\\.(static|dyn)\\.isp\\.example$");
            break;
        }
    }
    const Matcher m = table_of(pats);
    const LinearScan ref(pats);
    const MatcherStats st = m.stats();
    BOOST_TEST(st.gram_indexed > 1500u);
    BOOST_TEST(st.prefiltered + st.prefilter_refused <= 256u);
    BOOST_TEST(st.prefiltered > 0u);
    BOOST_TEST(st.scanned + st.gram_indexed + st.indexed == st.rules);
    std::mt19937 rng(25);
    size_t hits = 0;
    for (int i = 0; i < 4000; ++i) {
        const std::string k = std::to_string(rng() % 3100);
        const std::string d = std::to_string(rng() % 300);
        std::string name;
        switch (rng() % 9) {
        case 0:
            name = "dyn-" + d + "-" + k + ".pool.isp.example";
            break;
        case 1:
            name = "a.ppp" + k + d + ".isp.example.net";
            break;
        case 2:
            name = "DSL" + k + "-" + d + ".x";
            break;
        case 3:
            name = "cable" + k + ".isp.example";
            break;
        case 4:
            name = "y" + d.substr(d.size() - 1) + "7.example";
            break;
        case 5:
            name = "k" + k + ".refused.example";
            break;
        case 6:
            name = "h" + k + d + ".dyn.isp.example";
            break;
        case 7:
            name = "q" + k + ".refused.example.org";
            break;
        default:
            name = "mail" + d + ".example.org";
            break;
        }
        BOOST_TEST_CONTEXT(name) {
            const unsigned want = ref.first(name);
            hits += want != 0;
            BOOST_TEST(first(m, name) == want);
        }
    }
    BOOST_TEST(hits > 500u);
}

BOOST_AUTO_TEST_CASE(gram_keys_never_hide_a_match) {
    // Constructs whose literals are not all required, among 300 filler rules
    // (so the gram index is used): each must still answer its names.
    std::vector<std::string> pats = {
        "^ab?cdef",                  // b optional: "acdef"
        "^x(a(*ACCEPT))bcd",         // the match may end inside the group: "xa"
        "wxyz|mnop",                 // top-level alternatives: either
        "(?x) h i j k",              // extended: spaces are not literals
        "fooo{0}barz",               // o{0}: "foobarz"
        "(?<=lkj)poiu",              // lookbehind
        "\\Qa.b+\\E",                // quoted: a literal "a.b+"
        "\\x41bcq",                  // hex escape: "Abcq"
        "rst(?:uvw)?xyz",            // optional group: "rstxyz"
        "ghi\\Kjkl",                 // \K: both literals still required
        "(?i)ZXCV",                  // inline option
        "qq[[:digit:]]+\\.tt{1,}uu", // class, repeat
        "mm(?=nn)",                  // lookahead
        "^(?!abc)vvv",               // negative lookahead
        "(?|(eee)|(fff))ggg",        // branch reset
    };
    for (size_t n = 0; n < 300; ++n) {
        const std::string k = std::to_string(n);
        pats.push_back("^filler" + k + "\\.never\\.example");
    }
    const Matcher m = table_of(pats);
    const LinearScan ref(pats);
    BOOST_TEST(m.stats().gram_indexed > 250u);
    for (const char* name : {"acdef",
                             "abcdef",
                             "xa",
                             "xabcd",
                             "mnop",
                             "wxyz",
                             "hijk",
                             "foobarz",
                             "fooobarz",
                             "lkjpoiu",
                             "poiu",
                             "a.b+",
                             "a.bb",
                             "Abcq",
                             "abcq",
                             "rstxyz",
                             "rstuvwxyz",
                             "ghijkl",
                             "zxcv",
                             "ZxCv",
                             "qq1.ttuu",
                             "qq12.tttuu",
                             "mmnn",
                             "mm",
                             "vvv",
                             "abcvvv",
                             "eeeggg",
                             "fffggg",
                             "filler7.never.example",
                             "FILLER299.never.example.com"}) {
        BOOST_TEST_CONTEXT(name) {
            BOOST_TEST(first(m, name) == ref.first(name));
        }
    }
    for (const char* name : {"acdef", "xa", "mnop", "hijk", "foobarz", "lkjpoiu", "a.b+", "Abcq",
                             "rstxyz", "ghijkl", "zxcv", "qq1.ttuu", "mmnn", "vvv", "eeeggg"})
        BOOST_TEST_CONTEXT(name) {
            BOOST_TEST(first(m, name) != 0u);
            BOOST_TEST(m.match(name)->rule->line <= 15u);
        }
    BOOST_TEST(first(m, "mail.example.org") == 0u);
}

BOOST_AUTO_TEST_CASE(random_patterns_agree_with_a_linear_scan) {
    // Patterns built from pieces the gram extraction must read right (or
    // give up on), 400 of them so the gram index is used; random names.
    const std::vector<std::string> pieces = {
        "a",  "b",  "c",    "ab",     "bca",       "\\.",  "-",     "[ab]",   ".",   "a?",
        "b*", "c+", "a{2}", "(ab|c)", "(?:a|bc)+", "\\d",  "[0-9]", "(?=ab)", "\\K", "^",
        "$",  "|",  "x{0}", "(?<=a)", "[^c]",      "\\w+", "(c)?",  "a{,2}",  "\\b", "1"};
    std::mt19937 rng(7);
    std::vector<std::string> pats;
    while (pats.size() < 400) {
        std::string p;
        const size_t len = 2 + rng() % 8;
        for (size_t i = 0; i < len; ++i)
            p += pieces[rng() % pieces.size()];
        if (!Regex::compile(p, RuleSyntax::Pcre, true, 0)) continue;
        if (p.find('/') != std::string::npos) continue;
        pats.push_back(p);
    }
    const Matcher m = table_of(pats);
    const LinearScan ref(pats);
    BOOST_TEST(m.stats().gram_indexed > 0u);
    const std::string alphabet = "abcx.-1AB";
    size_t differ = 0;
    for (int i = 0; i < 10000; ++i) {
        std::string name;
        const size_t len = rng() % 14;
        for (size_t j = 0; j < len; ++j)
            name += alphabet[rng() % alphabet.size()];
        if (first(m, name) != ref.first(name)) {
            if (++differ < 10) BOOST_TEST_MESSAGE("differs on '" << name << "'");
        }
    }
    BOOST_TEST(differ == 0u);
}

BOOST_AUTO_TEST_CASE(table_rules_are_compiled_once) {
    // The table reader compiles each line to check it; the matcher takes that
    // regex over instead of compiling again.
    auto t =
        parse_postfix_table("/^a\\.jp$/ A\nif /x/\n/b/ B\nendif\n", "t.pcre", RuleSyntax::Pcre);
    BOOST_REQUIRE(t);
    std::vector<const Regex*> before;
    for (const Rule& r : t->rules)
        before.push_back(r.compiled.get());
    BOOST_TEST((before[0] && before[1] && before[2] && !before[3]));
    auto m = Matcher::build(std::move(t->rules));
    BOOST_REQUIRE(m);
    for (size_t i = 0; i < before.size(); ++i)
        BOOST_TEST(m->rules()[i].compiled.get() == before[i]);
}
