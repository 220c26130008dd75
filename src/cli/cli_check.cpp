// cli_check.cpp — `ip25b check`: the milter's verdict for one client, explained.
//
// Plays one SMTP session through decide_client(), the function whose steps the
// milter calls — exemptions, PTR (given with --ptr, or resolved and
// forward-confirmed through --dns / the config's servers), classification,
// policy action, stage, dry run and reply — and prints every step's evidence,
// so an operator or postmaster can ask "why was this client refused" and "what
// would happen if" (--auth, --daemon-port, --daemon-name, --helo, --from, --rcpt). --batch judges a
// file of clients with one rule load, for benchmarks over thousands of names. Without --config and
// --rules it uses the shipped allowlist, ISP and cloud rules, the hosting domains and the generic
// tier (as the shipped contrib/ip25b.conf) with the default policy.
#include "ip25b/classifier.hpp"
#include "ip25b/cli.hpp"
#include "ip25b/client_decision.hpp"
#include "ip25b/config.hpp"
#include "ip25b/install_paths.hpp"
#include "ip25b/policy.hpp"
#include "ip25b/resolver.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace ip25b::cli {

// --ptr, batch lines and the resolver's names may hold any bytes: what is not
// UTF-8 is replaced, never a reason to abort.
constexpr auto kReplaceInvalidUtf8 = nlohmann::json::error_handler_t::replace;

namespace {

struct CheckOptions {
    std::string ip;
    std::string ptr;
    std::string config;
    std::vector<std::string> rules;
    std::vector<std::string> dns;
    std::string batch;
    bool json = false;
    // The rest of the session, as the MTA would report it.
    std::string helo = "client.example";
    std::string sender = "sender@example.net";
    std::vector<std::string> recipients = {"postmaster@example.org"};
    std::string auth;
    std::string daemon_name;
    uint16_t daemon_port = 25;
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

// Everything a check needs that does not depend on the client: loaded once,
// so that a batch judges thousands of names with one rule load.
struct Checker {
    Config config;
    std::shared_ptr<const Classifier> classifier;
    std::shared_ptr<const Policy> policy;
    std::unique_ptr<Resolver> resolver; // created on the first name that needs DNS
};

// One client's decision, as the milter would reach it.
struct CheckResult {
    IpAddress client;
    bool given = false; // the PTR came with --ptr
    ClientDecision d;
};

Expected<Checker> make_checker(const CheckOptions& o) {
    // Without -c: the installed config when there is one, else the built-in
    // defaults with the shipped rules.
    const InstallPaths& paths = install_paths();
    std::string file = o.config;
    std::error_code ec;
    if (file.empty() && std::filesystem::exists(paths.config_file, ec)) file = paths.config_file;
    auto config = file.empty() ? parse_config("", "(defaults)", "") : load_config(file);
    if (!config) return config.error();
    if (!o.rules.empty()) config->rules.rules = o.rules;
    if (file.empty() && o.rules.empty()) {
        config->rules.rules = {paths.rules_dir + "/allowlist", paths.rules_dir + "/isp",
                               paths.rules_dir + "/cloud"};
        config->rules.generic = true;
        config->rules.hosting_domains = {paths.rules_dir + "/hosting/domains.txt"};
    }
    for (const auto& d : o.dns)
        if (!valid_dns_server(d))
            return Error{"", 0, "--dns " + d + ": expected HOST[:PORT] or [V6]:PORT"};
    if (!o.dns.empty()) config->dns.servers = o.dns;

    auto classifier = Classifier::load(config->rules);
    if (!classifier) return classifier.error();
    Checker k;
    k.config = std::move(*config);
    k.classifier = std::move(*classifier);
    k.policy = std::make_shared<const Policy>(k.config.policy);
    return k;
}

Expected<CheckResult> check_one(Checker& k, const CheckOptions& o, const IpAddress& client,
                                const std::string& ptr) {
    CheckResult r{client, !ptr.empty(), {}};
    std::optional<Error> failed;
    PtrLookupFn lookup = [&]() -> PtrResult {
        PtrResult p;
        if (r.given) {
            p.status = PtrStatus::Confirmed;
            p.name = ptr;
            p.names = {ptr};
            p.detail = "given with --ptr";
            return p;
        }
        if (!k.resolver) {
            auto resolver = Resolver::create(resolver_options(k.config.dns));
            if (!resolver) {
                failed = resolver.error();
                throw std::runtime_error(resolver.error().to_string());
            }
            k.resolver = std::move(*resolver);
        }
        return k.resolver->lookup(client);
    };
    ClientFacts facts;
    facts.connect.client = client;
    facts.connect.client_port = 40000;
    facts.connect.hostname = "[" + client.to_string() + "]";
    facts.connect.daemon_name = o.daemon_name;
    facts.connect.daemon_port = o.daemon_port;
    facts.helo = o.helo;
    facts.sender = o.sender;
    if (!o.auth.empty()) facts.auth = o.auth;
    facts.recipients = o.recipients;
    r.d = decide_client(k.policy, *k.classifier, facts, lookup, "check");
    if (failed) return *failed; // no resolver is a usage error here, not a verdict
    return r;
}

nlohmann::json text_or_null(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// The record's fields (what the milter would log) plus the classification's
// evidence, which the record keeps only in short.
nlohmann::json to_json(const CheckResult& r) {
    const DecisionRecord& rec = r.d.record;
    const Classified* c = r.d.classified ? &*r.d.classified : nullptr;
    const Verdict v = c ? c->verdict : Verdict{};
    nlohmann::json j = {
        {"ip", r.client.to_string()},
        {"ptr", text_or_null(rec.ptr)},
        {"ptr_status", rec.ptr_status},
        {"class", rec.cls},
        {"isp", text_or_null(v.isp)},
        {"rule", text_or_null(v.rule)},
        {"feed", text_or_null(v.feed)},
        {"source", v.file.empty() ? nlohmann::json(nullptr)
                                  : nlohmann::json{{"file", v.file}, {"line", v.line}}},
        {"action", to_string(rec.action)},
        {"action_reason", rec.reason},
        {"stage", rec.stage},
        {"dry_run", rec.dry_run},
        {"evidence", c ? v.evidence : rec.reason},
        {"fcrdns", c && c->looked_up ? fcrdns_word(c->ptr, r.given) : "none"},
    };
    if (rec.would) j["would"] = to_string(*rec.would);
    if (rec.refused_before_auth) j["refused_before_auth"] = to_string(*rec.refused_before_auth);
    if (!rec.reply.empty()) j["reply"] = rec.reply;
    if (!v.weighed.empty() || (c && v.cls == ClientClass::Generic)) {
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
    if (c && c->looked_up && !r.given) {
        j["dns_ms"] = double(c->ptr.elapsed.count()) / 1000.0;
        j["ptr_names"] = c->ptr.names;
        if (!c->ptr.detail.empty()) j["dns_detail"] = c->ptr.detail;
        j["from_cache"] = c->ptr.from_cache;
    }
    return j;
}

void print_text(const CheckResult& r) {
    const DecisionRecord& rec = r.d.record;
    const Classified* c = r.d.classified ? &*r.d.classified : nullptr;
    std::cout << fmt::format("ip:       {}\n", r.client.to_string());
    if (c)
        std::cout << fmt::format("ptr:      {} ({}{})\n", c->ptr.name.empty() ? "-" : c->ptr.name,
                                 to_string(c->ptr.status),
                                 c->ptr.detail.empty() ? "" : ", " + c->ptr.detail);
    else
        std::cout << "ptr:      - (not looked up)\n";
    if (c && c->looked_up && !r.given)
        std::cout << fmt::format(
            "dns:      {:.1f} ms, names: {}\n", double(c->ptr.elapsed.count()) / 1000.0,
            c->ptr.names.empty() ? "-" : fmt::format("{}", fmt::join(c->ptr.names, " ")));
    std::cout << fmt::format("class:    {}\n", rec.cls);
    if (c) {
        const Verdict& v = c->verdict;
        if (!v.isp.empty()) std::cout << fmt::format("isp:      {}\n", v.isp);
        if (!v.rule.empty()) std::cout << fmt::format("rule:     {}\n", v.rule);
        if (!v.feed.empty()) std::cout << fmt::format("feed:     {}\n", v.feed);
        if (!v.file.empty()) std::cout << fmt::format("source:   {}:{}\n", v.file, v.line);
        if (!v.result.empty()) std::cout << fmt::format("result:   {}\n", v.result);
        std::cout << fmt::format("evidence: {}\n", v.evidence);
        if (!v.weighed.empty()) {
            std::cout << "weighed:\n";
            for (const auto& e : v.weighed)
                std::cout << fmt::format("  {:>5}  {:<24} {:<14} at {}\n",
                                         e.veto ? std::string("veto")
                                                : fmt::format("+{}", e.weight),
                                         e.token, e.kind, e.at);
            std::cout << fmt::format("  {:>5}  total\n", v.score);
        }
    }
    std::cout << fmt::format("action:   {} ({}) at {}\n", to_string(rec.action), rec.reason,
                             rec.stage);
    if (rec.would)
        std::cout << fmt::format("would:    {} (dry run: nothing enforced)\n",
                                 to_string(*rec.would));
    if (!rec.reply.empty())
        std::cout << fmt::format("reply:    {}{}\n", rec.reply, rec.dry_run ? " (not sent)" : "");
}

int fail(const std::string& why) {
    std::cerr << "ip25b check: " << why << "\n";
    return 2;
}

int run_check(const CheckOptions& o) {
    auto client = IpAddress::parse(o.ip);
    if (!client) return fail("not an IP address: " + o.ip);
    auto checker = make_checker(o);
    if (!checker) return fail(checker.error().to_string());
    auto r = check_one(*checker, o, *client, o.ptr);
    if (!r) return fail(r.error().to_string());
    if (o.json)
        std::cout << to_json(*r).dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
    else
        print_text(*r);
    return 0;
}

// --batch: "IP [PTR]" per line ('#' comments and blank lines skipped), one
// JSON line out per name, through the same check_one as a single check. A
// line that cannot be judged is reported as FILE:LINE: reason on stderr and
// as {"line":N,"error":...} on stdout, so output stays one line per input
// name; the exit status is then 1.
int run_batch(const CheckOptions& o) {
    auto checker = make_checker(o);
    if (!checker) return fail(checker.error().to_string());
    std::ifstream file;
    std::istream* in = &std::cin;
    const std::string name = o.batch == "-" ? "(stdin)" : o.batch;
    if (o.batch != "-") {
        file.open(o.batch);
        if (!file) return fail(o.batch + ": cannot open");
        in = &file;
    }
    int errors = 0;
    std::string line;
    for (size_t lineno = 1; std::getline(*in, line); ++lineno) {
        std::istringstream words(line);
        std::string ip, ptr, extra;
        words >> ip;
        if (ip.empty() || ip[0] == '#') continue;
        words >> ptr >> extra;
        std::string error;
        if (!extra.empty())
            error = "expected \"IP [PTR]\", found more words";
        else if (auto client = IpAddress::parse(ip); !client)
            error = "not an IP address: " + ip;
        else if (auto r = check_one(*checker, o, *client, ptr); !r)
            error = r.error().to_string();
        else {
            std::cout << to_json(*r).dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
            continue;
        }
        std::cerr << fmt::format("{}:{}: {}\n", name, lineno, error);
        std::cout << nlohmann::json{{"line", lineno}, {"error", error}}.dump(-1, ' ', false,
                                                                             kReplaceInvalidUtf8)
                  << "\n";
        ++errors;
    }
    if (in->bad()) return fail(name + ": read error");
    return errors ? 1 : 0;
}

} // namespace

void add_check_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check", "Classify one client and show the verdict, its "
                                            "evidence and the configured action");
    auto* ip = cmd->add_option("--ip", opts->ip, "Client address (IPv4 or IPv6)");
    cmd->add_option("--ptr", opts->ptr,
                    "Client PTR name; skips DNS and treats the name as forward-confirmed");
    cmd->add_option("-c,--config", opts->config,
                    "ip25b.conf to use (default: " + install_paths().config_file +
                        " if it exists, else the built-in defaults with the shipped rules)");
    cmd->add_option("--rules", opts->rules,
                    "Rule source (pcre:FILE, regexp:FILE, *.toml, directory); repeatable; "
                    "replaces the config's rules");
    cmd->add_option("--dns", opts->dns, "Name server HOST[:PORT] or [V6]:PORT; repeatable");
    cmd->add_flag("--json", opts->json, "One JSON object instead of text");
    cmd->add_option("--helo", opts->helo, "HELO name of the session")->capture_default_str();
    cmd->add_option("--from", opts->sender, "MAIL FROM address")->capture_default_str();
    cmd->add_option("--rcpt", opts->recipients, "RCPT TO address; repeatable")
        ->capture_default_str();
    cmd->add_option("--auth", opts->auth,
                    "SMTP AUTH login ({auth_authen}): what an authenticated session gets");
    cmd->add_option("--daemon-name", opts->daemon_name,
                    "MTA's {daemon_name} (e.g. ORIGINATING for Postfix submission)");
    cmd->add_option("--daemon-port", opts->daemon_port, "Port the client connected to")
        ->capture_default_str();
    auto* batch = cmd->add_option("--batch", opts->batch,
                                  "Judge many clients: FILE (or - for stdin) of \"IP [PTR]\" "
                                  "lines, one --json line out per name");
    ip->excludes(batch);
    cmd->callback([opts, &exit_code] {
        if (opts->batch.empty() && opts->ip.empty())
            exit_code = fail("--ip or --batch is required");
        else
            exit_code = opts->batch.empty() ? run_check(*opts) : run_batch(*opts);
    });
}

} // namespace ip25b::cli
