// ip25b/dns_wire.hpp — a defensive reader for the DNS answers the resolver receives.
//
// c-ares 1.18 hands over the raw answer; its own PTR parser hides TTLs, SOA minimums and
// how CNAMEs chain, all of which the cache needs. An answer comes from the network, so
// every length, pointer and label is checked here: compression pointers must point
// backwards (no loops), names stay within 255 wire bytes, reserved label types and
// records running past the message are errors. Anything wrong makes the whole message
// unusable (the caller reports it as Malformed) rather than half-read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b::dns {

enum RrType : uint16_t { A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, AAAA = 28 };
enum Rcode : uint8_t {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5
};

struct Record {
    std::string owner; // see name encoding below
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::string target;             // CNAME/PTR target name
    std::array<uint8_t, 16> addr{}; // A (first 4 bytes) / AAAA
};

// Names are presentation text without the trailing dot: labels joined by '.', a '.' or
// '\' inside a label escaped with '\' (the form ares_query accepts), every other byte
// kept as received. So a name that holds anything but host-name bytes still shows it,
// and ip25b::hostname_problem rejects it.
struct Message {
    uint16_t id = 0;
    uint8_t rcode = 0;
    bool truncated = false;
    std::string qname;
    uint16_t qtype = 0;
    std::vector<Record> answers; // A, AAAA, CNAME, PTR only; other types are skipped
    // RFC 2308: min(SOA TTL, SOA MINIMUM) of an SOA in the authority section, if any.
    std::optional<uint32_t> negative_ttl;
};

// Parses a whole answer. On failure returns nullopt and, if `why` is given, sets it to
// a short reason ("compression pointer does not point backwards at offset 45").
std::optional<Message> parse_message(const uint8_t* data, size_t len, std::string* why = nullptr);

// ASCII case-insensitive equality, as DNS compares names.
bool same_name(std::string_view a, std::string_view b);

// A copy safe for a log line: bytes outside printable ASCII become \DDD; at most `max` bytes.
std::string printable(std::string_view s, size_t max = 300);

} // namespace ip25b::dns
