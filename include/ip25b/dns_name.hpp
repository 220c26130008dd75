// ip25b/dns_name.hpp — validation and normalisation of host names at the edge.
//
// A PTR name comes from the network (CVE-2021-3672: c-ares once passed raw
// bytes through) and a name typed into `ip25b match` comes from anywhere, so
// before a name reaches the matcher or a log it is checked here once: ASCII
// letters, digits, '-', '_' and '.', labels 1..63 bytes, total <= 253 bytes
// (255 on the wire), and folded to lower case.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ip25b {

// nullopt when the name is valid; otherwise why it is not ("label over 63 bytes").
// A single trailing dot (absolute name) is accepted.
std::optional<std::string> hostname_problem(std::string_view name);

// Lower-cased copy without a trailing dot; only meaningful for valid names.
std::string normalize_hostname(std::string_view name);

} // namespace ip25b
