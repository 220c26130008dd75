// ip25b/ip_in_name.hpp — find IPv4 addresses written into a reverse-DNS name.
//
// Pool (dynamic) PTR names are generated from the address, so most of them
// carry it: as decimal octets with a separator (plala `i114-186-237-30`, UCOM
// `221x248x149x153`), 12 zero-padded digits (SoftBank `softbank219203027033`),
// 8 hex digits (So-net `p784a66b9` = 120.74.102.185), in reversed order (IIJ
// `231.26.30.125.dy.iij4u.or.jp`), or only the last octets (ASAHI Net
// `ad003054` for x.x.3.54). This module decodes every such candidate and says
// whether it equals the connecting address. It is evidence, never a verdict:
// hosting providers name static servers the same way, and a run of hex letters
// can spell an address by chance, so only a decode that EQUALS the client is
// strong evidence; a different decoded address is reported as weaker.
#pragma once

#include "ip25b/address.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class IpEncoding : uint8_t {
    Decimal,         // 114-186-237-30, 221x248x149x153, 1.2.3.4, 1_2_3_4
    DecimalReversed, // 231.26.30.125 for 125.30.26.231
    Padded,          // 219203027033: four 3-digit octets
    PaddedReversed,  // 033027203219 for 219.203.27.33
    Hex,             // 784a66b9: four 2-digit hex octets
    HexReversed,     // b9664a78 for 120.74.102.185
    Partial,         // the client's last two or three octets only (ASAHI Net: 003054)
};

std::string_view to_string(IpEncoding e);
// The names above as used in rule files ("decimal", "decimal-reversed", ...).
std::optional<IpEncoding> parse_ip_encoding(std::string_view text);

enum class IpEvidence : uint8_t {
    None,      // no address found in the name
    Different, // an address is encoded, but not the client's (or no client given)
    Partial,   // the client's trailing octets appear, not the whole address
    Equal,     // the client's whole address is encoded in the name
};

std::string_view to_string(IpEvidence e);

struct EmbeddedIp {
    IpEncoding encoding = IpEncoding::Decimal;
    size_t pos = 0;      // byte offset of the encoded text in the name
    size_t len = 0;      // its length
    IpAddress address;   // decoded; for Partial the missing leading octets are 0
    unsigned octets = 4; // how many octets were decoded (2 or 3 for Partial)
    bool equals_client = false;

    // "decimal-reversed 125.30.26.231 at 0..13" / "partial *.*.3.54 at 2..8".
    std::string describe() const;
};

struct IpInName {
    IpEvidence evidence = IpEvidence::None;
    // Every candidate, strongest first (equal, partial, different), then by position.
    std::vector<EmbeddedIp> found;

    // The candidate that gave `evidence`, or null when none was found.
    const EmbeddedIp* best() const { return found.empty() ? nullptr : &found.front(); }
    // One line for logs and `ip25b check`: "embedded IP equals client (hex 120.74.102.185
    // at 1..9)".
    std::string explain() const;
};

// Decodes the IPv4 candidates in `name` (any case, with or without a trailing
// dot). `client` may be null (nothing can then be "equal"); an IPv6 client
// never equals an IPv4 decode. Names longer than 255 bytes yield nothing.
//
// To keep false decodes down, a candidate is reported as "different" only
// when it stands on its own (an exactly-12-digit run, an exactly-8-hex-digit
// run, four separated decimal octets); windows inside longer runs, reversed
// orders and partial tails are reported only when they equal the client.
IpInName find_ip_in_name(std::string_view name, const IpAddress* client);

// The same verdict without the list and without allocating: the evidence of
// the strongest candidate, which is written to `best` (when not null and
// something was found). `name` must already be lower case (normalize_hostname).
IpEvidence strongest_ip_in_name(std::string_view name, const IpAddress* client, EmbeddedIp* best);

} // namespace ip25b
