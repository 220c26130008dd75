// cli_check.cpp — `ip25b check`: the milter's verdict for one client, explained.
//
// Runs the same pipeline as a milter session — exemptions, PTR (given with
// --ptr, or resolved and forward-confirmed through --dns / the config's
// servers), classification, policy action and reply — and prints every step's
// evidence, so an operator or postmaster can ask "why was this client refused"
// and "what would happen if". Without --config and --rules it uses the shipped
// allowlist, ISP and cloud rules, the hosting domains and the generic tier (as
// the shipped contrib/ip25b.conf) with the default policy.
#include "ip25b/classifier.hpp"
#include "ip25b/cli.hpp"
#include "ip25b/config.hpp"
#include "ip25b/policy.hpp"
#include "ip25b/resolver.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

namespace ip25b::cli {

namespace {

struct CheckOptions {
    std::string ip;
    std::string ptr;
    std::string config;
    std::vector<std::string> rules;
    std::vector<std::string> dns;
    bool json = false;
};

std::string_view fcrdns_word(const PtrResult& p, bool given) {
    if (given) return "assumed";
    switch (p.status) {
    case PtrStatus::Confirmed:
        return "pass";
    case PtrStatus::Unconfirmed:
        return "fail";
    default:
        return "none";
    }
}

int run_check(const CheckOptions& o) {
    auto fail = [](const std::string& why) {
        std::cerr << "ip25b check: " << why << "\n";
        return 2;
    };
    auto client = IpAddress::parse(o.ip);
    if (!client) return fail("not an IP address: " + o.ip);

    auto config = o.config.empty() ? parse_config("", "(defaults)", "") : load_config(o.config);
    if (!config) return fail(config.error().to_string());
    if (!o.rules.empty()) config->rules.rules = o.rules;
    if (o.config.empty() && o.rules.empty()) {
        config->rules.rules = {std::string(IP25B_RULES_DIR) + "/allowlist",
                               std::string(IP25B_RULES_DIR) + "/isp",
                               std::string(IP25B_RULES_DIR) + "/cloud"};
        config->rules.generic = true;
        config->rules.hosting_domains = {std::string(IP25B_RULES_DIR) + "/hosting/domains.txt"};
    }
    for (const auto& d : o.dns)
        if (!valid_dns_server(d)) return fail("--dns " + d + ": expected HOST[:PORT] or [V6]:PORT");
    if (!o.dns.empty()) config->dns.servers = o.dns;

    auto classifier = Classifier::load(config->rules);
    if (!classifier) return fail(classifier.error().to_string());
    Policy policy(config->policy);

    Classified c;
    std::string exempt;
    ConnectInfo info;
    info.client = client;
    if (auto why = policy.exemption(info)) exempt = *why;

    const bool given = !o.ptr.empty();
    if (given) {
        c.ptr.status = PtrStatus::Confirmed;
        c.ptr.name = o.ptr;
        c.ptr.names = {o.ptr};
        c.ptr.detail = "given with --ptr";
    } else {
        auto resolver = Resolver::create(resolver_options(config->dns));
        if (!resolver) return fail(resolver.error().to_string());
        c.ptr = (*resolver)->lookup(*client);
        c.looked_up = true;
    }
    c.verdict = (*classifier)->classify(*client, c.ptr);
    if (!exempt.empty()) {
        // The milter never judges an exempt client; show what it would have been.
        c.verdict.evidence = "exempt (" + exempt +
                             "); without the exemption: " + std::string(to_string(c.verdict.cls)) +
                             ", " + c.verdict.evidence;
        c.verdict.cls = ClientClass::Allowlisted;
    }
    std::string why;
    Action action = exempt.empty() ? policy.action_for(c, &why) : Action::Accept;
    if (!exempt.empty()) why = "exempt: " + exempt;
    std::string reply;
    if (action == Action::Reject || action == Action::Tempfail) {
        auto r = policy.reply_for(action, c, &*client);
        reply = r.rcode + " " + r.xcode + " " + r.plain_text;
    }
    const Verdict& v = c.verdict;
    const double dns_ms = double(c.ptr.elapsed.count()) / 1000.0;

    if (o.json) {
        nlohmann::json j = {
            {"ip", client->to_string()},
            {"ptr", c.ptr.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.ptr.name)},
            {"ptr_status", to_string(c.ptr.status)},
            {"class", to_string(v.cls)},
            {"isp", v.isp.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.isp)},
            {"rule", v.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.rule)},
            {"source", v.file.empty() ? nlohmann::json(nullptr)
                                      : nlohmann::json{{"file", v.file}, {"line", v.line}}},
            {"action", to_string(action)},
            {"action_reason", why},
            {"evidence", v.evidence},
            {"fcrdns", fcrdns_word(c.ptr, given)},
        };
        if (!reply.empty()) j["reply"] = reply;
        if (!v.weighed.empty() || v.cls == ClientClass::Generic) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& e : v.weighed)
                list.push_back({{"token", e.token},
                                {"kind", e.kind},
                                {"at", e.at},
                                {"weight", e.weight},
                                {"veto", e.veto}});
            j["generic"] = {{"evidence", list}, {"score", v.score}};
        }
        if (!v.result.empty()) j["result"] = v.result;
        if (c.looked_up) {
            j["dns_ms"] = dns_ms;
            j["ptr_names"] = c.ptr.names;
            if (!c.ptr.detail.empty()) j["dns_detail"] = c.ptr.detail;
            j["from_cache"] = c.ptr.from_cache;
        }
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::cout << fmt::format("ip:       {}\n", client->to_string());
    std::cout << fmt::format("ptr:      {} ({}{})\n", c.ptr.name.empty() ? "-" : c.ptr.name,
                             to_string(c.ptr.status),
                             c.ptr.detail.empty() ? "" : ", " + c.ptr.detail);
    if (c.looked_up)
        std::cout << fmt::format(
            "dns:      {:.1f} ms, names: {}\n", dns_ms,
            c.ptr.names.empty() ? "-" : fmt::format("{}", fmt::join(c.ptr.names, " ")));
    std::cout << fmt::format("class:    {}\n", to_string(v.cls));
    if (!v.isp.empty()) std::cout << fmt::format("isp:      {}\n", v.isp);
    if (!v.rule.empty()) std::cout << fmt::format("rule:     {}\n", v.rule);
    if (!v.file.empty()) std::cout << fmt::format("source:   {}:{}\n", v.file, v.line);
    if (!v.result.empty()) std::cout << fmt::format("result:   {}\n", v.result);
    std::cout << fmt::format("evidence: {}\n", v.evidence);
    if (!v.weighed.empty()) {
        std::cout << "weighed:\n";
        for (const auto& e : v.weighed)
            std::cout << fmt::format("  {:>5}  {:<24} {:<14} at {}\n",
                                     e.veto ? std::string("veto") : fmt::format("+{}", e.weight),
                                     e.token, e.kind, e.at);
        std::cout << fmt::format("  {:>5}  total\n", v.score);
    }
    std::cout << fmt::format("action:   {} ({})\n", to_string(action), why);
    if (!reply.empty()) std::cout << fmt::format("reply:    {}\n", reply);
    return 0;
}

} // namespace

void add_check_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check", "Classify one client and show the verdict, its "
                                            "evidence and the configured action");
    cmd->add_option("--ip", opts->ip, "Client address (IPv4 or IPv6)")->required();
    cmd->add_option("--ptr", opts->ptr,
                    "Client PTR name; skips DNS and treats the name as forward-confirmed");
    cmd->add_option("-c,--config", opts->config,
                    "ip25b.conf to use (default: built-in defaults "
                    "with the shipped rules)");
    cmd->add_option("--rules", opts->rules,
                    "Rule source (pcre:FILE, regexp:FILE, *.toml, directory); repeatable; "
                    "replaces the config's rules");
    cmd->add_option("--dns", opts->dns, "Name server HOST[:PORT] or [V6]:PORT; repeatable");
    cmd->add_flag("--json", opts->json, "One JSON object instead of text");
    cmd->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

} // namespace ip25b::cli
