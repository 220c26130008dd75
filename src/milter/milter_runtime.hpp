// milter_runtime.hpp — the milter's complete, immutable working set.
//
// Everything a session consults — config, rules (Classifier), policy, PTR
// resolver, decision log — is bundled in one Runtime snapshot. A session
// takes the current snapshot at connect and keeps it to the end, so a reload
// (SIGUSR1) builds a whole new snapshot first and then swaps one pointer:
// sessions in flight never see half of an old and half of a new set, and a
// broken file leaves the old snapshot in place.
#pragma once

#include "ip25b/classifier.hpp"
#include "ip25b/config.hpp"
#include "ip25b/decision_log.hpp"
#include "ip25b/policy.hpp"
#include "ip25b/resolver.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ip25b::milter {

// What the command line sets on top of (or instead of) the config file.
struct Overrides {
    std::string config_file;        // empty: built-in defaults
    std::vector<std::string> dns;   // --dns: replaces dns.servers
    std::vector<std::string> rules; // --rules: replaces rules.files
    std::string socket, user, pidfile;
    bool foreground = false;
};

struct Runtime {
    Config config;
    std::shared_ptr<const Classifier> classifier;
    std::shared_ptr<const Policy> policy;
    std::shared_ptr<Resolver> resolver;
    std::shared_ptr<DecisionLog> log;
    unsigned generation = 0; // 1 for the first set, +1 per successful reload
    double load_seconds = 0; // config, rules and their lint, wall time
};

// The config file plus command-line overrides (no rules loaded, no I/O but the file).
Expected<Config> read_config(const Overrides& o);

// Logs (warn) the Postfix-table lines the loaded set skipped, as postmap does.
void log_table_warnings(const Classifier& classifier);

// Builds a complete Runtime. `previous` (may be null) lends what need not be
// rebuilt: the resolver and its cache when [dns] is unchanged, the decision
// log when its settings are unchanged (it is reopened instead, for rotation).
Expected<std::shared_ptr<const Runtime>>
build_runtime(const Overrides& o, const std::shared_ptr<const Runtime>& previous, bool stderr_copy);

// The snapshot new sessions start with.
class CurrentRuntime {
  public:
    std::shared_ptr<const Runtime> get() const {
        std::lock_guard lock(m_);
        return rt_;
    }
    void set(std::shared_ptr<const Runtime> rt) {
        std::lock_guard lock(m_);
        rt_ = std::move(rt);
    }

  private:
    mutable std::mutex m_;
    std::shared_ptr<const Runtime> rt_;
};

CurrentRuntime& current_runtime();

} // namespace ip25b::milter
