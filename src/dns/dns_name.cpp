// dns_name.cpp — host-name checks; see dns_name.hpp for the accepted syntax.
#include "ip25b/dns_name.hpp"

#include "ip25b/ascii.hpp"

#include <array>
#include <cstdint>
#include <cstdio>

namespace ip25b {

// Byte classes: 0 not allowed, 1 allowed inside a label, 2 the label dot.
// '_' is not legal in host names but is common in real PTR data; it is
// harmless for matching and logging, so it is accepted. A table, because this
// runs on every name `ip25b match` reads and every PTR the resolver returns.
static constexpr auto kByteClass = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c)
        t[c] = t[c - 'a' + 'A'] = 1;
    for (int c = '0'; c <= '9'; ++c)
        t[c] = 1;
    t['-'] = t['_'] = 1;
    t['.'] = 2;
    return t;
}();

static std::string label_problem(size_t start, size_t end) {
    if (start == end) return "empty label at byte " + std::to_string(end);
    return "label over 63 bytes at byte " + std::to_string(start + 63);
}

std::optional<std::string> hostname_problem(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return "empty name";
    if (name.size() > 253) return "name over 253 bytes (" + std::to_string(name.size()) + ")";
    size_t label_start = 0;
    for (size_t i = 0; i < name.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        const uint8_t cls = kByteClass[c];
        if (cls == 1) continue;
        if (cls == 0) {
            char hex[8];
            snprintf(hex, sizeof hex, "0x%02x", c);
            return std::string("byte ") + hex + " at offset " + std::to_string(i) +
                   " is not a host-name character";
        }
        if (i == label_start || i - label_start > 63) return label_problem(label_start, i);
        label_start = i + 1;
    }
    // "a.jp.." arrives here as "a.jp.": the dot that ends it leaves an empty last label.
    if (label_start == name.size() || name.size() - label_start > 63)
        return label_problem(label_start, name.size());
    return std::nullopt;
}

std::string normalize_hostname(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return ascii_lower(name);
}

} // namespace ip25b
