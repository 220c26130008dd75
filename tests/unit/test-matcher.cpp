#define BOOST_TEST_MODULE matcher
#include <boost/test/unit_test.hpp>

#include "ip25b/matcher.hpp"
#include "ip25b/postfix_table.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
    auto t = load_table_spec(std::string("regexp:") + IP25B_TEST_DATA + "/sample.regexp",
                             TableStrictness::Strict);
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

BOOST_AUTO_TEST_CASE(fqrdns_indexed_equals_linear_over_the_corpus) {
    auto t = load_table_spec(std::string("pcre:") + IP25B_SHARED_DIR + "/data/fqrdns.pcre");
    BOOST_REQUIRE(t);
    auto m = Matcher::build(t->rules);
    BOOST_REQUIRE(m);
    BOOST_TEST(m->stats().rules == 1528u);
    BOOST_TEST(m->stats().indexed > 1400u);

    auto dir =
        std::filesystem::temp_directory_path() / ("ip25b-matcher-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string cmd = "python3 " IP25B_SHARED_DIR "/bench/gen_hostnames.py --outdir " +
                            dir.string() + " >/dev/null";
    BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream in(dir / "hostnames.txt");
    std::vector<std::string> names;
    for (std::string l; std::getline(in, l);)
        names.push_back(l);
    std::filesystem::remove_all(dir);
    BOOST_REQUIRE(names.size() == 120000u);
    // Every name, plus case and tail variants that stress the index.
    size_t hits = 0, differ = 0;
    auto check = [&](const std::string& n) {
        auto a = m->match(n);
        auto b = m->match_linear(n);
        if (a.has_value() != b.has_value() || (a && (a->rule != b->rule || a->result != b->result)))
            ++differ;
        return a.has_value();
    };
    for (size_t i = 0; i < names.size(); ++i) {
        hits += check(names[i]);
        if (i % 40 == 0) {
            std::string upper = names[i];
            for (auto& c : upper)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            check(upper);
            check(names[i] + ".");
            check("x" + names[i]);
            check(names[i].substr(names[i].find('.') + 1));
        }
    }
    BOOST_TEST(differ == 0u);
    BOOST_TEST(hits == 49370u); // postmap's count on the same corpus
}

BOOST_AUTO_TEST_CASE(concurrent_lookups_agree) {
    auto t = load_table_spec(std::string("pcre:") + IP25B_SHARED_DIR + "/data/fqrdns.pcre");
    BOOST_REQUIRE(t);
    auto m = Matcher::build(t->rules);
    BOOST_REQUIRE(m);
    const std::vector<std::string> names = {"c-1-2-3-4.hsd1.ca.comcast.net", "mail.example.com",
                                            "pD9E1A2B3.dip0.t-ipconnect.de",
                                            "12ab34cd.cable.ziggo.nl"};
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

// Issue 10: postmap nests if/endif without a limit; 64 levels used to be refused.
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
