#include "ip25b/action.hpp"

namespace ip25b {

std::string_view to_string(Action a) {
    switch (a) {
    case Action::Reject:
        return "reject";
    case Action::Tempfail:
        return "tempfail";
    case Action::Tag:
        return "tag";
    case Action::LogOnly:
        return "log-only";
    case Action::Accept:
        return "accept";
    }
    return "?";
}

std::optional<Action> parse_action(std::string_view text) {
    for (Action a :
         {Action::Reject, Action::Tempfail, Action::Tag, Action::LogOnly, Action::Accept})
        if (text == to_string(a)) return a;
    return std::nullopt;
}

} // namespace ip25b
