#define BOOST_TEST_MODULE rule_source
#include <boost/test/unit_test.hpp>

#include "ip25b/rule_source.hpp"

using namespace ip25b;

BOOST_AUTO_TEST_CASE(prefixes_are_parsed_in_one_place) {
    auto pcre = parse_rule_source("pcre:/etc/postfix/x.pcre");
    BOOST_TEST((pcre.kind == RuleSourceKind::PcreTable));
    BOOST_TEST(pcre.path == "/etc/postfix/x.pcre");
    BOOST_TEST(pcre.is_table());
    auto rx = parse_rule_source("regexp:rel/x.regexp");
    BOOST_TEST((rx.kind == RuleSourceKind::RegexpTable));
    BOOST_TEST(rx.path == "rel/x.regexp");
    auto feed = parse_rule_source("feed:/var/lib/ip25b/feeds/acme");
    BOOST_TEST((feed.kind == RuleSourceKind::Feed));
    BOOST_TEST(!feed.is_table());
    BOOST_TEST(feed.feed_name() == "acme");
    auto files = parse_rule_source("/usr/share/ip25b/rules/isp");
    BOOST_TEST((files.kind == RuleSourceKind::RuleFiles));
    BOOST_TEST(files.path == "/usr/share/ip25b/rules/isp");
    // Other Postfix types are not sources; they stay one path and fail at load.
    BOOST_TEST((parse_rule_source("hash:/etc/x").kind == RuleSourceKind::RuleFiles));
    for (std::string s : {"pcre:/a", "regexp:b", "feed:/c", "d/e.toml"})
        BOOST_TEST(parse_rule_source(s).to_string() == s);
}

BOOST_AUTO_TEST_CASE(sources_load_by_kind) {
    auto other = load_rule_source("hash:/etc/x");
    BOOST_REQUIRE(!other);
    BOOST_TEST(other.error().reason.find("not a rule source (no such file or directory)") !=
               std::string::npos);
    // A source that exists but cannot be entered says why, not "not a rule source"
    // (as root, a directory's mode does not stop a stat; a file used as one does).
    auto unreadable = load_rule_source("/etc/passwd/isp");
    BOOST_REQUIRE(!unreadable);
    BOOST_TEST(unreadable.error().to_string() == "/etc/passwd/isp: cannot read: Not a directory");
    auto missing = load_rule_source("pcre:/nonexistent/ip25b.pcre");
    BOOST_REQUIRE(!missing);
    BOOST_TEST(missing.error().to_string() ==
               "/nonexistent/ip25b.pcre: cannot open table: No such file or directory");
    auto pc = load_rule_source(std::string("pcre:") + IP25B_TEST_DATA + "/sample.pcre");
    BOOST_REQUIRE_MESSAGE(pc, (pc ? "" : pc.error().to_string()));
    BOOST_TEST(pc->warnings.empty());
    size_t matchable = 0;
    for (const auto& r : pc->rules)
        matchable += r.action == RuleAction::Result;
    BOOST_TEST(matchable == 5u);
    BOOST_TEST((pc->rules.front().syntax == RuleSyntax::Pcre));
    auto rx = load_rule_source(std::string("regexp:") + IP25B_TEST_DATA + "/sample.regexp");
    BOOST_REQUIRE(rx);
    BOOST_TEST((rx->rules.front().syntax == RuleSyntax::PosixRegexp));
}

BOOST_AUTO_TEST_CASE(rule_files_are_kept_whole_until_taken) {
    const std::string dir = std::string(IP25B_SOURCE_DIR) + "/rules/cloud";
    auto read = read_rule_source(dir);
    BOOST_REQUIRE_MESSAGE(read, (read ? "" : read.error().to_string()));
    BOOST_TEST(read->rules.empty());
    BOOST_REQUIRE(!read->rule_files.empty());
    BOOST_TEST(read->rule_files.size() == read->files.size());
    size_t in_files = 0;
    for (const auto& f : read->rule_files)
        in_files += f.rules.size();
    BOOST_TEST(!read->cloud_domains.empty());
    take_file_rules(*read);
    BOOST_TEST(read->rule_files.empty());
    BOOST_TEST(read->rules.size() == in_files);
    auto loaded = load_rule_source(dir);
    BOOST_REQUIRE(loaded);
    BOOST_TEST(loaded->rules.size() == in_files);
    BOOST_TEST(loaded->rule_files.empty());
}
