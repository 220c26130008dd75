// fuzz-ip_in_name — the IP-in-name decoder (ip_in_name.hpp) on arbitrary names.
//
// Input: 1 byte selects the client (none, IPv4 from the next 4 bytes, IPv6 from the
// next 16), the rest is the name. Every candidate must lie inside the name, the
// evidence must agree with the candidates, and explain()/describe() must not fail.
#include "ip25b/ip_in_name.hpp"

#include <array>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0] % 3;
    ++data, --size;
    std::optional<ip25b::IpAddress> client;
    if (mode == 1 && size >= 4) {
        client = ip25b::IpAddress::v4(uint32_t(data[0]) << 24 | uint32_t(data[1]) << 16 |
                                      uint32_t(data[2]) << 8 | data[3]);
        data += 4, size -= 4;
    } else if (mode == 2 && size >= 16) {
        std::array<uint8_t, 16> b{};
        std::memcpy(b.data(), data, 16);
        client = ip25b::IpAddress::v6(b);
        data += 16, size -= 16;
    }
    const std::string_view name(reinterpret_cast<const char*>(data), size);
    const ip25b::IpInName r = ip25b::find_ip_in_name(name, client ? &*client : nullptr);
    if (r.found.empty() != (r.evidence == ip25b::IpEvidence::None)) abort();
    for (const auto& e : r.found) {
        if (e.pos > name.size() || e.len > name.size() - e.pos || e.len == 0) abort();
        if (e.equals_client && !client) abort();
        (void)e.describe();
    }
    if (r.evidence == ip25b::IpEvidence::Equal && !r.best()->equals_client) abort();
    (void)r.explain();
    return 0;
}
