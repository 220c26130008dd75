// ip25b/resolver.hpp — the SMTP client's PTR name, forward-confirmed, with a deadline.
//
// The MTA's own idea of the client name cannot be trusted ({client_name} is "unknown" for
// both "no PTR" and "DNS failed"), so the milter asks DNS itself:
//   reverse name (in-addr.arpa / ip6.arpa) -> PTR, following CNAMEs (RFC 2317) -> every
//   valid PTR name -> A/AAAA of the name -> Confirmed if it contains the client address.
// Names are checked with hostname_problem() before anyone sees them (CVE-2021-3672).
//
// c-ares 1.18 is not thread-safe per channel, so one thread owns the channel and its
// event loop (poll on the c-ares sockets plus an eventfd); any thread posts a request and
// waits on it with an overall deadline. One in-flight query serves every caller asking
// about the same address. Results go into a PtrCache (see ptr_cache.hpp for lifetimes).
// Queries use ares_query only (never ares_gethostbyaddr, which would read /etc/hosts).
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/error.hpp"
#include "ip25b/ptr_cache.hpp"
#include "ip25b/ptr_result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ip25b {

// The defaults of the resolver, which the config's [dns] takes over.
inline constexpr unsigned kDefaultDnsTimeoutMs = 1000;
inline constexpr unsigned kDefaultDnsTries = 2;
inline constexpr unsigned kDefaultDnsDeadlineMs = 3000;
inline constexpr uint32_t kDefaultNegativeTtl = 300; // seconds

struct ResolverOptions {
    // "127.0.0.1", "127.0.0.1:5353", "[::1]:5353", "2001:db8::1"; empty = /etc/resolv.conf.
    std::vector<std::string> servers;
    unsigned timeout_ms = kDefaultDnsTimeoutMs;   // first try; c-ares doubles it each round
    unsigned tries = kDefaultDnsTries;            // rounds over the server list
    unsigned deadline_ms = kDefaultDnsDeadlineMs; // a caller never waits longer than this
    size_t cache_max_entries = kDefaultCacheEntries;
    uint32_t cache_min_ttl = kDefaultCacheMinTtl;
    uint32_t cache_max_ttl = kDefaultCacheMaxTtl;
    uint32_t negative_ttl = kDefaultNegativeTtl; // NoPtr lifetime when the answer has no SOA
    uint32_t tempfail_ttl = kDefaultTempfailTtl; // 0 = temporary failures are not cached
    unsigned max_ptr_names = 10;    // PTR names forward-checked per address (bounds the work)
    unsigned max_cname_hops = 8;    // CNAME links followed per name
    unsigned max_outstanding = 100; // DNS queries on the wire at once; more wait their turn
};

struct ResolverStats {
    uint64_t lookups = 0; // calls to lookup()/lookup_async()
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;
    uint64_t joins = 0;    // misses that joined a query already in flight
    uint64_t queries = 0;  // DNS queries sent (PTR, CNAME targets, A/AAAA)
    uint64_t timeouts = 0; // callers answered "deadline"
    uint64_t failures = 0; // lookups that ended TempFail from DNS (not the deadline)
    uint64_t malformed = 0;
    uint64_t in_flight = 0; // addresses being resolved now
    PtrCacheStats cache;
};

class Resolver {
  public:
    using Callback = std::function<void(PtrResult)>;

    static Expected<std::unique_ptr<Resolver>> create(const ResolverOptions& options);
    // Stops the event loop; callers still waiting get TempFail "resolver shut down".
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // Blocks at most the configured deadline; then TempFail with detail "deadline ...".
    // Thread-safe.
    PtrResult lookup(const IpAddress& addr);
    // Calls `done` exactly once: at once on the calling thread for a cache hit, otherwise
    // on the resolver thread when the answer (or the deadline) arrives — so `done` must
    // be quick and must not call lookup() on this resolver (an exception it throws there
    // is dropped).
    void lookup_async(const IpAddress& addr, Callback done);

    ResolverStats stats() const;
    // What the cache holds for `addr` now, without counting a hit or a miss and
    // without asking DNS (for `ip25b status --cache`).
    std::optional<PtrResult> cached(const IpAddress& addr) const;
    const ResolverOptions& options() const;

  private:
    struct Impl;
    explicit Resolver(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
