// ip25b/action.hpp — what a session gets: reject, tempfail, tag, log-only, accept.
//
// The action is chosen by the policy, carried in the decision record, counted
// by the metrics and read back by the report; it travels as this enum
// everywhere and becomes text only at those edges (config, JSON, syslog), so
// no two places can disagree on what "refused" means.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ip25b {

enum class Action : uint8_t { Reject, Tempfail, Tag, LogOnly, Accept };

std::string_view to_string(Action a);                      // "reject", "log-only", ...
std::optional<Action> parse_action(std::string_view text); // the inverse; nullopt if unknown

// Reject and tempfail answer the client with an SMTP error; the others let it on.
constexpr bool is_refusal(Action a) {
    return a == Action::Reject || a == Action::Tempfail;
}

} // namespace ip25b
