#define BOOST_TEST_MODULE feed_format
#include <boost/test/unit_test.hpp>

#include "ip25b/feed_format.hpp"

#include <string>

using namespace ip25b;
using namespace std::chrono;

namespace {

sys_seconds at(int y, unsigned m, unsigned d) {
    return sys_seconds{sys_days{year{y} / month{m} / day{d}}};
}

Feed sample() {
    Feed f;
    f.header.name = "example-isp";
    f.header.publisher = "Example \"Net\"";
    f.header.contact = "abuse@example.net";
    f.header.serial = 7;
    f.header.published = at(2026, 11, 30);
    f.header.expires = at(2026, 12, 14);
    f.files.push_back({"a.toml", "format = 1\npattern = '^a\\.b$'\n"});
    // Text a multi-line literal string cannot hold falls back to escapes.
    f.files.push_back({"b.toml", "x = '''q'''\n\ttab and \\ backslash \"\"\" and \x01\n"});
    return f;
}

std::string header(const std::string& extra, const std::string& serial = "1") {
    return "[feed]\nformat = 1\nname = \"n\"\npublisher = \"P\"\nserial = " + serial +
           "\npublished = 2026-11-30T00:00:00Z\nexpires = 2026-12-01T00:00:00+09:00\n" + extra +
           "\n[[file]]\nname = \"a.toml\"\ncontent = \"x\"\n";
}

} // namespace

BOOST_AUTO_TEST_CASE(serialize_parse_round_trip) {
    Feed f = sample();
    std::string text = serialize_feed(f);
    auto back = parse_feed(text, "feed");
    BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().to_string()));
    BOOST_TEST(back->header.name == f.header.name);
    BOOST_TEST(back->header.publisher == f.header.publisher);
    BOOST_TEST(back->header.contact == f.header.contact);
    BOOST_TEST(back->header.serial == 7u);
    BOOST_TEST((back->header.published == f.header.published));
    BOOST_TEST((back->header.expires == f.header.expires));
    BOOST_REQUIRE(back->files.size() == 2u);
    for (size_t i = 0; i < 2; ++i) {
        BOOST_TEST(back->files[i].name == f.files[i].name);
        BOOST_TEST(back->files[i].content == f.files[i].content);
    }
    // The readable form is used when it can be.
    BOOST_TEST(text.find("content = '''\nformat = 1\npattern = '^a\\.b$'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(time_offsets_are_honoured) {
    auto f = parse_feed(header(""), "feed");
    BOOST_REQUIRE(f);
    BOOST_TEST((f->header.expires == at(2026, 11, 30) + hours(15)));
    BOOST_TEST(format_utc(f->header.expires) == "2026-11-30T15:00:00Z");
}

BOOST_AUTO_TEST_CASE(strict_reading_names_the_line) {
    auto e = parse_feed(header("colour = \"red\""), "feed");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().to_string() == "feed:8: unknown key 'colour' in [feed]");

    BOOST_TEST(!parse_feed(header("", "0"), "feed"));
    BOOST_TEST(!parse_feed(header("", "\"1\""), "feed"));
    BOOST_TEST(!parse_feed("[feed]\nformat = 2\n", "feed"));
    BOOST_TEST(!parse_feed("[[file]]\nname = \"a.toml\"\ncontent = \"\"\n", "feed"));
    // A local date-time has no offset: when would it expire?
    std::string local = header("");
    local.replace(local.find("2026-11-30T00:00:00Z"), 20, "2026-11-30T00:00:00");
    BOOST_TEST(!parse_feed(local, "feed"));
    // Expiry not after publication.
    std::string backwards = header("");
    backwards.replace(backwards.find("2026-12-01T00:00:00+09:00"), 25, "2026-11-29T00:00:00Z");
    BOOST_TEST(!parse_feed(backwards, "feed"));
}

BOOST_AUTO_TEST_CASE(file_names_are_plain_and_unique) {
    for (std::string bad : {"../x.toml", "a/b.toml", ".hidden.toml", "a.txt", "a b.toml", ""}) {
        Feed f = sample();
        f.files[0].name = bad;
        BOOST_TEST(!parse_feed(serialize_feed(f), "feed"), bad);
    }
    Feed dup = sample();
    dup.files[1].name = dup.files[0].name;
    auto e = parse_feed(serialize_feed(dup), "feed");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().reason.find("twice") != std::string::npos);
    BOOST_TEST(valid_feed_name("jp-ocn.v2"));
    BOOST_TEST(!valid_feed_name("JP"));
    BOOST_TEST(!valid_feed_name("-x"));
    BOOST_TEST(!valid_feed_name("a/b"));
}

BOOST_AUTO_TEST_CASE(serial_and_expiry_decisions) {
    FeedHeader h;
    h.name = "n";
    h.serial = 5;
    h.published = at(2026, 11, 1);
    h.expires = at(2026, 12, 1);
    const auto now = at(2026, 11, 20);

    BOOST_TEST((check_feed(h, "n", 0, false, now).outcome == FeedAcceptance::Install));
    BOOST_TEST((check_feed(h, "n", 4, false, now).outcome == FeedAcceptance::Install));
    BOOST_TEST((check_feed(h, "n", 5, true, now).outcome == FeedAcceptance::Unchanged));

    auto reused = check_feed(h, "n", 5, false, now);
    BOOST_TEST((reused.outcome == FeedAcceptance::Refuse));
    BOOST_TEST(reused.reason.find("re-used") != std::string::npos);

    auto rollback = check_feed(h, "n", 6, false, now);
    BOOST_TEST((rollback.outcome == FeedAcceptance::Refuse));
    BOOST_TEST(rollback.reason == "serial rollback: 5 is older than the installed serial 6");

    auto expired = check_feed(h, "n", 4, false, at(2026, 12, 1));
    BOOST_TEST((expired.outcome == FeedAcceptance::Refuse));
    BOOST_TEST(expired.reason == "feed expired at 2026-12-01T00:00:00Z (serial 5)");
    // The same bytes, once expired, are not "unchanged": the publisher stopped refreshing.
    BOOST_TEST((check_feed(h, "n", 5, true, at(2026, 12, 2)).outcome == FeedAcceptance::Refuse));

    auto other = check_feed(h, "m", 0, false, now);
    BOOST_TEST((other.outcome == FeedAcceptance::Refuse));
    BOOST_TEST(other.reason.find("config expects \"m\"") != std::string::npos);
}
