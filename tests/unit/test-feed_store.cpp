#define BOOST_TEST_MODULE feed_store
#include <boost/test/unit_test.hpp>

#include "ip25b/feed_store.hpp"
#include "ip25b/matcher.hpp"
#include "ip25b/rule_source.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "ip25b-feed-store.XXXXXX").string();
        path = mkdtemp(t.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

const char* kRuleFile = R"(format = 1
kind = "isp"

[meta]
name = "Example ISP"
domains = ["example-isp.test"]
contact = "abuse@example-isp.test"
updated = 2026-11-30
source = "test"

[[dynamic]]
id = "pool"
pattern = '^dyn[0-9]+\.example-isp\.test$'
examples = ["dyn1.example-isp.test"]
)";

Feed feed(uint64_t serial) {
    Feed f;
    f.header.name = "example-isp";
    f.header.publisher = "Example ISP";
    f.header.serial = serial;
    f.files.push_back({"example-isp.toml", kRuleFile});
    return f;
}

} // namespace

BOOST_AUTO_TEST_CASE(state_round_trip_and_missing_state) {
    TempDir d;
    auto empty = load_feed_state(d.path);
    BOOST_REQUIRE(empty);
    BOOST_TEST(empty->serial == 0u);
    FeedState s;
    s.serial = 3;
    s.publisher = "P";
    s.expires = std::chrono::sys_seconds{std::chrono::seconds{1800000000}};
    s.last_error = "fetch x: timed out";
    s.etag = "\"abc\"";
    BOOST_REQUIRE(!save_feed_state(d.path, s));
    auto back = load_feed_state(d.path);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->serial == 3u);
    BOOST_TEST(back->last_error == s.last_error);
    BOOST_TEST(back->etag == s.etag);
    BOOST_TEST((back->expires == s.expires));
    std::ofstream(d.path + "/state.json") << "{ damaged";
    BOOST_TEST(!load_feed_state(d.path));
}

BOOST_AUTO_TEST_CASE(commit_swaps_current_and_keeps_the_previous_serial) {
    TempDir d;
    const std::string dir = d.path + "/example-isp";
    fs::create_directories(dir);
    for (uint64_t serial : {1, 2, 3}) {
        auto staged = stage_feed(dir, feed(serial), "doc " + std::to_string(serial), "sig");
        BOOST_REQUIRE(staged);
        BOOST_REQUIRE(!commit_feed(dir, staged.value(), serial));
        BOOST_TEST(installed_feed_document(dir) == "doc " + std::to_string(serial));
    }
    BOOST_TEST(fs::read_symlink(dir + "/current").string() == "serial-3");
    BOOST_TEST(fs::exists(dir + "/serial-2"));
    BOOST_TEST(!fs::exists(dir + "/serial-1"));
    BOOST_TEST(!fs::exists(dir + "/.staging-3"));
}

BOOST_AUTO_TEST_CASE(rule_source_loads_an_installed_feed_with_its_name) {
    TempDir d;
    const std::string dir = feed_directory(d.path, "example-isp");
    // Not installed yet: nothing to load, and not an error.
    auto none = load_rule_source("feed:" + dir);
    BOOST_REQUIRE(none);
    BOOST_TEST(none->rules.empty());
    BOOST_TEST(none->warnings.size() == 1u);
    // Present but unreadable (here: a file where the state directory belongs) is an
    // error, not "not installed yet": the feed's rules must not vanish quietly.
    const std::string blocked = (fs::path(d.path) / "blocked").string();
    std::ofstream(blocked) << "x";
    auto unreadable = load_rule_source("feed:" + blocked);
    BOOST_REQUIRE(!unreadable);
    BOOST_TEST(unreadable.error().reason == "cannot read: Not a directory");

    fs::create_directories(dir);
    auto staged = stage_feed(dir, feed(1), "doc", "sig");
    BOOST_REQUIRE(staged);
    BOOST_REQUIRE(!commit_feed(dir, staged.value(), 1));
    auto src = load_rule_source("feed:" + dir);
    BOOST_REQUIRE_MESSAGE(src, (src ? "" : src.error().to_string()));
    BOOST_REQUIRE(src->rules.size() == 1u);
    BOOST_TEST(src->rules[0].feed == "example-isp");
    BOOST_TEST(src->rules[0].isp == "Example ISP");
    BOOST_TEST(src->rules[0].file == feed_rules_directory(dir) + "/example-isp.toml");
}

BOOST_AUTO_TEST_CASE(atomic_write_replaces_whole_file) {
    TempDir d;
    const std::string p = d.path + "/f";
    BOOST_REQUIRE(!write_file_atomic(p, "one"));
    BOOST_REQUIRE(!write_file_atomic(p, "two"));
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    BOOST_TEST(s == "two");
    BOOST_TEST(!fs::exists(p + ".tmp-" + std::to_string(getpid())));
    BOOST_TEST(write_file_atomic(d.path + "/no/such/dir/f", "x").has_value());
}

BOOST_AUTO_TEST_CASE(feed_rules_cannot_reach_outside_their_domains) {
    // Passes lint (the examples are in the zone) but the patterns would match
    // anybody's names; loaded from a feed they answer only inside the zone.
    const char* greedy = R"(format = 1
kind = "isp"

[meta]
name = "Greedy ISP"
domains = ["example-isp.test", "other-isp.test"]
contact = "abuse@example-isp.test"
updated = 2026-11-30
source = "test"

[[exception]]
id = "not-dynamic"
pattern = '^mx[0-9]*\.'
examples = ["mx1.example-isp.test"]

[[dynamic]]
id = "everything"
pattern = '^.*$'
examples = ["dyn1.example-isp.test"]
)";
    TempDir d;
    const std::string dir = feed_directory(d.path, "greedy");
    fs::create_directories(dir);
    Feed f = feed(1);
    f.header.name = "greedy";
    f.files[0].content = greedy;
    auto staged = stage_feed(dir, f, "doc", "sig");
    BOOST_REQUIRE(staged);
    BOOST_REQUIRE(!commit_feed(dir, staged.value(), 1));
    auto src = load_rule_source("feed:" + dir);
    BOOST_REQUIRE_MESSAGE(src, (src ? "" : src.error().to_string()));
    auto m = Matcher::build(src->rules);
    BOOST_REQUIRE_MESSAGE(m, (m ? "" : m.error().to_string()));
    auto id = [&](const char* name) {
        auto r = m->match(name);
        return r ? r->rule->id : std::string("-");
    };
    BOOST_TEST(id("dyn1.example-isp.test") == "everything");
    BOOST_TEST(id("a.b.other-isp.test") == "everything");
    BOOST_TEST(id("other-isp.test") == "everything");
    BOOST_TEST(id("mx1.example-isp.test") == "not-dynamic");
    BOOST_TEST(id("mail-oi1-f170.google.com") == "-");
    BOOST_TEST(id("mx1.google.com") == "-");
    BOOST_TEST(id("dyn1.example-isp.test.evil.com") == "-");
    BOOST_TEST(id("xexample-isp.test") == "-");
    // The linear walk agrees with the indexed one.
    for (const char* name : {"dyn1.example-isp.test", "mx1.google.com", "xexample-isp.test"}) {
        auto a = m->match(name), b = m->match_linear(name);
        BOOST_TEST(bool(a) == bool(b), name);
    }
}
