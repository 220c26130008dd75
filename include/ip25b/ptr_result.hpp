// ip25b/ptr_result.hpp — what the DNS said about a client's reverse name.
//
// The resolver produces it, the classifier and the decision log consume it.
// It keeps "no PTR" and "DNS failed" apart, which the MTA's own macros do not
// ({client_name} is "unknown" for both).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class PtrStatus : uint8_t {
    Confirmed,   // a PTR name whose A/AAAA set contains the client address
    Unconfirmed, // PTR names exist, none forward-confirms
    NoPtr,       // NXDOMAIN or NODATA for the reverse name
    TempFail,    // timeout, SERVFAIL, REFUSED, no server reachable
    Malformed,   // an answer we refuse to use (bad bytes, over-long labels, loops, garbage)
};

// Only NXDOMAIN/NODATA says "this address has no name". A garbled, truncated,
// looping or inconsistent answer says nothing about the client: like a timeout
// it is a DNS failure, cached briefly and answered by the `dns_failure` policy,
// never evidence for a permanent refusal (Postfix, too, retries on a malformed
// reply).
constexpr bool is_dns_failure(PtrStatus s) {
    return s == PtrStatus::TempFail || s == PtrStatus::Malformed;
}

constexpr std::string_view to_string(PtrStatus s) {
    switch (s) {
    case PtrStatus::Confirmed: return "confirmed";
    case PtrStatus::Unconfirmed: return "unconfirmed";
    case PtrStatus::NoPtr: return "no-ptr";
    case PtrStatus::TempFail: return "tempfail";
    case PtrStatus::Malformed: return "malformed";
    }
    return "?";
}

struct PtrResult {
    PtrStatus status = PtrStatus::TempFail;
    std::string name;               // the confirmed name, else the first PTR name, else empty
    std::vector<std::string> names; // every PTR name received (lower-cased, validated)
    uint32_t ttl = 0;               // seconds the answer may be cached (before clamping)
    std::chrono::microseconds elapsed{0}; // wall time of the lookup (0 for cache hits)
    bool from_cache = false;
    std::string detail;             // for logs: "SERVFAIL", "timeout after 2000 ms", ...
};

} // namespace ip25b
