// cli_status.cpp — `ip25b status`: asks a running ip25b-milter over its control
// socket (see ip25b/control.hpp) for counters, the loaded rules, or the cache
// entry of one address.
#include "ip25b/cli.hpp"
#include "ip25b/config.hpp"
#include "ip25b/control.hpp"
#include "ip25b/install_paths.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ip25b::cli {

namespace {

// Where the milter listens for control requests: --socket, else the config's
// [milter] section (-c, or the installed default when it exists).
Expected<std::string> control_path(const std::string& socket, const std::string& config_file) {
    if (!socket.empty()) return socket;
    std::string file = config_file;
    if (file.empty() && ::access(install_paths().config_file.c_str(), R_OK) == 0)
        file = install_paths().config_file;
    if (file.empty()) return control_socket_path(MilterConfig{});
    auto c = load_config(file);
    if (!c) return c.error();
    std::string path = control_socket_path(c->milter);
    if (path.empty()) return Error{file, 0, "milter.control_socket is \"none\""};
    return path;
}

std::string text_of(const nlohmann::json& j, bool rules) {
    std::string out;
    out += fmt::format("uptime {:.0f} s; sessions {} ({} open)\n", j.value("uptime_seconds", 0.0),
                       j["sessions"].value("total", 0), j["sessions"].value("active", 0));
    const auto& rs = j["rule_set"];
    out += fmt::format("rule set {}: {} (loaded in {:.3f} s)\n", rs.value("generation", 0),
                       rs.value("summary", ""), rs.value("load_seconds", 0.0));
    out += "decisions:\n";
    for (const auto& d : j["decisions"])
        out += fmt::format("  {:>8}  {} {}{}\n", d.value("count", 0), d.value("class", ""),
                           d.value("dry_run", false) ? "would-" : "", d.value("action", ""));
    out += fmt::format("late-auth passes: {}\n", j.value("late_auth_passes", 0));
    if (j.contains("cache"))
        out += fmt::format("cache: {} entries, {} hits, {} misses\n", j["cache"].value("size", 0),
                           j["cache"].value("hits", 0), j["cache"].value("misses", 0));
    const auto& dns = j["dns"];
    uint64_t n = dns.value("lookups", 0);
    out += fmt::format("dns: {} lookups waited for, mean {:.1f} ms\n", n,
                       n ? dns.value("sum_seconds", 0.0) * 1000.0 / double(n) : 0.0);
    out += "errors:";
    for (const auto& [k, v] : j["errors"].items())
        out += fmt::format(" {}={}", k, v.get<uint64_t>());
    out += "\n";
    if (j.contains("decision_log")) {
        const auto& dl = j["decision_log"];
        out += fmt::format("decision log: {}, {} records dropped\n",
                           dl.value("writable", true) ? "writable" : "NOT WRITABLE",
                           dl.value("records_dropped", 0));
    }
    if (rules && rs.contains("file_list")) {
        out += "files:\n";
        for (const auto& f : rs["file_list"])
            out += fmt::format("  {:>6}  {}\n", f.value("rules", 0), f.value("file", ""));
    }
    return out;
}

std::string cache_text(const nlohmann::json& j) {
    if (!j.value("cached", false)) return j.value("address", "") + ": not in the cache\n";
    std::string out = fmt::format("{}: {} {} (ttl {} s)", j.value("address", ""),
                                  j.value("ptr_status", ""), j.value("ptr", ""), j.value("ttl", 0));
    out += fmt::format("; class {}", j.value("class", ""));
    if (!j.value("rule", "").empty())
        out += fmt::format(" by {}:{} {}", j.value("file", ""), j.value("line", 0),
                           j.value("rule", ""));
    return out + "\n";
}

} // namespace

void add_status_command(CLI::App& app, int& exit_code) {
    struct Options {
        bool json = false, rules = false;
        std::string cache, socket, config;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "status", "Ask a running ip25b-milter for its counters, loaded rules or one cache entry");
    cmd->add_flag("--json", o->json, "The milter's JSON answer as it is");
    cmd->add_flag("--rules", o->rules, "List the loaded rule files with their rule counts");
    cmd->add_option("--cache", o->cache, "Show what the PTR cache holds for this address");
    cmd->add_option("--socket", o->socket, "Control socket (default: from the config)");
    cmd->add_option("-c,--config", o->config,
                    "Config whose [milter] section names the control socket");
    cmd->callback([o, &exit_code] {
        auto path = control_path(o->socket, o->config);
        if (!path) {
            std::cerr << "ip25b status: " << path.error().to_string() << "\n";
            exit_code = 2;
            return;
        }
        ControlRequest req;
        if (!o->cache.empty()) {
            req.kind = ControlRequest::Kind::Cache;
            req.address = o->cache;
        } else if (o->rules) {
            req.kind = ControlRequest::Kind::Rules;
        }
        auto answer = control_query(*path, req, std::chrono::seconds(5));
        if (!answer) {
            std::cerr << "ip25b status: " << answer.error().reason
                      << " (is ip25b-milter running?)\n";
            exit_code = 1;
            return;
        }
        auto j = nlohmann::json::parse(*answer, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            std::cerr << "ip25b status: unreadable answer from " << *path << "\n";
            exit_code = 1;
            return;
        }
        if (j.contains("error")) {
            std::cerr << "ip25b status: " << j["error"].get<std::string>() << "\n";
            exit_code = 1;
            return;
        }
        if (o->json)
            std::cout << *answer;
        else
            std::cout << (req.kind == ControlRequest::Kind::Cache ? cache_text(j)
                                                                  : text_of(j, o->rules));
    });
}

} // namespace ip25b::cli
