// ptr_cache.cpp — bounded, TTL-honouring cache of PTR results; see ptr_cache.hpp.
#include "ip25b/ptr_cache.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ip25b {

namespace {

struct AddrHash {
    size_t operator()(const IpAddress& a) const noexcept {
        uint64_t x, y;
        std::memcpy(&x, a.bytes().data(), 8);
        std::memcpy(&y, a.bytes().data() + 8, 8);
        uint64_t h = x * 0x9E3779B97F4A7C15ULL ^ (y + uint64_t(a.is_v4())) * 0xC2B2AE3D27D4EB4FULL;
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9ULL;
        return size_t(h ^ (h >> 29));
    }
};

constexpr uint8_t kNone = 0xFF;

// 64 bytes: what the milter keeps per address. The names and the detail share one
// string: "detail\0name1\0name2..." (names are validated host names, no NUL inside).
struct Entry {
    IpAddress key;
    PtrStatus status = PtrStatus::TempFail;
    uint8_t chosen = kNone; // index of `name` within the names, kNone if empty
    bool referenced = false;
    int64_t expires_ms = 0; // steady clock, milliseconds since its epoch
    std::string blob;
};

int64_t to_ms(PtrCache::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

} // namespace

struct PtrCache::Impl {
    mutable std::mutex mu;
    std::vector<Entry> slots;
    std::vector<uint32_t> free_slots;
    std::unordered_map<IpAddress, uint32_t, AddrHash> index;
    size_t hand = 0;
    PtrCacheStats st;

    void release(uint32_t slot) {
        index.erase(slots[slot].key);
        std::string().swap(slots[slot].blob);
        free_slots.push_back(slot);
    }

    // A slot for a new entry: a free one, a new one while under the bound, else CLOCK.
    uint32_t take_slot(size_t max_entries, int64_t now_ms) {
        if (!free_slots.empty()) {
            uint32_t s = free_slots.back();
            free_slots.pop_back();
            return s;
        }
        if (slots.size() < max_entries) {
            slots.emplace_back();
            return uint32_t(slots.size() - 1);
        }
        // Every slot is in use. Two sweeps at most: the first clears reference bits.
        for (size_t step = 0; step < 2 * slots.size() + 1; ++step) {
            Entry& e = slots[hand];
            uint32_t s = uint32_t(hand);
            hand = (hand + 1) % slots.size();
            if (e.expires_ms <= now_ms || !e.referenced) {
                index.erase(e.key);
                ++st.evictions;
                return s;
            }
            e.referenced = false;
        }
        uint32_t s = uint32_t(hand); // unreachable: the second sweep finds a cleared bit
        index.erase(slots[s].key);
        ++st.evictions;
        return s;
    }
};

PtrCache::PtrCache(PtrCacheOptions options) : options_(options), impl_(std::make_unique<Impl>()) {
    if (options_.max_ttl < options_.min_ttl) options_.max_ttl = options_.min_ttl;
}

PtrCache::~PtrCache() = default;

uint32_t PtrCache::lifetime(const PtrResult& r) const {
    if (is_dns_failure(r.status)) return options_.tempfail_ttl;
    return std::clamp(r.ttl, options_.min_ttl, options_.max_ttl);
}

std::optional<PtrResult> PtrCache::get(const IpAddress& addr, Clock::time_point now, bool count) {
    int64_t now_ms = to_ms(now);
    std::lock_guard lock(impl_->mu);
    auto it = impl_->index.find(addr);
    if (it == impl_->index.end()) {
        if (count) ++impl_->st.misses;
        return std::nullopt;
    }
    Entry& e = impl_->slots[it->second];
    if (e.expires_ms <= now_ms) {
        if (count) ++impl_->st.misses;
        ++impl_->st.expired;
        impl_->release(it->second);
        return std::nullopt;
    }
    e.referenced = true;
    if (count) ++impl_->st.hits;
    PtrResult r;
    r.status = e.status;
    r.from_cache = true;
    r.ttl = uint32_t((e.expires_ms - now_ms + 999) / 1000);
    const std::string& b = e.blob;
    size_t nul = b.find('\0');
    r.detail.assign(b, 0, nul);
    while (nul != std::string::npos) {
        size_t start = nul + 1;
        nul = b.find('\0', start);
        r.names.emplace_back(b, start, nul == std::string::npos ? std::string::npos : nul - start);
    }
    if (e.chosen != kNone && e.chosen < r.names.size()) r.name = r.names[e.chosen];
    return r;
}

void PtrCache::put(const IpAddress& addr, const PtrResult& result, Clock::time_point now) {
    uint32_t life = lifetime(result);
    if (life == 0 || options_.max_entries == 0) return;
    int64_t now_ms = to_ms(now);

    // Build outside the lock: the only allocation of an insert.
    std::string blob = result.detail;
    blob.erase(std::find(blob.begin(), blob.end(), '\0'), blob.end());
    uint8_t chosen = kNone;
    size_t kept = 0;
    for (const auto& n : result.names) {
        if (kept == kNone || n.find('\0') != std::string::npos) continue;
        if (chosen == kNone && n == result.name) chosen = uint8_t(kept);
        blob += '\0';
        blob += n;
        ++kept;
    }
    if (chosen == kNone && !result.name.empty() && kept < kNone &&
        result.name.find('\0') == std::string::npos) {
        chosen = uint8_t(kept); // a name that is not among `names`: keep it anyway
        blob += '\0';
        blob += result.name;
    }
    blob.shrink_to_fit();

    std::lock_guard lock(impl_->mu);
    uint32_t slot;
    auto it = impl_->index.find(addr);
    if (it != impl_->index.end()) {
        slot = it->second;
    } else {
        slot = impl_->take_slot(options_.max_entries, now_ms);
        impl_->index.emplace(addr, slot);
    }
    Entry& e = impl_->slots[slot];
    e.key = addr;
    e.status = result.status;
    e.chosen = chosen;
    e.referenced = false;
    e.expires_ms = now_ms + int64_t(life) * 1000;
    e.blob = std::move(blob);
    ++impl_->st.inserts;
}

void PtrCache::clear() {
    std::lock_guard lock(impl_->mu);
    impl_->slots.clear();
    impl_->free_slots.clear();
    impl_->index.clear();
    impl_->hand = 0;
}

PtrCacheStats PtrCache::stats() const {
    std::lock_guard lock(impl_->mu);
    PtrCacheStats s = impl_->st;
    s.entries = impl_->index.size();
    return s;
}

} // namespace ip25b
