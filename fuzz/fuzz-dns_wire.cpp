// fuzz-dns_wire — the DNS answer parser (dns_wire.hpp) on arbitrary packets.
//
// Answers come from the network; the parser must reject anything malformed without
// reading out of bounds, looping on compression pointers or returning names that break
// the documented encoding. A parsed message is re-checked here for what callers rely on.
#include "ip25b/dns_wire.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string why;
    auto m = ip25b::dns::parse_message(data, size, &why);
    if (!m) {
        if (why.empty()) abort(); // a refusal always says why
        return 0;
    }
    // Presentation names stay within what 255 wire bytes can spell (each byte \DDD at most).
    auto bounded = [](const std::string& n) { return n.size() <= 255 * 4; };
    if (!bounded(m->qname)) abort();
    for (const auto& r : m->answers) {
        if (!bounded(r.owner) || !bounded(r.target)) abort();
        (void)ip25b::dns::same_name(r.owner, m->qname);
        if (ip25b::dns::printable(r.target, 40).size() > 40) abort();
    }
    return 0;
}
