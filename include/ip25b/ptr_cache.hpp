// ip25b/ptr_cache.hpp — the resolver's memory of recent answers, keyed by client address.
//
// Mail comes back from the same addresses again and again, and a milter must not put a
// DNS round trip in front of every connection. The cache holds one compact entry per
// address (the status, the PTR names, the confirmed one, a short detail) and decides how
// long an answer stays:
//   - Confirmed / Unconfirmed / NoPtr: the answer's TTL clamped to [min_ttl, max_ttl].
//     (For NoPtr the resolver sets the TTL from the SOA in the answer, RFC 2308, or its
//     configured negative TTL.)
//   - TempFail and Malformed (is_dns_failure): `tempfail_ttl` seconds (0 = never cached),
//     so a DNS outage or a garbled answer does not make every connection from one address
//     wait for the full deadline again, yet heals fast.
// The size is bounded; when full, CLOCK (second chance) picks the entry to drop, with
// expired entries going first. Time is passed in, so tests need no sleeping.
// Thread-safe: one mutex; a hit costs a lookup and copying the names.
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/ptr_result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace ip25b {

// The defaults of the cache, which ResolverOptions and the config's [dns]
// take over: defined once, so the library used alone behaves as configured.
inline constexpr size_t kDefaultCacheEntries = 100000;
inline constexpr uint32_t kDefaultCacheMinTtl = 60;    // seconds
inline constexpr uint32_t kDefaultCacheMaxTtl = 86400; // seconds
inline constexpr uint32_t kDefaultTempfailTtl = 30;    // seconds

struct PtrCacheOptions {
    size_t max_entries = kDefaultCacheEntries; // 0 disables the cache
    uint32_t min_ttl = kDefaultCacheMinTtl;
    uint32_t max_ttl = kDefaultCacheMaxTtl;
    uint32_t tempfail_ttl = kDefaultTempfailTtl; // 0 disables caching of temporary failures
};

struct PtrCacheStats {
    uint64_t hits = 0;
    uint64_t misses = 0; // includes expired entries
    uint64_t expired = 0;
    uint64_t inserts = 0;
    uint64_t evictions = 0; // dropped to make room
    size_t entries = 0;
};

class PtrCache {
  public:
    using Clock = std::chrono::steady_clock;

    explicit PtrCache(PtrCacheOptions options = {});
    ~PtrCache();
    PtrCache(const PtrCache&) = delete;
    PtrCache& operator=(const PtrCache&) = delete;

    // The cached answer (from_cache = true, elapsed = 0, ttl = seconds left), or nullopt.
    // `count` = false leaves hits/misses alone (a second look by the same lookup).
    std::optional<PtrResult> get(const IpAddress& addr, Clock::time_point now, bool count = true);
    // Stores (or replaces) the answer for `addr`; does nothing if its lifetime is 0.
    void put(const IpAddress& addr, const PtrResult& result, Clock::time_point now);
    // Seconds the cache would keep `result` (the clamping policy above).
    uint32_t lifetime(const PtrResult& result) const;

    void clear();
    PtrCacheStats stats() const;
    const PtrCacheOptions& options() const { return options_; }

  private:
    struct Impl;
    PtrCacheOptions options_;
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
