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
#include <vector>

namespace ip25b {

enum class ClientClass : uint8_t {
    Dynamic,     // another ISP's published dynamic pool (or a generic detector the config trusts)
    SelfDynamic, // the operator's own dynamic ranges (CIDR or own rule file)
    Allowlisted, // a known real MTA or an exempted range/listener
    UnknownPtr,  // no usable PTR: none, not forward-confirmed, malformed
    None,        // nothing says dynamic
    Cloud,       // a provider-generated name of a public cloud or VM host (cloud rule files)
    Generic,     // no rule decided; the generic tier weighed the name as an end-user address
};

constexpr std::string_view to_string(ClientClass c) {
    switch (c) {
    case ClientClass::Dynamic: return "dynamic";
    case ClientClass::SelfDynamic: return "self-dynamic";
    case ClientClass::Allowlisted: return "allowlisted";
    case ClientClass::UnknownPtr: return "unknown-ptr";
    case ClientClass::None: return "none";
    case ClientClass::Cloud: return "cloud";
    case ClientClass::Generic: return "generic";
    }
    return "?";
}

// One piece of evidence the generic tier weighed (generic_detector.hpp).
struct WeighedEvidence {
    std::string token; // "dyn", "client-address", "static", "hosting-domain" ...
    std::string kind;  // "allocation", "access", "address", "static", "hosting" ...
    std::string at;    // where in the name: "0..3"
    int weight = 0;    // what it added to the score (0 for a veto)
    bool veto = false; // static evidence: the name is never generic
};

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
    // The generic tier's evidence and total, when it weighed the name (empty otherwise).
    std::vector<WeighedEvidence> weighed;
    int score = 0;
};

} // namespace ip25b
