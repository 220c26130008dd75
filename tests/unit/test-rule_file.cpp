#define BOOST_TEST_MODULE rule_file
#include <boost/test/unit_test.hpp>

#include "ip25b/rule_file.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

const std::string kRules = std::string(IP25B_SOURCE_DIR) + "/rules";

// A temporary directory removed when the test ends.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "ip25b-rf-XXXXXX").string();
        BOOST_REQUIRE(mkdtemp(tmpl.data()));
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        fs::path p = path / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
};

const char* kHead = R"(format = 1
kind = "isp"

[meta]
name = "Example Net"
domains = ["example-isp.jp"]
contact = "abuse@example-isp.jp"
updated = 2026-11-22
source = "https://www.example-isp.jp/ip25b.toml"
)";

// Loads `text` and expects an error "t.toml:LINE: ...REASON...".
void expect_error(const std::string& text, unsigned line, const std::string& reason) {
    auto r = parse_rule_file(text, "t.toml");
    BOOST_REQUIRE_MESSAGE(!r.has_value(), "expected an error containing: " + reason);
    BOOST_TEST(r.error().file == "t.toml");
    BOOST_TEST(r.error().line == line);
    BOOST_TEST_MESSAGE(r.error().to_string());
    BOOST_TEST(r.error().reason.find(reason) != std::string::npos,
               "'" << r.error().reason << "' does not contain '" << reason << "'");
}

} // namespace

BOOST_AUTO_TEST_CASE(good_file_orders_exceptions_first) {
    std::string text = std::string(kHead) + R"(country = "JP"
asn = [64500, 4200000000]

[[dynamic]]
id = "ftth"
pattern = '^[0-9]{1,3}(-[0-9]{1,3}){3}\.ftth\.example-isp\.jp$'
ranges = ["192.0.2.0/24", "2001:db8::/32"]
embeds_ip = "decimal"
examples = [{ ptr = "192-0-2-7.ftth.example-isp.jp", ip = "192.0.2.7" }]
counter_examples = ["192-0-2-7.ftth.example-isp.jp.example.com"]

[[exception]]
id = "business"
pattern = '\.biz\.example-isp\.jp$'
evidence = "inferred"
examples = ["a1-2-3-4.biz.example-isp.jp"]

[examples]
match = [{ ptr = "10-0-0-1.ftth.example-isp.jp", ip = "192.0.2.1", rule = "ftth" }]
no_match = ["mail.example-isp.jp"]
)";
    auto r = parse_rule_file(text, "t.toml");
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
    const RuleFile& f = *r;
    BOOST_TEST(to_string(f.kind) == "isp");
    BOOST_TEST(f.meta.name == "Example Net");
    BOOST_TEST(f.meta.updated == "2026-11-22");
    BOOST_TEST(f.meta.line == 4u);
    BOOST_TEST(f.meta.domains.size() == 1u);
    BOOST_TEST(f.meta.country == "JP");
    BOOST_TEST(f.meta.asn.size() == 2u);
    BOOST_TEST(f.meta.asn[1] == 4200000000u);
    BOOST_REQUIRE(f.rules.size() == 2u);
    BOOST_REQUIRE(f.info.size() == 2u);
    // The exception is written second but evaluated first.
    BOOST_TEST(f.rules[0].id == "business");
    BOOST_TEST((f.rules[0].action == RuleAction::Exception));
    BOOST_TEST(f.rules[0].line == 23u);
    BOOST_TEST(f.info[0].entry_line == 21u);
    BOOST_TEST(f.info[0].evidence == "inferred");
    BOOST_TEST(f.rules[1].id == "ftth");
    BOOST_TEST((f.rules[1].action == RuleAction::Dynamic));
    BOOST_TEST(f.rules[1].line == 15u);
    BOOST_TEST(f.rules[1].file == "t.toml");
    BOOST_TEST(f.rules[1].isp == "Example Net");
    BOOST_TEST(f.rules[1].caseless);
    BOOST_TEST((f.rules[1].syntax == RuleSyntax::Pcre));
    BOOST_TEST(f.rules[1].pattern == "^[0-9]{1,3}(-[0-9]{1,3}){3}\\.ftth\\.example-isp\\.jp$");
    BOOST_REQUIRE(f.rules[1].scope.size() == 2u);
    BOOST_TEST(f.rules[1].scope[1].to_string() == "2001:db8::/32");
    BOOST_TEST(f.info[1].embeds_ip == "decimal");
    // Examples in file order, with their kind and address.
    BOOST_REQUIRE(f.examples.size() == 5u);
    BOOST_TEST(f.examples[0].ptr == "192-0-2-7.ftth.example-isp.jp");
    BOOST_TEST(f.examples[0].ip->to_string() == "192.0.2.7");
    BOOST_TEST(f.examples[0].must_match);
    BOOST_TEST(f.examples[0].rule_id == "ftth");
    BOOST_TEST(f.examples[0].line == 18u);
    BOOST_TEST(!f.examples[1].must_match);
    BOOST_TEST(f.examples[2].rule_id == "business");
    BOOST_TEST(f.examples[3].file_level);
    BOOST_TEST(f.examples[3].rule_id == "ftth");
    BOOST_TEST(f.examples[3].line == 28u);
    BOOST_TEST(!f.examples[4].must_match);
    BOOST_TEST(f.examples[4].rule_id.empty());
}

BOOST_AUTO_TEST_CASE(allowlist_and_generic_kinds) {
    auto a = parse_rule_file(R"(format = 1
kind = "allowlist"
[meta]
name = "list"
contact = "x"
updated = 2026-01-01
source = "y"
[[allow]]
id = "google"
operator = "Google"
pattern = '^mail-[a-z]{2}[0-9]-[fx][0-9a-f]{1,4}\.google\.com$'
[[allow]]
id = "other"
pattern = '^x\.example\.com$'
)",
                             "a.toml");
    BOOST_REQUIRE_MESSAGE(a.has_value(), (a.has_value() ? std::string() : a.error().to_string()));
    BOOST_TEST((a->rules[0].action == RuleAction::Allow));
    BOOST_TEST(a->rules[0].isp == "Google");
    BOOST_TEST(a->rules[1].isp == "list");
    auto g = parse_rule_file(R"(format = 1
kind = "generic"
[meta]
name = "S25R"
contact = "x"
updated = 2026-01-01
source = "y"
[[dynamic]]
id = "s25r-6"
pattern = '^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]'
)",
                             "g.toml");
    BOOST_REQUIRE_MESSAGE(g.has_value(), (g.has_value() ? std::string() : g.error().to_string()));
    BOOST_TEST(to_string(g->kind) == "generic");
    BOOST_TEST(g->rules[0].isp == "S25R");
}

BOOST_AUTO_TEST_CASE(shipped_rules_load) {
    auto isp = load_rule_directory(kRules + "/isp");
    BOOST_REQUIRE_MESSAGE(isp.has_value(),
                          (isp.has_value() ? std::string() : isp.error().to_string()));
    BOOST_TEST(isp->size() >= 19u);
    // Sorted by name; every rule has an id, a line and the ISP name.
    for (size_t i = 1; i < isp->size(); ++i)
        BOOST_TEST(bool((*isp)[i - 1].path < (*isp)[i].path));
    for (const RuleFile& f : *isp) {
        BOOST_TEST(to_string(f.kind) == "isp");
        BOOST_TEST(!f.meta.domains.empty());
        BOOST_TEST(!f.examples.empty(), f.path);
        for (const Rule& r : f.rules) {
            BOOST_TEST(!r.id.empty());
            BOOST_TEST(r.line > 0u);
            BOOST_TEST(r.isp == f.meta.name);
        }
    }
    auto sb = load_rule_file(kRules + "/isp/jp/softbank.toml");
    BOOST_REQUIRE(sb.has_value());
    BOOST_TEST(sb->rules.front().id == "softbank-biz");
    BOOST_TEST((sb->rules.front().action == RuleAction::Exception));
    auto asahi = load_rule_file(kRules + "/isp/jp/asahi-net.toml");
    BOOST_REQUIRE(asahi.has_value());
    BOOST_TEST((asahi->rules.front().action == RuleAction::Exception));
    auto mta = load_rule_file(kRules + "/allowlist/mta.toml");
    BOOST_REQUIRE_MESSAGE(mta.has_value(),
                          (mta.has_value() ? std::string() : mta.error().to_string()));
    BOOST_TEST(to_string(mta->kind) == "allowlist");
    auto s25r = load_rule_file(kRules + "/generic/s25r.toml");
    BOOST_REQUIRE_MESSAGE(s25r.has_value(),
                          (s25r.has_value() ? std::string() : s25r.error().to_string()));
    BOOST_TEST(s25r->rules.size() == 6u);
    // The JP files live in rules/isp/jp/; loading rules/isp finds them.
    BOOST_TEST(std::count_if(isp->begin(), isp->end(), [](const RuleFile& f) {
                   return f.path.find("/isp/jp/") != std::string::npos;
               }) == 19);
    // Loading rules/ itself walks every subdirectory but leaves S25R out: it is opt-in.
    auto top = list_rule_files(kRules);
    BOOST_REQUIRE(top.has_value());
    BOOST_TEST(top->empty());
    auto all = list_rule_files(kRules, true);
    BOOST_REQUIRE(all.has_value());
    auto everything = load_rule_directory(kRules);
    BOOST_REQUIRE(everything.has_value());
    BOOST_TEST(everything->size() + 1 == all->size());
    for (const RuleFile& f : *everything)
        BOOST_TEST((f.kind != RuleFileKind::Generic), f.path);
    auto generic = load_rule_directory(kRules + "/generic");
    BOOST_REQUIRE(generic.has_value());
    BOOST_TEST(generic->size() == 1u);
}

BOOST_AUTO_TEST_CASE(cloud_files) {
    const std::string head = "format = 1\nkind = \"cloud\"\n[meta]\nname = \"C\"\n"
                             "domains = [\"cloud.example\"]\ncontact = \"x@example.org\"\n"
                             "updated = 2026-11-30\nsource = \"docs\"\n";
    auto f =
        parse_rule_file(head + "[[exception]]\nid = \"mx\"\npattern = '^mx\\.cloud\\.example$'\n"
                               "[[cloud]]\nid = \"vm\"\npattern = '^vm[0-9]+\\.cloud\\.example$'\n",
                        "c.toml");
    BOOST_REQUIRE_MESSAGE(f.has_value(), (f ? std::string() : f.error().to_string()));
    BOOST_TEST(to_string(f->kind) == "cloud");
    BOOST_REQUIRE(f->rules.size() == 2u);
    BOOST_TEST((f->rules[0].action == RuleAction::Exception));
    BOOST_TEST((f->rules[1].action == RuleAction::Cloud));
    BOOST_TEST(f->rules[1].isp == "C");
    // A cloud file holds [[cloud]] entries, not [[dynamic]] ones, and names its zones.
    auto d = parse_rule_file(head + "[[dynamic]]\nid = \"vm\"\npattern = '^vm$'\n", "c.toml");
    BOOST_REQUIRE(!d.has_value());
    BOOST_TEST(d.error().reason.find("[[dynamic]] entries are not allowed in a file of kind "
                                     "\"cloud\"") != std::string::npos);
    auto e = parse_rule_file(head + "[[exception]]\nid = \"mx\"\npattern = '^mx$'\n", "c.toml");
    BOOST_REQUIRE(!e.has_value());
    BOOST_TEST(e.error().reason == "no [[cloud]] entry: the file matches nothing");
    std::string nodomains = head;
    nodomains.replace(nodomains.find("domains"),
                      nodomains.find("contact") - nodomains.find("domains"), "");
    auto n = parse_rule_file(nodomains + "[[cloud]]\nid = \"vm\"\npattern = '^vm$'\n", "c.toml");
    BOOST_REQUIRE(!n.has_value());
    BOOST_TEST(n.error().reason == "a file of kind \"cloud\" must list its domains in [meta]");
    // [[cloud]] entries elsewhere are refused.
    auto i = parse_rule_file(std::string(kHead) + "[[cloud]]\nid = \"vm\"\npattern = '^vm$'\n",
                             "i.toml");
    BOOST_REQUIRE(!i.has_value());
    // The shipped cloud files load, each with examples and counter-examples.
    auto shipped = load_rule_directory(kRules + "/cloud");
    BOOST_REQUIRE_MESSAGE(shipped.has_value(),
                          (shipped ? std::string() : shipped.error().to_string()));
    BOOST_TEST(shipped->size() >= 9u);
    for (const RuleFile& c : *shipped) {
        BOOST_TEST((c.kind == RuleFileKind::Cloud), c.path);
        size_t ex = 0, counter = 0;
        for (const auto& x : c.examples)
            (x.must_match ? ex : counter)++;
        BOOST_TEST(ex >= 3u, c.path);
        BOOST_TEST(counter >= 2u, c.path);
        BOOST_TEST(c.meta.source.find("http") != std::string::npos, c.path);
    }
}

BOOST_AUTO_TEST_CASE(structural_errors_name_the_line) {
    std::string h = kHead;
    // Bad TOML syntax.
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x\n", 12, "TOML:");
    // Missing required keys.
    expect_error(h + "[[dynamic]]\nid = \"a\"\n", 10, "missing key 'pattern' in [[dynamic]]");
    expect_error("kind = \"isp\"\n", 1, "missing key 'format'");
    expect_error("format = 1\nkind = \"isp\"\n", 1, "missing key 'meta'");
    expect_error(h, 1, "no [[dynamic]] entry");
    // Unknown keys, at every level.
    expect_error(h + "[[dynamic]]\nid = \"a\"\npatern = 'x'\n", 12, "unknown key 'patern'");
    expect_error(h + "colour = \"red\"\n", 10, "unknown key 'colour' in [meta]");
    expect_error("format = 1\nkinds = \"isp\"\n", 2, "unknown key 'kinds' in the top level");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nexamples = [{ ptr = \"a.b\", "
                     "addr = \"1.2.3.4\" }]\n",
                 13, "unknown key 'addr' in an example");
    // Bad types.
    expect_error(h + "[[dynamic]]\nid = 5\npattern = 'x'\n", 11,
                 "id must be a string, not an integer");
    expect_error("format = \"1\"\n", 1, "format must be an integer");
    expect_error("format = 2\n", 1, "format 2 is not supported");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nranges = \"1.2.3.0/24\"\n", 13,
                 "ranges must be an array");
    expect_error(h + "[dynamic]\nid = \"a\"\npattern = 'x'\n", 10,
                 "must be written as [[dynamic]]");
    std::string quoted_date = h;
    quoted_date.replace(quoted_date.find("2026-11-22"), 10, "\"2026-11-22\"");
    expect_error(quoted_date, 8, "updated must be a TOML date");
    // Bad CIDR (host bits, garbage, IPv6).
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nranges = [\"192.0.2.1/24\"]\n", 13,
                 "bad CIDR '192.0.2.1/24'");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nranges = [\n  \"10.0.0.0/8\",\n  "
                     "\"2001:db8::/129\",\n]\n",
                 15, "bad CIDR '2001:db8::/129'");
    // Duplicate id, also between an exception and a dynamic entry.
    expect_error(
        h + "[[exception]]\nid = \"a\"\npattern = 'x'\n[[dynamic]]\nid = \"a\"\npattern = 'y'\n",
        14, "duplicate id 'a' (first at line 11)");
    expect_error(h + "[[dynamic]]\nid = \"Bad Id\"\npattern = 'x'\n", 11, "id 'Bad Id' must be");
    // Kinds and the entries they allow.
    expect_error("format = 1\nkind = \"pool\"\n", 2, "kind must be");
    expect_error(h + "[[allow]]\nid = \"a\"\npattern = 'x'\n", 10,
                 "[[allow]] entries are not allowed");
    std::string nodomains = h;
    nodomains.erase(nodomains.find("domains"),
                    nodomains.find("contact") - nodomains.find("domains"));
    expect_error(nodomains + "[[dynamic]]\nid = \"a\"\npattern = 'x'\n", 4,
                 "must list its domains");
    // Examples: host-name validity, scoped rules need an address, file-level rule ids.
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nexamples = [\"bad name.jp\"]\n", 13,
                 "not a valid host name");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nranges = [\"10.0.0.0/8\"]\n"
                     "examples = [\"a.example-isp.jp\"]\n",
                 14, "its examples need an address");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nexamples = [{ ptr = \"a.b\", ip = "
                     "\"1.2.3\" }]\n",
                 13, "bad address '1.2.3'");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\n[examples]\nmatch = [{ ptr = "
                     "\"a.b\", rule = \"nope\" }]\n",
                 14, "no rule with id 'nope'");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nembeds_ip = \"dotted\"\n", 13,
                 "embeds_ip must be");
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = 'x'\nevidence = \"sure\"\n", 13,
                 "evidence must be one of");
    // A NUL written as a TOML escape is refused too.
    expect_error(h + "[[dynamic]]\nid = \"a\"\npattern = \"x\\u0000y\"\n", 12, "contains a NUL");
}

BOOST_AUTO_TEST_CASE(byte_level_errors) {
    std::string h = kHead;
    // NUL byte on line 12.
    std::string nul = h + "[[dynamic]]\nid = \"a\"\npattern = 'x";
    nul += '\0';
    nul += "'\n";
    expect_error(nul, 12, "NUL byte");
    // Invalid UTF-8: a lone continuation byte, an overlong form, a surrogate.
    expect_error(h + "# caf\xe9\n", 10, "invalid UTF-8");
    expect_error(h + "# \xc0\xaf\n", 10, "invalid UTF-8");
    expect_error(h + "# \xed\xa0\x80\n", 10, "invalid UTF-8");
    // Valid multi-byte UTF-8 in comments and strings is fine.
    auto ok = parse_rule_file(h + "# 動的\n[[dynamic]]\nid = \"a\"\npattern = 'x'\nnote = \"光\"\n",
                              "t.toml");
    BOOST_TEST(ok.has_value());
    // A 64 KiB line.
    expect_error(h + "# " + std::string(64 * 1024, 'a') + "\n", 10, "line longer than 8192 bytes");
    // A huge file.
    std::string huge = h;
    while (huge.size() <= kMaxRuleFileBytes)
        huge += "# " + std::string(100, 'x') + "\n";
    expect_error(huge, 0, "over 1024 KiB");
}

BOOST_AUTO_TEST_CASE(files_and_directories) {
    TempDir d;
    std::string good =
        std::string(kHead) + "[[dynamic]]\nid = \"a\"\npattern = '^a\\.example-isp\\.jp$'\n";
    d.write("b.toml", good);
    d.write("a.toml", good);
    d.write("notes.txt", "not a rule file");
    d.write(".hidden.toml", "garbage");
    d.write("sub/c.toml", good);
    auto files = list_rule_files(d.path.string());
    BOOST_REQUIRE(files.has_value());
    BOOST_REQUIRE(files->size() == 2u);
    BOOST_TEST(fs::path((*files)[0]).filename() == "a.toml");
    BOOST_TEST(fs::path((*files)[1]).filename() == "b.toml");
    auto rec = list_rule_files(d.path.string(), true);
    BOOST_REQUIRE(rec.has_value());
    BOOST_TEST(rec->size() == 3u);
    // A directory loads its subdirectories too, in sorted path order ...
    auto loaded = load_rule_directory(d.path.string());
    BOOST_REQUIRE(loaded.has_value());
    BOOST_REQUIRE(loaded->size() == 3u);
    BOOST_TEST((*loaded)[0].rules[0].file == (*files)[0]);
    BOOST_TEST(fs::path((*loaded)[2].path).parent_path().filename() == "sub");
    // ... except generic files below it: those load only from the directory named.
    std::string generic = "format = 1\nkind = \"generic\"\n[meta]\nname = \"G\"\n"
                          "contact = \"x@example.org\"\nupdated = 2026-11-22\nsource = \"t\"\n"
                          "[[dynamic]]\nid = \"g\"\npattern = '^dyn[0-9]'\n";
    d.write("sub/generic/g.toml", generic);
    auto without = load_rule_directory(d.path.string());
    BOOST_REQUIRE(without.has_value());
    BOOST_TEST(without->size() == 3u);
    auto named = load_rule_directory((d.path / "sub" / "generic").string());
    BOOST_REQUIRE(named.has_value());
    BOOST_TEST(named->size() == 1u);
    fs::remove_all(d.path / "sub" / "generic");

    // The first broken file stops a directory load, naming file and line.
    std::string broken = d.write("c.toml", std::string(kHead) + "[[dynamic]]\nid = \"a\"\n");
    auto bad = load_rule_directory(d.path.string());
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().file == broken);
    BOOST_TEST(bad.error().line == 10u);

    // Missing files and directories, a directory given as a file.
    auto nofile = load_rule_file((d.path / "missing.toml").string());
    BOOST_REQUIRE(!nofile.has_value());
    BOOST_TEST(nofile.error().reason.find("cannot open") != std::string::npos);
    auto dirfile = load_rule_file(d.path.string());
    BOOST_REQUIRE(!dirfile.has_value());
    BOOST_TEST(dirfile.error().reason == "rule file is a directory");
    auto nodir = list_rule_files((d.path / "nope").string());
    BOOST_REQUIRE(!nodir.has_value());
    BOOST_TEST(nodir.error().reason == "cannot read: No such file or directory");
    const std::string plain = d.write("plain.toml", "");
    auto notdir = list_rule_files(plain);
    BOOST_REQUIRE(!notdir.has_value());
    BOOST_TEST(notdir.error().reason == "not a directory");

    // A huge file on disk is refused without reading it all.
    std::string huge(kMaxRuleFileBytes + 4096, '#');
    std::string hp = d.write("huge.toml", huge);
    auto h = load_rule_file(hp);
    BOOST_REQUIRE(!h.has_value());
    BOOST_TEST(h.error().line == 0u);
    BOOST_TEST(h.error().to_string().find("huge.toml: rule file is over 1 MiB") !=
               std::string::npos);
}
