// The resolver against real DNS: NSD serving tests/data/resolver/*.zone (and generated
// 198.18.0.0/16 zones) plus the scripted broken server of tests/lib/dns-fake-server.py.
// Run by tests/integration/test-resolver.sh, which starts them and passes their ports:
//   IP25B_DNS_PORT       NSD (127.0.0.1 and, if IP25B_DNS_V6=1, ::1)
//   IP25B_FAKE_DNS_PORT  the scripted server
//   IP25B_DEAD_DNS_PORT  a loopback port where nothing listens
#define BOOST_TEST_MODULE resolver_dns
#include <boost/test/unit_test.hpp>

#include "ip25b/resolver.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <dirent.h>
#include <mutex>
#include <thread>

namespace ip25b {
inline std::ostream& boost_test_print_type(std::ostream& os, PtrStatus s) {
    return os << to_string(s);
}
} // namespace ip25b

using namespace ip25b;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) {
        BOOST_FAIL(std::string(name) + " is not set: run tests/integration/test-resolver.sh");
    }
    return v;
}

std::string nsd() {
    return "127.0.0.1:" + env("IP25B_DNS_PORT");
}
std::string fake() {
    return "127.0.0.1:" + env("IP25B_FAKE_DNS_PORT");
}
bool have_v6() {
    return std::getenv("IP25B_DNS_V6") && std::string(std::getenv("IP25B_DNS_V6")) == "1";
}

ResolverOptions opts(std::string server) {
    ResolverOptions o;
    o.servers = {std::move(server)};
    o.timeout_ms = 500;
    o.tries = 2;
    o.deadline_ms = 4000;
    o.cache_min_ttl = 0;
    return o;
}

std::unique_ptr<Resolver> make(const ResolverOptions& o) {
    auto r = Resolver::create(o);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.error().to_string()));
    return std::move(r.value());
}

IpAddress ip(const char* s) {
    auto a = IpAddress::parse(s);
    BOOST_REQUIRE(a);
    return *a;
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

size_t thread_count() {
    size_t n = 0;
    if (DIR* d = opendir("/proc/self/task")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++n;
        closedir(d);
    }
    return n;
}

struct Collector {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<IpAddress, PtrResult>> results;
    Resolver::Callback cb(IpAddress a) {
        return [this, a](PtrResult r) {
            std::lock_guard lock(mu);
            results.emplace_back(a, std::move(r));
            cv.notify_all();
        };
    }
    bool wait_for(size_t n, std::chrono::milliseconds limit) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, limit, [&] { return results.size() >= n; });
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(answers)

BOOST_AUTO_TEST_CASE(ipv4_confirmed) {
    auto r = make(opts(nsd()));
    auto p = r->lookup(ip("192.0.2.10"));
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    BOOST_TEST(p.name == "mail.example.test");
    BOOST_TEST(p.names == std::vector<std::string>{"mail.example.test"});
    BOOST_TEST(p.ttl == 300u);
    BOOST_TEST(!p.from_cache);
    BOOST_TEST(p.elapsed.count() > 0);
}

BOOST_AUTO_TEST_CASE(ipv6_confirmed_and_unconfirmed) {
    auto r = make(opts(have_v6() ? "[::1]:" + env("IP25B_DNS_PORT") : nsd()));
    auto p = r->lookup(ip("2001:db8::10"));
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    BOOST_TEST(p.name == "mail6.example.test");
    auto q = r->lookup(ip("2001:db8::11")); // PTR mail.example.test, which has no AAAA
    BOOST_TEST(q.status == PtrStatus::Unconfirmed, q.detail);
    BOOST_TEST(q.name == "mail.example.test");
    BOOST_TEST(contains(q.detail, "no AAAA record"), q.detail);
}

BOOST_AUTO_TEST_CASE(fcrdns_mismatch) {
    auto r = make(opts(nsd()));
    auto p = r->lookup(ip("192.0.2.11")); // wrong.example.test A 192.0.2.99
    BOOST_TEST(p.status == PtrStatus::Unconfirmed, p.detail);
    BOOST_TEST(p.name == "wrong.example.test");
    BOOST_TEST(contains(p.detail, "no A record is 192.0.2.11"), p.detail);
}

BOOST_AUTO_TEST_CASE(ptr_name_without_address) {
    auto r = make(opts(nsd()));
    auto nodata = r->lookup(ip("192.0.2.12"));
    BOOST_TEST(nodata.status == PtrStatus::Unconfirmed, nodata.detail);
    BOOST_TEST(nodata.name == "noaddr.example.test");
    BOOST_TEST(contains(nodata.detail, "no A record"), nodata.detail);
    auto nx = r->lookup(ip("192.0.2.13"));
    BOOST_TEST(nx.status == PtrStatus::Unconfirmed, nx.detail);
    BOOST_TEST(contains(nx.detail, "NXDOMAIN"), nx.detail);
}

BOOST_AUTO_TEST_CASE(two_ptrs_one_confirms) {
    auto r = make(opts(nsd()));
    auto p = r->lookup(ip("192.0.2.14"));
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    BOOST_TEST(p.name == "two.example.test");
    BOOST_REQUIRE(p.names.size() == 2u);
    BOOST_TEST((std::find(p.names.begin(), p.names.end(), "other.example.test") != p.names.end()));
}

BOOST_AUTO_TEST_CASE(upper_case_names_are_folded) {
    auto r = make(opts(nsd()));
    auto p = r->lookup(ip("192.0.2.15"));
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    BOOST_TEST(p.name == "upper.example.test");
}

BOOST_AUTO_TEST_CASE(nxdomain_and_nodata_are_no_ptr) {
    auto r = make(opts(nsd()));
    auto nx = r->lookup(ip("192.0.2.16"));
    BOOST_TEST(nx.status == PtrStatus::NoPtr, nx.detail);
    BOOST_TEST(contains(nx.detail, "NXDOMAIN"), nx.detail);
    BOOST_TEST(nx.ttl == 45u); // RFC 2308: min(SOA TTL 300, MINIMUM 45)
    BOOST_TEST(nx.names.empty());
    auto nodata = r->lookup(ip("192.0.2.17"));
    BOOST_TEST(nodata.status == PtrStatus::NoPtr, nodata.detail);
    BOOST_TEST(contains(nodata.detail, "NODATA"), nodata.detail);
    BOOST_TEST(nodata.ttl == 45u);
}

BOOST_AUTO_TEST_CASE(cnames) {
    auto r = make(opts(nsd()));
    auto classless = r->lookup(ip("192.0.2.65")); // RFC 2317 into the 64/26 zone
    BOOST_TEST(classless.status == PtrStatus::Confirmed, classless.detail);
    BOOST_TEST(classless.name == "classless.example.test");
    auto inzone = r->lookup(ip("192.0.2.66"));
    BOOST_TEST(inzone.status == PtrStatus::Confirmed, inzone.detail);
    BOOST_TEST(inzone.name == "inzone.example.test");
    // PTR alias.example.test, a CNAME for mail.example.test (192.0.2.10): followed, no match
    auto alias = r->lookup(ip("192.0.2.18"));
    BOOST_TEST(alias.status == PtrStatus::Unconfirmed, alias.detail);
    BOOST_TEST(contains(alias.detail, "no A record is 192.0.2.18"), alias.detail);
}

BOOST_AUTO_TEST_CASE(big_answer_over_tcp) {
    auto r = make(opts(nsd()));
    auto p = r->lookup(ip("192.0.2.20"));
    BOOST_TEST(p.status == PtrStatus::Unconfirmed, p.detail);
    BOOST_TEST(p.names.size() == 20u);
    BOOST_TEST(p.name == "big-answer-number-01.needs-tcp.example.test");
    BOOST_TEST(r->stats().queries == 1u + r->options().max_ptr_names);
}

BOOST_AUTO_TEST_CASE(bad_ptr_names_are_malformed) {
    auto r = make(opts(nsd()));
    for (const char* a : {"192.0.2.30", "192.0.2.31", "192.0.2.32"}) {
        auto p = r->lookup(ip(a));
        BOOST_TEST(p.status == PtrStatus::Malformed, a << ": " << p.detail);
        BOOST_TEST(p.names.empty());
        BOOST_TEST(contains(p.detail, "rejected"), p.detail);
    }
    BOOST_TEST(r->stats().malformed == 3u);
    // one good and one bad PTR: the bad one is dropped and named in the detail
    auto mixed = r->lookup(ip("192.0.2.34"));
    BOOST_TEST(mixed.status == PtrStatus::Confirmed, mixed.detail);
    BOOST_TEST(mixed.names == std::vector<std::string>{"mixed.example.test"});
    BOOST_TEST(contains(mixed.detail, "mixed\\255bad.example.test\" rejected"), mixed.detail);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failures)

BOOST_AUTO_TEST_CASE(servfail_and_refused_are_tempfail) {
    auto r = make(opts(nsd()));
    auto sf = r->lookup(ip("203.0.113.7")); // its reverse zone is configured but has no data
    BOOST_TEST(sf.status == PtrStatus::TempFail, sf.detail);
    BOOST_TEST(contains(sf.detail, "SERVFAIL"), sf.detail);
    auto refused = r->lookup(ip("10.1.2.3")); // not served at all
    BOOST_TEST(refused.status == PtrStatus::TempFail, refused.detail);
    BOOST_TEST(contains(refused.detail, "REFUSED"), refused.detail);
    // PTR fine, but the forward zone fails: names are kept, the result is TempFail
    auto fwd = r->lookup(ip("192.0.2.19"));
    BOOST_TEST(fwd.status == PtrStatus::TempFail, fwd.detail);
    BOOST_TEST(fwd.name == "broken.example.test");
    BOOST_TEST(contains(fwd.detail, "SERVFAIL"), fwd.detail);
    BOOST_TEST(r->stats().failures == 3u);
}

BOOST_AUTO_TEST_CASE(deadline_holds_when_nothing_answers) {
    auto o = opts(fake());
    o.timeout_ms = 5000; // c-ares alone would wait 5 s, then 10 s more
    o.deadline_ms = 300;
    auto r = make(o);
    auto t0 = Clock::now();
    auto p = r->lookup(ip("198.51.100.99")); // silence
    auto took = Clock::now() - t0;
    BOOST_TEST(p.status == PtrStatus::TempFail);
    BOOST_TEST(contains(p.detail, "deadline"), p.detail);
    BOOST_TEST((took >= 290ms));
    BOOST_TEST((took < 1500ms));
    BOOST_TEST(r->stats().timeouts == 1u);
    // the loop thread keeps the deadline of asynchronous callers
    Collector col;
    auto t1 = Clock::now();
    r->lookup_async(ip("198.51.100.96"), col.cb(ip("198.51.100.96")));
    BOOST_REQUIRE(col.wait_for(1, 3s));
    auto async_took = Clock::now() - t1;
    BOOST_TEST(contains(col.results[0].second.detail, "deadline"), col.results[0].second.detail);
    BOOST_TEST((async_took >= 290ms));
    BOOST_TEST((async_took < 1500ms));
    BOOST_TEST(r->stats().timeouts == 2u);
}

BOOST_AUTO_TEST_CASE(dns_timeout_inside_the_deadline) {
    auto o = opts(fake());
    o.timeout_ms = 100;
    o.tries = 1;
    o.deadline_ms = 3000;
    auto r = make(o);
    auto t0 = Clock::now();
    auto p = r->lookup(ip("198.51.100.98"));
    BOOST_TEST(p.status == PtrStatus::TempFail);
    BOOST_TEST(contains(p.detail, "timeout"), p.detail);
    BOOST_TEST((Clock::now() - t0 < 2500ms));
}

BOOST_AUTO_TEST_CASE(server_not_running) {
    auto r = make(opts("127.0.0.1:" + env("IP25B_DEAD_DNS_PORT")));
    auto t0 = Clock::now();
    auto p = r->lookup(ip("192.0.2.10"));
    BOOST_TEST(p.status == PtrStatus::TempFail);
    BOOST_TEST(contains(p.detail, "connection refused"), p.detail);
    BOOST_TEST((Clock::now() - t0 < 3000ms));
}

BOOST_AUTO_TEST_CASE(broken_answers) {
    auto o = opts(fake());
    o.timeout_ms = 200;
    o.tries = 1;
    auto r = make(o);
    struct Case {
        const char* addr;
        PtrStatus want;
        const char* detail;
    };
    const Case cases[] = {
        // ignored by c-ares, so they time out
        {"198.51.100.1", PtrStatus::TempFail, "timeout"}, // shorter than a header
        {"198.51.100.2", PtrStatus::Malformed, ""},       // junk after the question
        {"198.51.100.3", PtrStatus::Malformed, "past the end"},
        {"198.51.100.4", PtrStatus::Malformed, "reserved label type"},
        {"198.51.100.5", PtrStatus::Malformed, "backwards"},
        {"198.51.100.6", PtrStatus::Malformed, "past the end"},
        {"198.51.100.8", PtrStatus::TempFail, "timeout"}, // wrong ID
        {"198.51.100.9", PtrStatus::Malformed, "does not match"},
        {"198.51.100.10", PtrStatus::Malformed, "rejected"},
        {"198.51.100.11", PtrStatus::Malformed, "backwards"},
        {"198.51.100.12", PtrStatus::Malformed, "over 255"},
    };
    Collector col;
    for (const auto& c : cases)
        r->lookup_async(ip(c.addr), col.cb(ip(c.addr)));
    BOOST_REQUIRE(col.wait_for(std::size(cases), 5s));
    for (const auto& c : cases) {
        auto it = std::find_if(col.results.begin(), col.results.end(),
                               [&](auto& x) { return x.first == ip(c.addr); });
        BOOST_REQUIRE(it != col.results.end());
        BOOST_TEST(it->second.status == c.want,
                   c.addr << ": " << to_string(it->second.status) << " " << it->second.detail);
        BOOST_TEST(contains(it->second.detail, c.detail), c.addr << ": " << it->second.detail);
        BOOST_TEST(it->second.names.empty());
    }
    // Garbage is DNS trouble: cached no longer than a timeout, never for negative_ttl.
    auto again = r->lookup(ip("198.51.100.9"));
    BOOST_TEST(again.from_cache);
    BOOST_TEST(again.ttl <= o.tempfail_ttl, again.ttl);
}

// On its own resolver: when the TCP connection fails, c-ares 1.18 closes every socket
// to that server and fails the other queries on it as well.
BOOST_AUTO_TEST_CASE(truncated_udp_then_tcp_closes) {
    auto o = opts(fake());
    o.timeout_ms = 200;
    o.tries = 1;
    auto r = make(o);
    auto p = r->lookup(ip("198.51.100.7"));
    BOOST_TEST(p.status == PtrStatus::TempFail, p.detail);
    BOOST_TEST(p.names.empty());
}

BOOST_AUTO_TEST_CASE(bad_options_are_errors) {
    ResolverOptions o;
    o.servers = {"not an address"};
    auto r = Resolver::create(o);
    BOOST_TEST(!r.has_value());
    o.servers = {"127.0.0.1:53,127.0.0.2"};
    BOOST_TEST(!Resolver::create(o).has_value());
    ResolverOptions z;
    z.servers = {nsd()};
    z.timeout_ms = 0;
    BOOST_TEST(!Resolver::create(z).has_value());
}

BOOST_AUTO_TEST_CASE(shutdown_answers_pending_callers) {
    auto o = opts(fake());
    o.timeout_ms = 5000;
    o.deadline_ms = 10000;
    auto r = make(o);
    Collector col;
    r->lookup_async(ip("198.51.100.99"), col.cb(ip("198.51.100.99")));
    r->lookup_async(ip("198.51.100.97"), col.cb(ip("198.51.100.97")));
    std::this_thread::sleep_for(50ms);
    auto t0 = Clock::now();
    r.reset();
    BOOST_TEST((Clock::now() - t0 < 2500ms));
    BOOST_REQUIRE(col.wait_for(2, 1s));
    for (auto& [a, p] : col.results) {
        BOOST_TEST(p.status == PtrStatus::TempFail);
        BOOST_TEST(contains(p.detail, "shut down"), p.detail);
    }
}

BOOST_AUTO_TEST_CASE(a_throwing_callback_does_not_stop_the_loop) {
    auto r = make(opts(nsd()));
    std::atomic<bool> called{false};
    r->lookup_async(ip("192.0.2.14"), [&](PtrResult) {
        called = true;
        throw std::runtime_error("caller bug");
    });
    auto p = r->lookup(ip("192.0.2.65"));
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    for (int i = 0; i < 200 && !called; ++i)
        std::this_thread::sleep_for(10ms);
    BOOST_TEST(called.load());
    BOOST_TEST(r->lookup(ip("192.0.2.14")).from_cache);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(hits_and_negative_entries) {
    auto r = make(opts(nsd()));
    auto first = r->lookup(ip("192.0.2.10"));
    auto queries = r->stats().queries;
    auto again = r->lookup(ip("192.0.2.10"));
    BOOST_TEST(again.from_cache);
    BOOST_TEST(again.status == PtrStatus::Confirmed);
    BOOST_TEST(again.name == first.name);
    BOOST_TEST(again.elapsed.count() == 0);
    BOOST_TEST(r->stats().queries == queries);
    auto nx = r->lookup(ip("192.0.2.16"));
    auto nx2 = r->lookup(ip("192.0.2.16"));
    BOOST_TEST(!nx.from_cache);
    BOOST_TEST(nx2.from_cache);
    BOOST_TEST(nx2.status == PtrStatus::NoPtr);
    auto s = r->stats();
    BOOST_TEST(s.cache_hits == 2u);
    BOOST_TEST(s.cache_misses == 2u);
    BOOST_TEST(s.lookups == 4u);
}

BOOST_AUTO_TEST_CASE(entries_expire) {
    auto o = opts(nsd());
    o.cache_max_ttl = 1; // clamps NoPtr's 45 s as well
    auto r = make(o);
    auto p = r->lookup(ip("192.0.2.33")); // PTR and A with TTL 1
    BOOST_TEST(p.status == PtrStatus::Confirmed, p.detail);
    BOOST_TEST(p.ttl == 1u);
    BOOST_TEST(r->lookup(ip("192.0.2.33")).from_cache);
    BOOST_TEST(r->lookup(ip("192.0.2.16")).status == PtrStatus::NoPtr);
    BOOST_TEST(r->lookup(ip("192.0.2.16")).from_cache);
    std::this_thread::sleep_for(1100ms);
    auto later = r->lookup(ip("192.0.2.33"));
    BOOST_TEST(!later.from_cache);
    BOOST_TEST(later.status == PtrStatus::Confirmed);
    BOOST_TEST(!r->lookup(ip("192.0.2.16")).from_cache);
    BOOST_TEST(r->stats().cache.expired == 2u);
}

BOOST_AUTO_TEST_CASE(tempfail_cached_briefly_or_not) {
    auto o = opts(nsd());
    o.tempfail_ttl = 5;
    auto r = make(o);
    BOOST_TEST(!r->lookup(ip("10.1.2.3")).from_cache);
    auto second = r->lookup(ip("10.1.2.3"));
    BOOST_TEST(second.from_cache);
    BOOST_TEST(second.status == PtrStatus::TempFail);
    BOOST_TEST(contains(second.detail, "REFUSED"));
    o.tempfail_ttl = 0;
    auto r0 = make(o);
    r0->lookup(ip("10.1.2.3"));
    BOOST_TEST(!r0->lookup(ip("10.1.2.3")).from_cache);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(callers_of_one_address_share_one_query) {
    auto o = opts(fake());
    o.timeout_ms = 2000;
    o.tries = 1;
    o.deadline_ms = 400;
    auto r = make(o);
    std::vector<std::thread> ts;
    std::atomic<int> deadline_hits{0};
    const IpAddress silent = ip("198.51.100.99"); // Boost.Test macros stay on this thread
    for (int i = 0; i < 10; ++i)
        ts.emplace_back([&] {
            auto p = r->lookup(silent);
            if (p.status == PtrStatus::TempFail && contains(p.detail, "deadline")) ++deadline_hits;
        });
    for (auto& t : ts)
        t.join();
    BOOST_TEST(deadline_hits == 10);
    auto s = r->stats();
    BOOST_TEST(s.queries == 1u);
    BOOST_TEST(s.joins == 9u);
    BOOST_TEST(s.in_flight == 1u); // the query itself keeps going until c-ares gives up
}

BOOST_AUTO_TEST_CASE(a_thousand_distinct_addresses_in_flight) {
    auto o = opts(nsd());
    o.deadline_ms = 20000;
    o.timeout_ms = 2000;
    auto r = make(o);
    size_t threads_before = thread_count();
    Collector col;
    const uint32_t base = 0xC6120000u; // 198.18.0.0
    auto t0 = Clock::now();
    for (uint32_t i = 1; i <= 1000; ++i)
        r->lookup_async(IpAddress::v4(base + i), col.cb(IpAddress::v4(base + i)));
    size_t threads_during = thread_count();
    BOOST_REQUIRE(col.wait_for(1000, 20s));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    BOOST_TEST_MESSAGE("1000 lookups in " << took.count() << " ms, threads " << threads_during);
    BOOST_TEST(threads_during == threads_before); // no thread per lookup
    size_t confirmed = 0, shown = 0;
    for (auto& [a, p] : col.results) {
        uint32_t h = a.v4_host_order() - 0xC6120000u;
        std::string want =
            "h-198-18-" + std::to_string(h >> 8) + "-" + std::to_string(h & 0xFF) + ".bench.test";
        if (p.status == PtrStatus::Confirmed && p.name == want)
            ++confirmed;
        else if (++shown <= 5)
            BOOST_TEST_MESSAGE(a.to_string() << ": " << to_string(p.status) << " " << p.detail);
    }
    BOOST_TEST(confirmed == 1000u);
    BOOST_TEST(r->stats().queries == 2000u);
}

BOOST_AUTO_TEST_CASE(many_threads_mixing_hits_and_misses) {
    auto o = opts(nsd());
    o.deadline_ms = 20000;
    auto r = make(o);
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
        ts.emplace_back([&, t] {
            for (uint32_t i = 0; i < 200; ++i) {
                auto a = IpAddress::v4(0xC6120000u + 1 + (i * 7 + uint32_t(t)) % 300);
                auto p = r->lookup(a);
                if (p.status != PtrStatus::Confirmed) ++bad;
            }
        });
    for (auto& t : ts)
        t.join();
    BOOST_TEST(bad == 0);
    auto s = r->stats();
    BOOST_TEST(s.lookups == 1600u);
    BOOST_TEST(s.cache_hits + s.cache_misses == 1600u);
    BOOST_TEST(s.queries <= 600u + 2 * s.joins);
}

BOOST_AUTO_TEST_SUITE_END()
