// ip25b/verdict.hpp — the explained classification of one SMTP client.
//
// The classifier produces it from (address, PTR result, rule sets); the
// policy maps its class to an action; the CLI prints it; the decision log
// records it. Every verdict names what decided it: file, line, rule, ISP.
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/ptr_result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ip25b {

enum class ClientClass : uint8_t {
    Dynamic,     // another ISP's published dynamic pool (or a generic detector the config trusts)
    SelfDynamic, // the operator's own dynamic ranges (CIDR or own rule file)
    Allowlisted, // a known real MTA or an exempted range/listener
    UnknownPtr,  // no usable PTR: none, not forward-confirmed, malformed
    None,        // nothing says dynamic
};

constexpr std::string_view to_string(ClientClass c) {
    switch (c) {
    case ClientClass::Dynamic: return "dynamic";
    case ClientClass::SelfDynamic: return "self-dynamic";
    case ClientClass::Allowlisted: return "allowlisted";
    case ClientClass::UnknownPtr: return "unknown-ptr";
    case ClientClass::None: return "none";
    }
    return "?";
}

struct Verdict {
    ClientClass cls = ClientClass::None;
    std::string isp;      // ISP named by the deciding rule file, if any
    std::string feed;     // subscribed feed of the deciding rule ("" for local files)
    std::string rule;     // rule id, or "line N" for Postfix tables
    std::string file;     // file of the deciding rule or range
    unsigned line = 0;    // line in that file
    std::string result;   // the table's right-hand side for Postfix tables
    std::string evidence; // human-readable: "ptr matches /.../", "embedded IP equals client", ...
    bool temporary = false; // decided by a DNS temporary failure (never a permanent reject)
};

} // namespace ip25b
