// ip25b/ascii.hpp — ASCII-only case folding for host names, rule text and protocol words.
//
// DNS names, regex literals, Postfix table keywords and SMTP/milter words are
// compared case-insensitively in ASCII only (RFC 4343): std::tolower depends
// on the C locale and takes an int that must not be a negative char, so every
// place that folds case goes through these instead. Bytes outside A-Z are
// left as they are.
#pragma once

#include <string>
#include <string_view>

namespace ip25b {

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char ascii_upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool ascii_is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}

// A lower-cased copy.
std::string ascii_lower(std::string_view s);

// Lower-cases `s` in place.
void ascii_lower_in_place(std::string& s);

// Equal but for ASCII case.
bool ascii_iequals(std::string_view a, std::string_view b);

} // namespace ip25b
