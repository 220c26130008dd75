// address.cpp — parsing, formatting and prefix tests for IpAddress/Cidr.
#include "ip25b/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace ip25b {

IpAddress IpAddress::v4(uint32_t host_order) {
    IpAddress a;
    a.family_ = Family::V4;
    a.bytes_[0] = uint8_t(host_order >> 24);
    a.bytes_[1] = uint8_t(host_order >> 16);
    a.bytes_[2] = uint8_t(host_order >> 8);
    a.bytes_[3] = uint8_t(host_order);
    return a;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& bytes) {
    static constexpr uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes.data(), mapped_prefix, 12) == 0)
        return v4(uint32_t(bytes[12]) << 24 | uint32_t(bytes[13]) << 16 | uint32_t(bytes[14]) << 8 |
                  bytes[15]);
    IpAddress a;
    a.family_ = Family::V6;
    a.bytes_ = bytes;
    return a;
}

uint32_t IpAddress::v4_host_order() const {
    return uint32_t(bytes_[0]) << 24 | uint32_t(bytes_[1]) << 16 | uint32_t(bytes_[2]) << 8 |
           bytes_[3];
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.size() >= 5 && (text.substr(0, 5) == "IPv6:" || text.substr(0, 5) == "ipv6:"))
        text.remove_prefix(5);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN + 1];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) return v4(ntohl(a4.s_addr));
    in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        std::array<uint8_t, 16> b;
        std::memcpy(b.data(), a6.s6_addr, 16);
        return v6(b);
    }
    return std::nullopt;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa) {
    if (sa == nullptr) return std::nullopt;
    if (sa->sa_family == AF_INET) {
        sockaddr_in sin;
        std::memcpy(&sin, sa, sizeof sin);
        return v4(ntohl(sin.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, sa, sizeof sin6);
        std::array<uint8_t, 16> b;
        std::memcpy(b.data(), sin6.sin6_addr.s6_addr, 16);
        return v6(b);
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4()) {
        in_addr a4;
        a4.s_addr = htonl(v4_host_order());
        inet_ntop(AF_INET, &a4, buf, sizeof buf);
    } else {
        in6_addr a6;
        std::memcpy(a6.s6_addr, bytes_.data(), 16);
        inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
    return buf;
}

std::string IpAddress::reverse_name() const {
    std::string out;
    if (is_v4()) {
        for (int i = 3; i >= 0; --i)
            out += std::to_string(bytes_[i]) + ".";
        return out + "in-addr.arpa";
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        out += hex[bytes_[i] & 0xf];
        out += '.';
        out += hex[bytes_[i] >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

Cidr::Cidr(IpAddress network, unsigned prefix_len) : network_(network), prefix_len_(prefix_len) {}

static bool prefix_equal(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b,
                         unsigned bits) {
    unsigned full = bits / 8, rest = bits % 8;
    if (std::memcmp(a.data(), b.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<Cidr> {
        if (error) *error = why;
        return std::nullopt;
    };
    auto slash = text.find('/');
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return fail("not an IP address: '" + std::string(text.substr(0, slash)) + "'");
    unsigned len = addr->bit_width();
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
            len > addr->bit_width())
            return fail("bad prefix length '" + std::string(digits) + "'");
    }
    Cidr c(*addr, len);
    // Host bits must be clear: compare against the address with them masked off.
    std::array<uint8_t, 16> masked = addr->bytes();
    for (unsigned bit = len; bit < addr->bit_width(); ++bit)
        masked[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
    if (masked != addr->bytes())
        return fail("host bits set in '" + std::string(text) + "' (did you mean " +
                    (addr->is_v4()
                         ? IpAddress::v4(uint32_t(masked[0]) << 24 | uint32_t(masked[1]) << 16 |
                                         uint32_t(masked[2]) << 8 | masked[3])
                         : IpAddress::v6(masked))
                        .to_string() +
                    "/" + std::to_string(len) + "?)");
    return c;
}

bool Cidr::contains(const IpAddress& addr) const {
    return addr.family() == network_.family() &&
           prefix_equal(addr.bytes(), network_.bytes(), prefix_len_);
}

std::string Cidr::to_string() const {
    return network_.to_string() + "/" + std::to_string(prefix_len_);
}

} // namespace ip25b
