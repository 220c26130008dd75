// milter_status.hpp — what the running milter tells `ip25b status`, Prometheus and SIGUSR2.
//
// The counters live in ip25b/metrics.hpp; this glue adds what only the
// milter knows (open sessions, the resolver and rule set in force) and
// answers control-socket requests.
#pragma once

#include "milter_runtime.hpp"

#include "ip25b/control.hpp"
#include "ip25b/metrics.hpp"

#include <string>

namespace ip25b::milter {

// Counters plus the current runtime's resolver and the live session count.
Metrics::Snapshot status_snapshot();
// Publishes a newly swapped-in runtime's rule set (files, counts, load time).
void publish_rule_set(const Runtime& rt);
// The JSON answer to one control request.
std::string answer_control(const ControlRequest& request);

} // namespace ip25b::milter
