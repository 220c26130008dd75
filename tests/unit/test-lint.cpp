#define BOOST_TEST_MODULE lint
#include <boost/test/unit_test.hpp>

#include "ip25b/lint.hpp"

#include "ip25b/classifier.hpp"
#include "ip25b/matcher.hpp"
#include "ip25b/regex.hpp"
#include "ip25b/rule_source.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace ip25b;

namespace {

const std::string kRules = std::string(IP25B_SOURCE_DIR) + "/rules";
const std::string kData = std::string(IP25B_TEST_DATA) + "/lint";

RuleFile parse(const std::string& text, const std::string& path) {
    auto r = parse_rule_file(text, path);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
    return std::move(r).value();
}

std::string head(const char* kind, const char* name, const char* domains) {
    return std::string("format = 1\nkind = \"") + kind + "\"\n[meta]\nname = \"" + name + "\"\n" +
           (domains[0] ? std::string("domains = [") + domains + "]\n" : "") +
           "contact = \"x\"\nupdated = 2026-11-22\nsource = \"test\"\n";
}

// One rule file with a single [[dynamic]] (or [[allow]]) entry.
std::string one_rule(const char* kind, const char* name, const char* domains, const char* pattern,
                     const char* extra = "") {
    const char* section = std::string(kind) == "allowlist" ? "allow"
                          : std::string(kind) == "cloud"   ? "cloud"
                                                           : "dynamic";
    return head(kind, name, domains) + "[[" + section + "]]\nid = \"r\"\npattern = '" + pattern +
           "'\n" + extra;
}

std::vector<std::string> lines(const LintReport& r) {
    std::vector<std::string> out;
    for (const auto& f : r.findings)
        out.push_back(f.to_string());
    return out;
}

bool has(const LintReport& r, const std::string& needle) {
    auto l = lines(r);
    return std::any_of(l.begin(), l.end(),
                       [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

void dump(const LintReport& r) {
    for (const auto& l : lines(r))
        BOOST_TEST_MESSAGE(l);
}

} // namespace

BOOST_AUTO_TEST_CASE(shipped_rules_lint_clean) {
    LintReport r = lint_paths({kRules});
    dump(r);
    BOOST_TEST(r.findings.empty());
    BOOST_TEST(r.files >= 21u);
    BOOST_TEST(r.rules >= 40u);
    BOOST_TEST(r.examples >= 200u);
}

BOOST_AUTO_TEST_CASE(broken_files_give_file_line_findings) {
    LintReport r = lint_paths({kData + "/bad-examples.toml"});
    dump(r);
    const std::string f = kData + "/bad-examples.toml";
    BOOST_TEST(r.errors() == 9u);
    BOOST_TEST(r.warnings() == 0u);
    BOOST_TEST(has(r, f + ":16: example 'a1.static.example-isp.jp' does not match rule 'wide'"));
    BOOST_TEST(has(r, f + ":18: counter-example 'mail.dyn.example-isp.jp' matches rule 'wide'"));
    BOOST_TEST(has(r, f + ":23: example 'p12.dyn.example-isp.jp' of 'shadowed' is answered by "
                          "rule 'wide' (line 13) first"));
    BOOST_TEST(has(r, f + ":29: example 's1.example-isp.jp' does not match rule 'scoped' (line "
                          "27) within its ranges"));
    BOOST_TEST(has(r, f + ":36: embeds_ip is \"hex\" but in 'hc0000201.example-isp.jp' for "
                          "192.0.2.2 the detector finds: name embeds 192.0.2.1"));
    BOOST_TEST(has(r, f + ":37: embeds_ip is \"hex\" but in 'h12345678.example-isp.jp'"));
    BOOST_TEST(has(r, f + ":43: example 'x1.example.net' is outside the file's domains"));
    BOOST_TEST(has(r, f + ":46: match example 'mail.example-isp.jp' is answered by no rule"));
    BOOST_TEST(has(r, f + ":47: no_match example 'b2.dyn.example-isp.jp' is answered by rule "
                          "'wide'"));
    // Sorted by line.
    for (size_t i = 1; i < r.findings.size(); ++i)
        BOOST_TEST(r.findings[i - 1].line <= r.findings[i].line);
}

BOOST_AUTO_TEST_CASE(bad_patterns) {
    LintReport r = lint_paths({kData + "/bad-compile.toml"});
    dump(r);
    const std::string f = kData + "/bad-compile.toml";
    BOOST_TEST(
        has(r, f + ":13: pattern of 'unclosed' does not compile: error in regex at offset 25"));
    BOOST_TEST(has(r, f + ":17: warning: pattern of 'nested' nests unbounded quantifiers in "
                          "'([a-z0-9]+)+'"));
    BOOST_TEST(has(r, f + ":17: pattern of 'nested' hits the PCRE2 match limit"));
    BOOST_TEST(r.errors() == 2u);
}

BOOST_AUTO_TEST_CASE(anchors_and_nesting_are_warnings) {
    LintReport r = lint_paths({kData + "/unanchored.toml"});
    dump(r);
    BOOST_TEST(r.errors() == 0u);
    BOOST_TEST(r.warnings() == 4u);
    BOOST_TEST(has(r, ":12: warning: pattern of 'no-start' is not anchored at the start"));
    BOOST_TEST(has(r, ":16: warning: pattern of 'no-end' is not anchored at the end"));
    BOOST_TEST(has(r, ":20: warning: pattern of 'alternation' has a top-level '|'"));
    BOOST_TEST(has(r, ":24: warning: pattern of 'nested' nests unbounded quantifiers in "
                      "'(c[0-9]+\\.)+'"));

    // What is not flagged: bounded or optional groups, alternation inside a
    // group, '|' and '(' inside classes, escaped anchors done right, \z.
    const char* fine[] = {
        "^[0-9]{1,3}(-[0-9]{1,3}){3}\\.a\\.example$",
        "^p[0-9]+-ip[a-z0-9]+\\.([a-z]+\\.)?a\\.example$",
        "^(x|y)[0-9]+\\.a\\.example$",
        "^[|(]?[0-9]+\\.a\\.example$",
        "^[0-9]+\\.a\\.example\\z",
        "^(?:[0-9]++-)+a\\.example$",
    };
    for (const char* p : fine) {
        RuleFile f = parse(one_rule("isp", "N", "\"a.example\"", p), "f.toml");
        LintReport l = lint_files({f});
        dump(l);
        BOOST_TEST(l.findings.empty(), p);
    }
    // An escaped dollar is no anchor.
    RuleFile esc =
        parse(one_rule("isp", "N", "\"a.example\"", "^[0-9]+\\.a\\.example\\$"), "e.toml");
    BOOST_TEST(has(lint_files({esc}), "not anchored at the end"));
    // Exceptions need only the end anchor; generic rules only the start.
    RuleFile ex = parse(head("isp", "N", "\"a.example\"") +
                            "[[exception]]\nid = \"biz\"\npattern = '\\.biz\\.a\\.example$'\n"
                            "[[dynamic]]\nid = \"d\"\npattern = '^d[0-9]+\\.a\\.example$'\n",
                        "x.toml");
    BOOST_TEST(lint_files({ex}).findings.empty());
    RuleFile gen = parse(one_rule("generic", "G", "", "^[^.]*[0-9]{5}"), "g.toml");
    BOOST_TEST(lint_files({gen}).findings.empty());
}

BOOST_AUTO_TEST_CASE(catastrophic_patterns_are_run) {
    // Exponential: nested quantifiers over the same characters.
    RuleFile f = parse(one_rule("isp", "N", "\"a.example\"", "^(a|aa)+$"), "c.toml");
    LintReport r = lint_files({f});
    dump(r);
    BOOST_TEST(has(r, "c.toml:11: pattern of 'r' hits the PCRE2 match limit"));
    // Not nested at all (so no warning), yet polynomial enough to hit the limit.
    RuleFile poly =
        parse(one_rule("isp", "N", "\"a.example\"",
                       "^[a-z0-9]*[a-z0-9]*[a-z0-9]*[a-z0-9]*[a-z0-9]*[a-z0-9]*x\\.a\\.example$"),
              "p.toml");
    r = lint_files({poly});
    dump(r);
    BOOST_TEST(!has(r, "nests unbounded"));
    BOOST_TEST(has(r, "p.toml:11: pattern of 'r' hits the PCRE2 match limit"));
}

BOOST_AUTO_TEST_CASE(overlaps_between_files) {
    LintReport r = lint_paths({kData + "/overlap"});
    dump(r);
    BOOST_TEST(r.errors() == 2u);
    BOOST_TEST(has(r, "overlap/a.toml:13: example '192-0-2-1.shared.example' is also matched by "));
    BOOST_TEST(has(r, "overlap/b.toml:6: domain 'b.shared.example' overlaps 'shared.example'"));

    // An allowlist entry that would exempt an ISP's dynamic example is an overlap too.
    RuleFile isp = parse(one_rule("isp", "Net", "\"n.example\"", "^d[0-9]+\\.n\\.example$",
                                  "examples = [\"d1.n.example\"]\n"),
                         "isp.toml");
    RuleFile allow =
        parse(one_rule("allowlist", "List", "", "^d1\\.n\\.example$", "operator = \"Oops\"\n"),
              "allow.toml");
    r = lint_files({isp, allow});
    dump(r);
    BOOST_TEST(has(r, "isp.toml:12: example 'd1.n.example' is also matched by allow.toml:10 "
                      "(allow entry 'r' of Oops)"));
    // Generic files overlap by design and are not compared.
    RuleFile gen = parse(one_rule("generic", "S25R", "", "^[^.]*[0-9]", "examples = [\"x1.y\"]\n"),
                         "gen.toml");
    r = lint_files({isp, gen});
    dump(r);
    BOOST_TEST(r.findings.empty());
    // The same zone in two files.
    RuleFile other =
        parse(one_rule("isp", "Other", "\"n.example\"", "^e[0-9]+\\.n\\.example$"), "other.toml");
    r = lint_files({isp, other});
    BOOST_TEST(
        has(r, "other.toml:5: domain 'n.example' overlaps 'n.example' claimed by isp.toml:5"));
}

BOOST_AUTO_TEST_CASE(scoped_rules_and_embeds_hints) {
    RuleFile f =
        parse(one_rule("isp", "N", "\"n.example\"", "^[0-9]{1,3}(-[0-9]{1,3}){3}\\.n\\.example$",
                       "ranges = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n"
                       "embeds_ip = \"decimal\"\n"
                       "examples = [{ ptr = \"192-0-2-9.n.example\", ip = \"192.0.2.9\" }]\n"
                       "counter_examples = [{ ptr = \"192-0-2-9.n.example\", ip = "
                       "\"203.0.113.1\" }]\n"),
              "s.toml");
    LintReport r = lint_files({f});
    dump(r);
    BOOST_TEST(r.findings.empty());
    // The hint must name the encoding the detector finds for that address.
    RuleFile wrong =
        parse(one_rule("isp", "N", "\"n.example\"", "^[0-9]{1,3}(\\.[0-9]{1,3}){3}\\.n\\.example$",
                       "embeds_ip = \"decimal\"\n"
                       "examples = [{ ptr = \"9.2.0.192.n.example\", ip = \"192.0.2.9\" }]\n"),
              "w.toml");
    r = lint_files({wrong});
    dump(r);
    BOOST_TEST(has(r, "w.toml:13: embeds_ip is \"decimal\" but in '9.2.0.192.n.example' for "
                      "192.0.2.9 the detector finds: name embeds the client address "
                      "(decimal-reversed 192.0.2.9 at 0..9)"));
    // "none" with a name that does embed the client is a warning.
    RuleFile none =
        parse(one_rule("isp", "N", "\"n.example\"", "^h[0-9a-f]{8}\\.n\\.example$",
                       "embeds_ip = \"none\"\n"
                       "examples = [{ ptr = \"hc0000209.n.example\", ip = \"192.0.2.9\" }]\n"),
              "none.toml");
    r = lint_files({none});
    dump(r);
    BOOST_TEST(r.errors() == 0u);
    BOOST_TEST(has(r, "none.toml:13: warning: embeds_ip is \"none\""));
}

BOOST_AUTO_TEST_CASE(load_errors_do_not_stop_the_rest) {
    LintReport r = lint_paths(
        {kData + "/syntax.toml", kRules + "/isp/jp/ocn.toml", kData + "/does-not-exist.toml"});
    dump(r);
    BOOST_TEST(r.errors() == 2u);
    BOOST_TEST(r.files == 1u);
    BOOST_TEST(has(r, "syntax.toml:11: unknown key 'patern' in [[dynamic]]"));
    BOOST_TEST(has(r, "does-not-exist.toml: no such file or directory"));
    LintFinding w{LintSeverity::Warning, "a.toml", 3, "x"};
    BOOST_TEST(w.to_string() == "a.toml:3: warning: x");
    LintFinding e{LintSeverity::Error, "a.toml", 0, "y"};
    BOOST_TEST(e.to_string() == "a.toml: y");
}

BOOST_AUTO_TEST_CASE(cloud_files_are_checked_like_isp_files) {
    // Examples must lie in the file's zones; anchors are required.
    RuleFile c = parse(one_rule("cloud", "Cloud", "\"vm.example\"", "vm[0-9]+\\.vm\\.example",
                                "examples = [\"vm1.vm.example\", \"vm2.other.example\"]\n"),
                       "c.toml");
    LintReport r = lint_files({c});
    dump(r);
    BOOST_TEST(has(r, "c.toml:11: warning: pattern of 'r' is not anchored at the start (^)"));
    BOOST_TEST(has(r, "c.toml:11: warning: pattern of 'r' is not anchored at the end ($)"));
    BOOST_TEST(has(r, "example 'vm2.other.example' is outside the file's domains"));
    BOOST_TEST(has(r, "example 'vm2.other.example' does not match cloud entry 'r' (line 11)"));
    // A zone claimed by an ISP file and a cloud file is an overlap; so is an
    // example of one that the other's rule matches.
    RuleFile isp = parse(one_rule("isp", "Net", "\"n.example\"", "^[a-z0-9]+\\.n\\.example$",
                                  "examples = [\"d1.n.example\"]\n"),
                         "isp.toml");
    RuleFile cloud =
        parse(one_rule("cloud", "Cloud", "\"vm.n.example\"", "^vm[0-9]+\\.vm\\.n\\.example$",
                       "examples = [\"vm1.vm.n.example\"]\n"),
              "cloud.toml");
    r = lint_files({isp, cloud});
    dump(r);
    BOOST_TEST(has(r, "cloud.toml:5: domain 'vm.n.example' overlaps 'n.example' claimed by "
                      "isp.toml:5"));
    // The shipped cloud files are clean on their own.
    r = lint_paths({kRules + "/cloud"});
    dump(r);
    BOOST_TEST(r.findings.empty());
    BOOST_TEST(r.files >= 9u);
}

// The loader lints the rule files it loads and then runs lint's own compiled
// regexes: one compile per rule, and the findings are those of `ip25b lint`.
BOOST_AUTO_TEST_CASE(loading_shares_lints_compiled_regexes) {
    auto source = read_rule_source(kRules + "/isp");
    BOOST_REQUIRE_MESSAGE(source, (source ? "" : source.error().to_string()));
    std::vector<RuleFile*> files;
    for (auto& f : source->rule_files)
        files.push_back(&f);
    LintReport r = lint_for_loading(files);
    dump(r);
    BOOST_TEST(r.findings.empty());
    std::vector<const Regex*> linted;
    for (const auto& f : source->rule_files)
        for (const auto& rule : f.rules) {
            BOOST_TEST(rule.compiled != nullptr);
            linted.push_back(rule.compiled.get());
        }
    take_file_rules(*source);
    auto m = Matcher::build(std::move(source->rules));
    BOOST_REQUIRE(m);
    BOOST_REQUIRE(m->rules().size() == linted.size());
    for (size_t i = 0; i < linted.size(); ++i)
        BOOST_TEST(m->rules()[i].compiled.get() == linted[i]);
}

BOOST_AUTO_TEST_CASE(the_classifier_refuses_what_lint_refuses) {
    ClassifierConfig c;
    c.rules = {kData + "/bad-examples.toml"};
    LintReport cli = lint_paths(c.rules);
    BOOST_REQUIRE(cli.errors() > 1u);
    LintReport loaded;
    auto refused = Classifier::load(c, &loaded);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(lines(loaded) == lines(cli), boost::test_tools::per_element());
    const Error want = *lint_refusal(cli);
    BOOST_TEST(refused.error().to_string() == want.to_string());
    BOOST_TEST(refused.error().reason.starts_with("lint: "));
    BOOST_TEST(refused.error().reason.find("more; see ip25b lint") != std::string::npos);
    // Without a lint report the same files load: lint is what refuses them.
    BOOST_TEST(Classifier::load(c).has_value());

    // The shipped set: the same findings (none) as `ip25b lint`, and it loads.
    c.rules = {kRules + "/allowlist", kRules + "/isp", kRules + "/cloud"};
    LintReport shipped;
    auto ok = Classifier::load(c, &shipped);
    BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().to_string()));
    BOOST_TEST(shipped.findings.empty());
    BOOST_TEST(shipped.files == lint_paths(c.rules).files);
}
