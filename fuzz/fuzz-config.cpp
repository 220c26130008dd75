// fuzz-config — the operator's configuration reader (config.hpp) on arbitrary text.
//
// The config is read at start and on every reload; whatever it holds, parse_config must
// answer a Config or a file:line error, never throw or crash (an exception escaping the
// reload would end the daemon).
#include "ip25b/config.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto c = ip25b::parse_config(text, "fuzz.conf", "/etc/ip25b");
    if (!c) {
        if (c.error().file != "fuzz.conf" || c.error().reason.empty()) abort();
        return 0;
    }
    (void)ip25b::resolver_options(c->dns);
    return 0;
}
