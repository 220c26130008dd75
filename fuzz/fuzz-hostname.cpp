// fuzz-hostname — host-name validation and normalisation (dns_name.hpp).
//
// Every PTR name and every name typed into `ip25b match` passes here first, so the
// checks must hold for any bytes: a name accepted is within the documented syntax, and
// normalising it gives a valid, lower-case name that normalises to itself.
#include "ip25b/dns_name.hpp"

#include <cstdlib>
#include <string_view>

namespace {

// The syntax dns_name.hpp promises, written out independently of the implementation.
bool follows_syntax(std::string_view n) {
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    if (n.empty() || n.size() > 253) return false;
    size_t label = 0;
    for (char c : n) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view name(reinterpret_cast<const char*>(data), size);
    const auto problem = ip25b::hostname_problem(name);
    if (problem.has_value() == follows_syntax(name)) abort();
    if (problem) {
        if (problem->empty()) abort();
        return 0;
    }
    const std::string norm = ip25b::normalize_hostname(name);
    if (ip25b::hostname_problem(norm)) abort();
    if (!norm.empty() && norm.back() == '.') abort();
    for (char c : norm)
        if (c >= 'A' && c <= 'Z') abort();
    if (ip25b::normalize_hostname(norm) != norm) abort();
    return 0;
}
