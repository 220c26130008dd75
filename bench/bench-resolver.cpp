// bench-resolver — resolver throughput and cache-hit latency against a local DNS server.
// Driven by bench/bench-resolver.sh, which starts NSD with tests/lib/gen-ptr-zones.py zones.
//   ip25b-bench-resolver SERVER HOSTS     SERVER = 127.0.0.1:PORT, HOSTS = addresses in the zone
// Prints: distinct uncached lookups/s at 1, 10 and 100 in flight (each a PTR and an A
// query, forward-confirmed); cache-hit latency p50/p99/p99.9; RSS for 100,000 cache entries.
#include "ip25b/ptr_cache.hpp"
#include "ip25b/resolver.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace ip25b;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kBase = 0xC6120000u; // 198.18.0.0

std::unique_ptr<Resolver> make(const std::string& server, unsigned outstanding) {
    ResolverOptions o;
    o.servers = {server};
    o.timeout_ms = 2000;
    o.deadline_ms = 10000;
    o.max_outstanding = outstanding;
    auto r = Resolver::create(o);
    if (!r) {
        std::fprintf(stderr, "bench-resolver: %s\n", r.error().to_string().c_str());
        std::exit(1);
    }
    return std::move(r.value());
}

// Keeps `inflight` lookups of distinct addresses [first, first+count) outstanding.
void throughput(const std::string& server, unsigned inflight, uint32_t first, uint32_t count) {
    auto r = make(server, std::max(100u, inflight * 2));
    std::mutex mu;
    std::condition_variable cv;
    unsigned running = 0, done = 0, confirmed = 0;
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < count; ++i) {
        {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return running < inflight; });
            ++running;
        }
        r->lookup_async(IpAddress::v4(kBase + first + i), [&](PtrResult p) {
            std::lock_guard lock(mu);
            --running;
            ++done;
            if (p.status == PtrStatus::Confirmed) ++confirmed;
            cv.notify_all();
        });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == count; });
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("uncached lookups, %3u in flight: %8.0f lookups/s  (%u lookups, %u confirmed, "
                "%.2f s)\n",
                inflight, count / secs, count, confirmed, secs);
}

double pct(std::vector<double>& v, double p) {
    size_t k = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
}

void hit_latency(const std::string& server, uint32_t hosts) {
    auto r = make(server, 100);
    const uint32_t warm = std::min<uint32_t>(hosts, 10000);
    for (uint32_t i = 1; i <= warm; ++i)
        r->lookup(IpAddress::v4(kBase + i));
    std::vector<double> ns;
    ns.reserve(200000);
    for (uint32_t i = 0; i < 200000; ++i) {
        auto a = IpAddress::v4(kBase + 1 + (i * 7919u) % warm);
        auto t0 = Clock::now();
        auto p = r->lookup(a);
        auto t1 = Clock::now();
        if (!p.from_cache) {
            std::fprintf(stderr, "bench-resolver: %s was not cached\n", a.to_string().c_str());
            std::exit(1);
        }
        ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    }
    std::printf(
        "cache hit latency (1 thread, %u entries): p50 %.2f us  p99 %.2f us  p99.9 %.2f us\n", warm,
        pct(ns, 50) / 1000, pct(ns, 99) / 1000, pct(ns, 99.9) / 1000);
}

long rss_kb() {
    std::ifstream f("/proc/self/statm");
    long size = 0, resident = 0;
    f >> size >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void cache_memory() {
    long before = rss_kb();
    {
        PtrCache cache({100000, 60, 86400, 5});
        auto now = Clock::now();
        for (uint32_t i = 0; i < 100000; ++i) {
            PtrResult r;
            r.status = PtrStatus::Confirmed;
            // a typical Japanese ISP dynamic name, 40-odd bytes
            char name[96];
            std::snprintf(name, sizeof name, "p%u-ipbf%umarunouchi.tokyo.ocn.ne.jp",
                          1000 + i % 9000, i);
            r.name = name;
            r.names = {r.name};
            r.ttl = 3600;
            cache.put(IpAddress::v4(0x76000000u + i), r, now);
        }
        long after = rss_kb();
        std::printf(
            "cache of 100000 entries: +%.1f MB RSS (%.0f bytes/entry), process RSS %.1f MB\n",
            double(after - before) / 1024, double(after - before) * 1024 / 100000,
            double(after) / 1024);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s SERVER HOSTS\n", argv[0]);
        return 2;
    }
    std::string server = argv[1];
    uint32_t hosts = uint32_t(std::strtoul(argv[2], nullptr, 10));
    if (hosts < 34000) {
        std::fprintf(stderr, "bench-resolver: need at least 34000 hosts in the zone\n");
        return 2;
    }
    cache_memory();
    throughput(server, 1, 1, 3000);
    throughput(server, 10, 3001, 10000);
    throughput(server, 100, 13001, 20000);
    hit_latency(server, hosts);
    return 0;
}
