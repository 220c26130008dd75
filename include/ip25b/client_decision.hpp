// ip25b/client_decision.hpp — one client's decision: from what the MTA says to the record.
//
// The milter reaches its decision step by step as libmilter's callbacks come
// in; `ip25b check` asks for the same decision in one call. Both go through
// this module so they cannot drift apart:
// - classify_client() is the one classification step of a session: the
//   operator's own ranges decide by address alone (no DNS), anything else is
//   looked up (only then) and judged by its name;
// - decide_client() plays one SMTP session (connect, HELO, MAIL, RCPT) through
//   the policy's Session with the facts given, and returns the class, action,
//   reply and record the milter would reach for the same facts.
// Exempt and authenticated clients are never classified, so never looked up.
#pragma once

#include "ip25b/classifier.hpp"
#include "ip25b/decision_log.hpp"
#include "ip25b/policy.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ip25b {

// The PTR lookup of the client, called at most once and only when needed.
using PtrLookupFn = std::function<PtrResult()>;

// by_address: classifier.classify_address(client), taken at connect so the
// milter knows before any lookup whether it needs one.
Classified classify_client(const Classifier& classifier, const std::optional<IpAddress>& client,
                           const std::optional<Verdict>& by_address, const PtrLookupFn& lookup);

// What an MTA tells the milter about one SMTP session: the connect macros and
// the commands with their macros.
struct ClientFacts {
    ConnectInfo connect;
    std::string helo;
    std::string sender;
    std::optional<std::string> auth; // {auth_authen}; nullopt: not authenticated
    std::vector<std::string> recipients;
    std::string queue_id;
};

struct ClientDecision {
    bool decided = false;
    std::optional<Classified> classified; // when the session needed a classification
    Stage stage = Stage::Connect;         // the step that answered (or the last one played)
    StepResult reply;                     // what the MTA was told there (Continue: passed)
    DecisionRecord record;                // what the milter writes for this session
};

ClientDecision decide_client(std::shared_ptr<const Policy> policy, const Classifier& classifier,
                             const ClientFacts& facts, const PtrLookupFn& lookup,
                             std::string session_id);

} // namespace ip25b
