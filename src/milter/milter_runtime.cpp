// milter_runtime.cpp — building and swapping the milter's working set.
#include "milter_runtime.hpp"

#include "ip25b/lint.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>

#include <exception>
#include <new>

namespace ip25b::milter {

namespace {

bool same_dns(const DnsConfig& a, const DnsConfig& b) {
    return a.servers == b.servers && a.timeout == b.timeout && a.tries == b.tries &&
           a.deadline == b.deadline && a.cache_size == b.cache_size &&
           a.cache_min_ttl == b.cache_min_ttl && a.cache_max_ttl == b.cache_max_ttl &&
           a.negative_ttl == b.negative_ttl && a.tempfail_ttl == b.tempfail_ttl;
}

} // namespace

CurrentRuntime& current_runtime() {
    static CurrentRuntime rt;
    return rt;
}

Expected<Config> read_config(const Overrides& o) {
    Expected<Config> c =
        o.config_file.empty() ? parse_config("", "(defaults)", "") : load_config(o.config_file);
    if (!c) return c;
    for (const auto& s : o.dns)
        if (!valid_dns_server(s))
            return Error{"", 0, "--dns " + s + ": not IP, IP:PORT or [IPv6]:PORT"};
    if (!o.dns.empty()) c->dns.servers = o.dns;
    if (!o.rules.empty()) c->rules.rules = o.rules;
    if (!o.socket.empty()) c->milter.socket = o.socket;
    if (!o.user.empty()) c->milter.user = o.user;
    if (!o.pidfile.empty()) c->milter.pidfile = o.pidfile;
    return c;
}

void log_table_warnings(const Classifier& classifier) {
    // Postfix logs each skipped table line when it opens the table; so does the
    // daemon, at every load, bounded so a hostile table cannot flood the log.
    constexpr size_t kShown = 20;
    const auto& warnings = classifier.warnings();
    for (size_t i = 0; i < warnings.size() && i < kShown; ++i)
        spdlog::warn("{} (line skipped)", warnings[i].to_string());
    if (warnings.size() > kShown)
        spdlog::warn("... and {} more skipped table lines; `ip25b lint` lists them all",
                     warnings.size() - kShown);
}

namespace {

Expected<std::shared_ptr<const Runtime>>
assemble_runtime(const Overrides& o, const std::shared_ptr<const Runtime>& previous,
                 bool stderr_copy) {
    const auto started = std::chrono::steady_clock::now();
    auto config = read_config(o);
    if (!config) return config.error();
    // When the last session of a replaced set ends, its rules go back to the
    // system: without malloc_trim, glibc keeps the freed heap (a 100k-rule set
    // is ~140 MB) mapped for good, the new set being allocated above it.
    std::shared_ptr<Runtime> rt(new Runtime, [](Runtime* r) {
        delete r;
        malloc_trim(0);
    });
    rt->config = std::move(config).value();

    // What runs is what `ip25b lint` passes: a rule whose own examples fail
    // or that hits the PCRE2 limits would be silently dead in the milter.
    LintReport lint;
    auto classifier = Classifier::load(rt->config.rules, &lint);
    if (!classifier) return classifier.error();
    rt->classifier = classifier.value();
    log_table_warnings(*rt->classifier);
    rt->policy = std::make_shared<const Policy>(rt->config.policy);

    if (previous && same_dns(previous->config.dns, rt->config.dns)) {
        rt->resolver = previous->resolver; // keeps its cache warm across reloads
    } else {
        auto resolver = Resolver::create(resolver_options(rt->config.dns));
        if (!resolver) return resolver.error();
        rt->resolver = std::shared_ptr<Resolver>(std::move(resolver).value());
    }

    DecisionLogConfig lc;
    lc.json_file = rt->config.log.json_file;
    lc.syslog = rt->config.log.syslog;
    lc.stderr_copy = stderr_copy;
    if (previous && previous->log && previous->log->config().json_file == lc.json_file &&
        previous->log->config().syslog == lc.syslog &&
        previous->log->config().stderr_copy == lc.stderr_copy) {
        // Same file: reopen it (log rotation) rather than open it again, which
        // could fail after the privilege drop. A failed reopen keeps the old file.
        rt->log = previous->log;
        if (auto err = rt->log->reopen()) spdlog::warn("{}", err->to_string());
    } else {
        auto log = DecisionLog::open(lc);
        if (!log) return log.error();
        rt->log = log.value();
    }
    rt->generation = previous ? previous->generation + 1 : 1;
    rt->load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::shared_ptr<const Runtime>(std::move(rt));
}

} // namespace

Expected<std::shared_ptr<const Runtime>>
build_runtime(const Overrides& o, const std::shared_ptr<const Runtime>& previous,
              bool stderr_copy) {
    // The reload boundary: whatever a load throws (std::bad_alloc from a huge rule set,
    // an exception from a library) becomes an error, so the caller keeps the old set
    // instead of the exception ending the daemon.
    try {
        return assemble_runtime(o, previous, stderr_copy);
    } catch (const std::bad_alloc&) {
        return Error{o.config_file, 0, "out of memory while loading the configuration and rules"};
    } catch (const std::exception& e) {
        return Error{o.config_file, 0, std::string("loading failed: ") + e.what()};
    }
}

} // namespace ip25b::milter
