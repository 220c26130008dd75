// PtrCache: lifetimes (positive clamp, negative, tempfail), expiry, eviction, round trip.
#define BOOST_TEST_MODULE ptr_cache
#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include "ip25b/ptr_cache.hpp"

namespace ip25b {
inline std::ostream& boost_test_print_type(std::ostream& os, PtrStatus s) {
    return os << to_string(s);
}
} // namespace ip25b

using namespace ip25b;
using namespace std::chrono_literals;
using Clock = PtrCache::Clock;

namespace {
IpAddress ip(const char* s) {
    return *IpAddress::parse(s);
}

PtrResult confirmed(const std::string& name, uint32_t ttl) {
    PtrResult r;
    r.status = PtrStatus::Confirmed;
    r.name = name;
    r.names = {"other.example.test", name};
    r.ttl = ttl;
    r.detail = "ok";
    return r;
}

PtrResult with_status(PtrStatus s, uint32_t ttl) {
    PtrResult r;
    r.status = s;
    r.ttl = ttl;
    r.detail = std::string(to_string(s));
    return r;
}
} // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_names_and_chosen_name) {
    PtrCache c({100, 10, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("mail.example.test", 300), t0);
    auto r = c.get(ip("192.0.2.1"), t0 + 1s);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->from_cache);
    BOOST_TEST(r->status == PtrStatus::Confirmed);
    BOOST_TEST(r->name == "mail.example.test");
    BOOST_TEST(r->names.size() == 2u);
    BOOST_TEST(r->names[0] == "other.example.test");
    BOOST_TEST(r->names[1] == "mail.example.test");
    BOOST_TEST(r->detail == "ok");
    BOOST_TEST(r->ttl == 299u);
    BOOST_TEST(r->elapsed.count() == 0);
    BOOST_TEST(!c.get(ip("192.0.2.2"), t0));
    BOOST_TEST(!c.get(ip("::ffff:192.0.2.3"), t0));
    auto st = c.stats();
    BOOST_TEST(st.hits == 1u);
    BOOST_TEST(st.misses == 2u);
    BOOST_TEST(st.entries == 1u);
}

BOOST_AUTO_TEST_CASE(v4_and_v6_keys_are_distinct) {
    PtrCache c;
    auto t0 = Clock::now();
    c.put(ip("2001:db8::1"), confirmed("six.example.test", 300), t0);
    c.put(ip("0.0.0.1"), confirmed("four.example.test", 300), t0);
    BOOST_TEST(c.get(ip("2001:db8::1"), t0)->name == "six.example.test");
    BOOST_TEST(c.get(ip("0.0.0.1"), t0)->name == "four.example.test");
    BOOST_TEST(!c.get(ip("::1"), t0));
}

BOOST_AUTO_TEST_CASE(positive_ttl_is_clamped_to_min_and_max) {
    PtrCache c({100, 60, 600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("a.example.test", 1), t0);     // raised to 60
    c.put(ip("192.0.2.2"), confirmed("b.example.test", 86400), t0); // lowered to 600
    BOOST_TEST(c.get(ip("192.0.2.1"), t0 + 59s).has_value());
    BOOST_TEST(!c.get(ip("192.0.2.1"), t0 + 60s).has_value());
    BOOST_TEST(c.get(ip("192.0.2.2"), t0 + 599s).has_value());
    BOOST_TEST(!c.get(ip("192.0.2.2"), t0 + 600s).has_value());
    auto st = c.stats();
    BOOST_TEST(st.expired == 2u);
    BOOST_TEST(st.entries == 0u);
}

BOOST_AUTO_TEST_CASE(negative_entries_use_their_ttl_malformed_ones_the_tempfail_ttl) {
    PtrCache c({100, 0, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.16"), with_status(PtrStatus::NoPtr, 45), t0);
    c.put(ip("192.0.2.30"), with_status(PtrStatus::Malformed, 300), t0);
    BOOST_TEST(c.lifetime(with_status(PtrStatus::Malformed, 300)) == 5u);
    auto r = c.get(ip("192.0.2.16"), t0 + 44s);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == PtrStatus::NoPtr);
    BOOST_TEST(r->names.empty());
    BOOST_TEST(r->name.empty());
    BOOST_TEST(r->detail == "no-ptr");
    BOOST_TEST(!c.get(ip("192.0.2.16"), t0 + 45s));
    // A garbled answer is a DNS failure: kept as briefly as a timeout, not for its TTL.
    BOOST_TEST(c.get(ip("192.0.2.30"), t0 + 4s)->status == PtrStatus::Malformed);
    BOOST_TEST(!c.get(ip("192.0.2.30"), t0 + 5s));
}

BOOST_AUTO_TEST_CASE(tempfail_is_cached_briefly_or_not_at_all) {
    auto t0 = Clock::now();
    PtrCache brief({100, 60, 3600, 5});
    brief.put(ip("192.0.2.1"), with_status(PtrStatus::TempFail, 0), t0);
    BOOST_TEST(brief.lifetime(with_status(PtrStatus::TempFail, 9999)) == 5u);
    BOOST_TEST(brief.get(ip("192.0.2.1"), t0 + 4s)->status == PtrStatus::TempFail);
    BOOST_TEST(!brief.get(ip("192.0.2.1"), t0 + 5s));
    PtrCache never({100, 60, 3600, 0});
    never.put(ip("192.0.2.1"), with_status(PtrStatus::TempFail, 0), t0);
    BOOST_TEST(!never.get(ip("192.0.2.1"), t0));
    BOOST_TEST(never.stats().inserts == 0u);
}

BOOST_AUTO_TEST_CASE(replacing_an_entry_updates_it_in_place) {
    PtrCache c({2, 0, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("old.example.test", 100), t0);
    c.put(ip("192.0.2.1"), with_status(PtrStatus::NoPtr, 100), t0);
    BOOST_TEST(c.get(ip("192.0.2.1"), t0)->status == PtrStatus::NoPtr);
    BOOST_TEST(c.stats().entries == 1u);
    BOOST_TEST(c.stats().evictions == 0u);
}

BOOST_AUTO_TEST_CASE(size_bound_evicts_unreferenced_entries_first) {
    PtrCache c({3, 0, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("a.example.test", 100), t0);
    c.put(ip("192.0.2.2"), confirmed("b.example.test", 100), t0);
    c.put(ip("192.0.2.3"), confirmed("c.example.test", 100), t0);
    BOOST_TEST(c.get(ip("192.0.2.1"), t0).has_value()); // referenced: gets a second chance
    c.put(ip("192.0.2.4"), confirmed("d.example.test", 100), t0);
    auto st = c.stats();
    BOOST_TEST(st.entries == 3u);
    BOOST_TEST(st.evictions == 1u);
    BOOST_TEST(c.get(ip("192.0.2.1"), t0).has_value());
    BOOST_TEST(!c.get(ip("192.0.2.2"), t0).has_value());
    BOOST_TEST(c.get(ip("192.0.2.4"), t0).has_value());
}

BOOST_AUTO_TEST_CASE(expired_entries_are_evicted_before_live_ones) {
    PtrCache c({2, 0, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("live.example.test", 1000), t0);
    c.put(ip("192.0.2.2"), confirmed("dying.example.test", 10), t0);
    BOOST_TEST(c.get(ip("192.0.2.1"), t0).has_value());
    BOOST_TEST(c.get(ip("192.0.2.2"), t0).has_value());
    c.put(ip("192.0.2.3"), confirmed("new.example.test", 1000), t0 + 20s);
    BOOST_TEST(c.get(ip("192.0.2.1"), t0 + 20s).has_value());
    BOOST_TEST(c.get(ip("192.0.2.3"), t0 + 20s).has_value());
}

BOOST_AUTO_TEST_CASE(many_entries_stay_bounded) {
    PtrCache c({1000, 0, 3600, 5});
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < 5000; ++i)
        c.put(IpAddress::v4(0xC6120000u + i), confirmed(fmt::format("h{}.example.test", i), 100),
              t0);
    auto st = c.stats();
    BOOST_TEST(st.entries == 1000u);
    BOOST_TEST(st.evictions == 4000u);
    size_t found = 0;
    for (uint32_t i = 0; i < 5000; ++i) {
        auto r = c.get(IpAddress::v4(0xC6120000u + i), t0);
        if (!r) continue;
        ++found;
        BOOST_TEST(r->name == fmt::format("h{}.example.test", i));
    }
    BOOST_TEST(found == 1000u);
    c.clear();
    BOOST_TEST(c.stats().entries == 0u);
    BOOST_TEST(!c.get(IpAddress::v4(0xC6120000u + 4999), t0));
}

BOOST_AUTO_TEST_CASE(a_name_missing_from_names_is_kept) {
    PtrCache c;
    auto t0 = Clock::now();
    PtrResult r = with_status(PtrStatus::Unconfirmed, 300);
    r.name = "only.example.test";
    c.put(ip("192.0.2.9"), r, t0);
    auto got = c.get(ip("192.0.2.9"), t0);
    BOOST_TEST(got->name == "only.example.test");
}

BOOST_AUTO_TEST_CASE(zero_entries_disables_the_cache) {
    PtrCache c({0, 0, 3600, 5});
    auto t0 = Clock::now();
    c.put(ip("192.0.2.1"), confirmed("a.example.test", 100), t0);
    BOOST_TEST(!c.get(ip("192.0.2.1"), t0));
    BOOST_TEST(c.stats().entries == 0u);
}
