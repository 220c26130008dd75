// ascii.cpp — ASCII case folding over strings.
#include "ip25b/ascii.hpp"

namespace ip25b {

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    ascii_lower_in_place(out);
    return out;
}

void ascii_lower_in_place(std::string& s) {
    for (char& c : s)
        c = ascii_lower(c);
}

bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

} // namespace ip25b
