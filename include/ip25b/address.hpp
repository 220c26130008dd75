// ip25b/address.hpp — IPv4/IPv6 addresses and CIDR prefixes.
//
// Every module that talks about a client (rule scopes, exemptions, the
// operator's own ranges, the resolver's cache key, the IP-in-name detector)
// uses these types, so an address is parsed and validated once, at the edge,
// and compared as bytes afterwards. IPv4-mapped IPv6 (::ffff:a.b.c.d) is
// folded to IPv4 on parse, because MTAs hand it to milters either way.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace ip25b {

class IpAddress {
  public:
    enum class Family : uint8_t { V4, V6 };

    IpAddress() = default;
    static IpAddress v4(uint32_t host_order);
    static IpAddress v6(const std::array<uint8_t, 16>& bytes);

    // Accepts dotted-quad IPv4 and RFC 4291 IPv6 text, with an optional
    // "IPv6:" prefix (Postfix's {client_addr}) and optional [brackets].
    static std::optional<IpAddress> parse(std::string_view text);
    // From a socket address as libmilter passes it; nullopt for other families.
    static std::optional<IpAddress> from_sockaddr(const sockaddr* sa);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::V4; }
    uint32_t v4_host_order() const; // only for IPv4
    const std::array<uint8_t, 16>& bytes() const { return bytes_; } // IPv4: first 4 bytes
    unsigned bit_width() const { return is_v4() ? 32 : 128; }

    std::string to_string() const;
    // The name whose PTR record holds this address's reverse name
    // (d.c.b.a.in-addr.arpa or the 32-nibble ip6.arpa form).
    std::string reverse_name() const;

    auto operator<=>(const IpAddress&) const = default;

  private:
    Family family_ = Family::V4;
    std::array<uint8_t, 16> bytes_{};
};

class Cidr {
  public:
    Cidr() = default;
    Cidr(IpAddress network, unsigned prefix_len);
    // "a.b.c.d/n", "x::/n", or a bare address (host prefix). Host bits set
    // below the prefix are an error, because they usually mean a typo.
    static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);

    bool contains(const IpAddress& addr) const;
    const IpAddress& network() const { return network_; }
    unsigned prefix_len() const { return prefix_len_; }
    std::string to_string() const;

    auto operator<=>(const Cidr&) const = default;

  private:
    IpAddress network_;
    unsigned prefix_len_ = 0;
};

} // namespace ip25b
