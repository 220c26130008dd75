// dns_name.cpp — host-name checks; see dns_name.hpp for the accepted syntax.
#include "ip25b/dns_name.hpp"

#include <array>
#include <cstdio>

namespace ip25b {

// '_' is not legal in host names but is common in real PTR data; it is
// harmless for matching and logging, so it is accepted. A table, because this
// runs on every name `ip25b match` reads and every PTR the resolver returns.
static constexpr auto kHostChar = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    t['-'] = t['_'] = true;
    return t;
}();

static bool host_char(unsigned char c) { return kHostChar[c]; }

std::optional<std::string> hostname_problem(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return "empty name";
    if (name.size() > 253) return "name over 253 bytes (" + std::to_string(name.size()) + ")";
    size_t label = 0;
    for (size_t i = 0; i < name.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (c == '.') {
            if (label == 0) return "empty label at byte " + std::to_string(i);
            label = 0;
            continue;
        }
        if (!host_char(c)) {
            char hex[8];
            snprintf(hex, sizeof hex, "0x%02x", c);
            return std::string("byte ") + hex + " at offset " + std::to_string(i) +
                   " is not a host-name character";
        }
        if (++label > 63) return "label over 63 bytes at byte " + std::to_string(i);
    }
    return std::nullopt;
}

std::string normalize_hostname(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

} // namespace ip25b
