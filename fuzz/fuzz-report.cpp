// fuzz-report — the report's decision-log reader (report.hpp) on arbitrary logs.
//
// `ip25b report` reads logs that may be torn, rotated mid-line or written by another
// version; any bytes must give a report, and both renderings (text and JSON, which
// carry names from the network) must come out and the JSON must parse back.
#include "ip25b/report.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    const ip25b::Report r = ip25b::build_report({&in});
    (void)ip25b::report_text(r, 5);
    // accept(): validates like parse() without building a DOM only to drop it.
    if (!nlohmann::json::accept(ip25b::report_json(r))) abort();
    return 0;
}
