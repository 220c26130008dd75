#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include "ip25b/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace ip25b;

namespace {

Config parse_ok(const std::string& text, const std::string& base = "/etc/ip25b") {
    auto c = parse_config(text, "test.conf", base);
    if (!c) BOOST_FAIL("unexpected error: " + c.error().to_string());
    return std::move(c).value();
}

Error parse_err(const std::string& text) {
    auto c = parse_config(text, "test.conf", "/etc/ip25b");
    if (c) BOOST_FAIL("expected an error for: " + text);
    return c.error();
}

} // namespace

BOOST_AUTO_TEST_CASE(empty_file_gives_documented_defaults) {
    Config c = parse_ok("");
    BOOST_TEST(c.rules.rules.empty());
    BOOST_TEST(c.rules.self_ranges.empty());
    BOOST_TEST(c.rules.self_rules.empty());
    BOOST_TEST(!c.rules.ip_in_name_is_dynamic);
    BOOST_TEST(!c.rules.require_fcrdns);
    BOOST_TEST(!c.rules.generic);
    BOOST_TEST(c.rules.generic_threshold == 60);
    BOOST_TEST(c.rules.hosting_domains.empty());
    BOOST_TEST((c.policy.cloud == Action::Accept));
    BOOST_TEST((c.policy.generic == Action::Tempfail));
    BOOST_TEST(c.policy.reply_generic.find("port 587") != std::string::npos);
    BOOST_TEST(c.policy.reply_generic.find("{reason}") != std::string::npos);
    BOOST_TEST(c.dns.servers.empty());
    BOOST_TEST(c.dns.timeout.count() == 1000);
    BOOST_TEST(c.dns.tries == 2u);
    BOOST_TEST(c.dns.deadline.count() == 3000);
    BOOST_TEST(c.dns.cache_size == 100000u);
    BOOST_TEST(c.dns.cache_min_ttl.count() == 60);
    BOOST_TEST(c.dns.cache_max_ttl.count() == 86400);
    BOOST_TEST(c.dns.negative_ttl.count() == 300);
    BOOST_TEST(c.dns.tempfail_ttl.count() == 30);
    BOOST_TEST((c.policy.stage == Stage::Rcpt));
    BOOST_TEST((c.policy.dynamic == Action::Reject));
    BOOST_TEST((c.policy.self_dynamic == Action::Reject));
    BOOST_TEST((c.policy.allowlisted == Action::Accept));
    BOOST_TEST((c.policy.unknown_ptr == Action::Accept));
    BOOST_TEST((c.policy.none == Action::Accept));
    BOOST_TEST((c.policy.dns_failure == Action::Accept));
    BOOST_TEST((c.policy.internal_error == Action::Accept));
    BOOST_TEST(!c.policy.dry_run);
    BOOST_TEST(c.policy.allowlist.empty());
    BOOST_TEST(c.policy.local_ranges.size() == default_local_ranges().size());
    BOOST_TEST(c.policy.submission_ports.size() == 2u);
    BOOST_TEST(c.policy.tag_header == "X-IP25B");
    BOOST_TEST(c.log.json_file.empty());
    BOOST_TEST(c.log.syslog);
    BOOST_TEST(c.log.level == "info");
    BOOST_TEST(c.milter.socket == "inet:8899@127.0.0.1");
    BOOST_TEST(c.milter.user.empty());
    BOOST_TEST(c.milter.pidfile.empty());
    BOOST_TEST(c.milter.timeout.count() == 600);
    BOOST_TEST(c.milter.drain_limit.count() == 30);
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    Config c = parse_ok(R"(
[rules]
files = ["isp", "pcre:tables/fqrdns.pcre", "/abs/allow.toml", "regexp:/abs/s25r"]
self_ranges = ["192.0.2.0/24", "2001:db8::/32"]
self_rules = ["own.toml"]
ip_in_name_is_dynamic = true
require_fcrdns = true

[dns]
servers = ["127.0.0.1:5353", "[::1]:53", "192.0.2.53"]
timeout_ms = 500
tries = 3
deadline_ms = 2500
cache_size = 5000
cache_min_ttl = 10
cache_max_ttl = 3600
negative_ttl = 120
tempfail_ttl = 5

[policy]
stage = "mail"
dry_run = true
dns_failure = "tempfail"
internal_error = "tempfail"
allowlist = ["198.51.100.0/24"]
local_ranges = []
submission_daemon_names = ["SUBMIT"]
submission_ports = [2525]
tag_header = "X-Dynamic"

[policy.action]
dynamic = "tag"
self_dynamic = "tempfail"
allowlisted = "log-only"
unknown_ptr = "tempfail"
none = "log-only"

[policy.reply]
reject_code = "554 5.7.1"
tempfail_code = "451 4.7.1"
dns_failure_code = "421 4.4.0"
dynamic = "D {ip}"
self_dynamic = "S {ip}"
unknown_ptr = "U {ip}"
dns_failure = "F {ip}"
other = "O {ip}"

[[policy.override]]
isp = "OCN"
action = "log-only"

[[policy.override]]
rule = "line 12"
file = "fqrdns.pcre"
action = "accept"

[log]
json_file = "log/decisions.jsonl"
syslog = false
level = "debug"

[milter]
socket = "unix:/run/ip25b/ip25b.sock"
user = "ip25b"
pidfile = "/run/ip25b/ip25b.pid"
timeout = 120
drain_limit = 5
)");
    BOOST_TEST(c.rules.rules.size() == 4u);
    BOOST_TEST(c.rules.rules[0] == "/etc/ip25b/isp");
    BOOST_TEST(c.rules.rules[1] == "pcre:/etc/ip25b/tables/fqrdns.pcre");
    BOOST_TEST(c.rules.rules[2] == "/abs/allow.toml");
    BOOST_TEST(c.rules.rules[3] == "regexp:/abs/s25r");
    BOOST_TEST(c.rules.self_ranges.size() == 2u);
    BOOST_TEST(c.rules.self_ranges[1].to_string() == "2001:db8::/32");
    BOOST_TEST(c.rules.self_rules.at(0) == "/etc/ip25b/own.toml");
    BOOST_TEST(c.rules.ip_in_name_is_dynamic);
    BOOST_TEST(c.rules.require_fcrdns);
    BOOST_TEST(c.dns.servers.size() == 3u);
    BOOST_TEST(c.dns.timeout.count() == 500);
    BOOST_TEST(c.dns.tries == 3u);
    BOOST_TEST(c.dns.deadline.count() == 2500);
    BOOST_TEST(c.dns.cache_size == 5000u);
    BOOST_TEST(c.dns.cache_min_ttl.count() == 10);
    BOOST_TEST(c.dns.cache_max_ttl.count() == 3600);
    BOOST_TEST(c.dns.negative_ttl.count() == 120);
    BOOST_TEST(c.dns.tempfail_ttl.count() == 5);
    const PolicyConfig& p = c.policy;
    BOOST_TEST((p.stage == Stage::Mail));
    BOOST_TEST(p.dry_run);
    BOOST_TEST((p.dns_failure == Action::Tempfail));
    BOOST_TEST((p.internal_error == Action::Tempfail));
    BOOST_TEST(p.allowlist.at(0).to_string() == "198.51.100.0/24");
    BOOST_TEST(p.local_ranges.empty());
    BOOST_TEST(p.submission_daemon_names.size() == 1u);
    BOOST_TEST(p.submission_ports.at(0) == 2525);
    BOOST_TEST(p.tag_header == "X-Dynamic");
    BOOST_TEST((p.dynamic == Action::Tag));
    BOOST_TEST((p.self_dynamic == Action::Tempfail));
    BOOST_TEST((p.allowlisted == Action::LogOnly));
    BOOST_TEST((p.unknown_ptr == Action::Tempfail));
    BOOST_TEST((p.none == Action::LogOnly));
    BOOST_TEST(p.reject_code == "554 5.7.1");
    BOOST_TEST(p.tempfail_code == "451 4.7.1");
    BOOST_TEST(p.dns_failure_code == "421 4.4.0");
    BOOST_TEST(p.reply_dynamic == "D {ip}");
    BOOST_TEST(p.reply_self_dynamic == "S {ip}");
    BOOST_TEST(p.reply_unknown_ptr == "U {ip}");
    BOOST_TEST(p.reply_dns_failure == "F {ip}");
    BOOST_TEST(p.reply_other == "O {ip}");
    BOOST_TEST(p.overrides.size() == 2u);
    BOOST_TEST(p.overrides[0].isp == "OCN");
    BOOST_TEST((p.overrides[0].action == Action::LogOnly));
    BOOST_TEST(p.overrides[0].where == "test.conf:48");
    BOOST_TEST(p.overrides[1].rule == "line 12");
    BOOST_TEST(p.overrides[1].file == "fqrdns.pcre");
    BOOST_TEST(c.log.json_file == "/etc/ip25b/log/decisions.jsonl");
    BOOST_TEST(!c.log.syslog);
    BOOST_TEST(c.log.level == "debug");
    BOOST_TEST(c.milter.socket == "unix:/run/ip25b/ip25b.sock");
    BOOST_TEST(c.milter.user == "ip25b");
    BOOST_TEST(c.milter.pidfile == "/run/ip25b/ip25b.pid");
    BOOST_TEST(c.milter.timeout.count() == 120);
    BOOST_TEST(c.milter.drain_limit.count() == 5);
}

BOOST_AUTO_TEST_CASE(errors_name_file_and_line) {
    struct Case {
        const char* text;
        unsigned line;
        const char* reason_part;
    } cases[] = {
        {"[rules]\nfiles = [\"a\"]\nfilez = 1\n", 3, "unknown key rules.filez"},
        {"\n\n[nonsense]\n", 3, "unknown key nonsense"},
        {"[dns]\ntries = 0\n", 2, "dns.tries must be between 1 and 10"},
        {"[milter]\ntimeout = 0\n", 2, "milter.timeout must be between 1 and 86400"},
        {"[milter]\n\ndrain_limit = 3601\n", 3, "milter.drain_limit must be between 0 and 3600"},
        {"[dns]\ntimeout_ms = \"1s\"\n", 2, "dns.timeout_ms must be an integer"},
        {"[dns]\nservers = [\"dns.example\"]\n", 2, "not IP"},
        {"[rules]\nself_ranges = [\"192.0.2.1/24\"]\n", 2, "rules.self_ranges"},
        {"[policy]\nstage = \"data\"\n", 2, "policy.stage"},
        {"[policy]\ndns_failure = \"reject\"\n", 2, "never a permanent reject"},
        {"[policy]\ninternal_error = \"reject\"\n", 2, "never a permanent reject"},
        {"[policy.action]\ndynamic = \"drop\"\n", 2, "unknown action \"drop\""},
        {"[policy.action]\nstatic = \"reject\"\n", 2, "unknown key policy.action.static"},
        {"[policy.reply]\nreject_code = \"450 4.7.1\"\n", 2, "5xx reply code"},
        {"[policy.reply]\ntempfail_code = \"550\"\n", 2, "4xx reply code"},
        {"[policy.reply]\nreject_code = \"550 4.7.1\"\n", 2, "5xx"},
        {"[policy]\nsubmission_ports = [0]\n", 2, "ports are integers"},
        {"[policy]\ntag_header = \"X IP25B\"\n", 2, "header field name"},
        {"[[policy.override]]\naction = \"tag\"\n", 1, "needs a rule or an isp"},
        {"[[policy.override]]\nisp = \"OCN\"\n", 1, "needs an action"},
        {"[[policy.override]]\nisp = \"OCN\"\naction = \"tag\"\ncolour = 1\n", 4,
         "unknown key policy.override.colour"},
        {"[log]\nlevel = \"loud\"\n", 2, "log.level"},
        {"[log]\nsyslog = \"yes\"\n", 2, "true or false"},
        {"[milter]\nsocket = \"inet:0@127.0.0.1\"\n", 2, "milter.socket"},
        {"[milter]\nsocket = \"unix:relative\"\n", 2, "milter.socket"},
        {"[milter]\nsocket = \"tcp:25\"\n", 2, "milter.socket"},
        {"[rules]\nfiles = \"one\"\n", 2, "array of strings"},
        {"[rules]\nfiles = [1]\n", 2, "only strings"},
        {"[dns]\ncache_min_ttl = 100\ncache_max_ttl = 10\n", 0, "cache_min_ttl"},
        {"[rules\n", 1, ""},
        {"a = 1\na = 2\n", 2, ""},
    };
    for (const auto& c : cases) {
        Error e = parse_err(c.text);
        BOOST_TEST_CONTEXT(c.text) {
            BOOST_TEST(e.file == "test.conf");
            BOOST_TEST(e.line == c.line);
            BOOST_TEST(e.reason.find(c.reason_part) != std::string::npos, e.reason);
            if (c.line)
                BOOST_TEST(e.to_string().rfind("test.conf:" + std::to_string(c.line) + ": ", 0) ==
                           0);
        }
    }
}

BOOST_AUTO_TEST_CASE(dns_server_specs) {
    BOOST_TEST(valid_dns_server("127.0.0.1"));
    BOOST_TEST(valid_dns_server("127.0.0.1:5353"));
    BOOST_TEST(valid_dns_server("[::1]:53"));
    BOOST_TEST(valid_dns_server("[2001:db8::1]"));
    BOOST_TEST(valid_dns_server("::1"));
    BOOST_TEST(!valid_dns_server("127.0.0.1:"));
    BOOST_TEST(!valid_dns_server("127.0.0.1:70000"));
    BOOST_TEST(!valid_dns_server("[127.0.0.1]:53"));
    BOOST_TEST(!valid_dns_server("localhost:53"));
    BOOST_TEST(!valid_dns_server(""));
}

BOOST_AUTO_TEST_CASE(load_resolves_relative_paths_against_the_file) {
    auto dir =
        std::filesystem::temp_directory_path() / ("ip25b-config-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "etc");
    {
        std::ofstream f(dir / "etc" / "ip25b.conf");
        f << "[rules]\nfiles = [\"../rules/isp\"]\n[log]\njson_file = \"d.jsonl\"\n";
    }
    auto c = load_config((dir / "etc" / "ip25b.conf").string());
    BOOST_REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().to_string()));
    BOOST_TEST(c->rules.rules.at(0) == (dir / "rules" / "isp").string());
    BOOST_TEST(c->log.json_file == (dir / "etc" / "d.jsonl").string());
    auto missing = load_config((dir / "nope.conf").string());
    BOOST_TEST(!missing);
    BOOST_TEST(missing.error().reason == "cannot open config file: No such file or directory");
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(shipped_config_parses_and_matches_the_defaults) {
    auto c = load_config(std::string(IP25B_SOURCE_DIR) + "/contrib/ip25b.conf");
    BOOST_REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().to_string()));
    Config d = parse_ok("");
    // The shipped file documents every default; it only adds the rule paths.
    BOOST_TEST(!c->rules.rules.empty());
    BOOST_TEST(c->dns.timeout == d.dns.timeout);
    BOOST_TEST(c->dns.deadline == d.dns.deadline);
    BOOST_TEST((c->policy.stage == d.policy.stage));
    BOOST_TEST((c->policy.dynamic == d.policy.dynamic));
    BOOST_TEST(c->policy.reply_dynamic == d.policy.reply_dynamic);
    BOOST_TEST(c->policy.local_ranges.size() == d.policy.local_ranges.size());
    BOOST_TEST(c->milter.socket == d.milter.socket);
    BOOST_TEST(c->milter.socket_mode == d.milter.socket_mode);
    BOOST_TEST(c->milter.socket_group == d.milter.socket_group);
    BOOST_TEST(c->milter.control_socket == d.milter.control_socket);
    BOOST_TEST(c->metrics.listen == d.metrics.listen);
    BOOST_TEST(c->milter.timeout == d.milter.timeout);
    BOOST_TEST(c->milter.drain_limit == d.milter.drain_limit);
    // The new classes at their defaults; the shipped file loads allowlist,
    // every ISP country, the cloud files, and turns the generic tier on.
    BOOST_TEST((c->policy.cloud == d.policy.cloud));
    BOOST_TEST((c->policy.generic == d.policy.generic));
    BOOST_TEST(c->policy.reply_generic == d.policy.reply_generic);
    BOOST_TEST(c->policy.reply_cloud == d.policy.reply_cloud);
    BOOST_TEST(c->rules.generic_threshold == d.rules.generic_threshold);
    BOOST_TEST(c->rules.generic);
    BOOST_REQUIRE(c->rules.rules.size() == 3u);
    BOOST_TEST(c->rules.rules[0].ends_with("/rules/allowlist"));
    BOOST_TEST(c->rules.rules[1].ends_with("/rules/isp"));
    BOOST_TEST(c->rules.rules[2].ends_with("/rules/cloud"));
    BOOST_REQUIRE(c->rules.hosting_domains.size() == 1u);
    BOOST_TEST(c->rules.hosting_domains[0].ends_with("/rules/hosting/domains.txt"));
}

BOOST_AUTO_TEST_CASE(feeds_are_read_and_placed_in_the_rule_order) {
    const std::string key = "RWSSM0Olv9/BHFZh/WPcytam6LPOTidje3jpBZFDZt5v35GZot/tKVOf";
    Config c =
        parse_ok("[rules]\nfiles = [\"allow\", \"feed:b\", \"isp\"]\n"
                 "[update]\nstate_dir = \"feeds\"\n"
                 "[[feeds]]\nname = \"a\"\nurl = \"https://a.test/r.toml\"\npublic_key = \"" +
                 key +
                 "\"\nrefresh = 600\nca_file = \"ca.pem\"\nmax_size = 10000\n"
                 "[[feeds]]\nname = \"b\"\nurl = \"https://b.test/r.toml\"\npublic_key = \"" +
                 key + "\"\n");
    BOOST_REQUIRE(c.feeds.size() == 2u);
    BOOST_TEST(c.update.state_dir == "/etc/ip25b/feeds");
    BOOST_TEST(c.feeds[0].ca_file == "/etc/ip25b/ca.pem");
    BOOST_TEST(c.feeds[0].refresh.count() == 600);
    BOOST_TEST(c.feeds[0].max_size == 10000u);
    BOOST_TEST(c.feeds[0].where == "test.conf:5");
    // b where the list placed it, a (not placed) after everything.
    std::vector<std::string> want = {"/etc/ip25b/allow", "feed:/etc/ip25b/feeds/b",
                                     "/etc/ip25b/isp", "feed:/etc/ip25b/feeds/a"};
    BOOST_TEST(c.rules.rules == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(feed_errors_name_the_line) {
    const std::string key = "RWSSM0Olv9/BHFZh/WPcytam6LPOTidje3jpBZFDZt5v35GZot/tKVOf";
    auto feed = [&](const std::string& body) { return "[[feeds]]\nname = \"a\"\n" + body; };
    BOOST_TEST(
        parse_err(feed("url = \"http://a.test/r\"\npublic_key = \"" + key + "\"\n")).to_string() ==
        "test.conf:3: feeds.url must be an https:// URL");
    BOOST_TEST(parse_err(feed("url = \"https://a.test/r\"\npublic_key = \"RWxx\"\n")).line == 4u);
    BOOST_TEST(
        parse_err(feed("url = \"https://a.test/r\"\npublic_key = \"" + key + "\"\nrefrsh = 60\n"))
            .to_string() == "test.conf:5: unknown key feeds.refrsh");
    BOOST_TEST(parse_err("[rules]\nfiles = [\"feed:nope\"]\n").to_string() ==
               "test.conf:2: rules.files: no [[feeds]] entry is named nope");
}

BOOST_AUTO_TEST_CASE(generic_and_cloud_keys) {
    Config c = parse_ok("[rules]\ngeneric = true\ngeneric_threshold = 80\n"
                        "hosting_domains = [\"hosting.txt\", \"/abs/more.txt\"]\n"
                        "[policy.action]\ncloud = \"tag\"\ngeneric = \"reject\"\n"
                        "[policy.reply]\ncloud = \"c {isp}\"\ngeneric = \"g {reason}\"\n");
    BOOST_TEST(c.rules.generic);
    BOOST_TEST(c.rules.generic_threshold == 80);
    BOOST_REQUIRE(c.rules.hosting_domains.size() == 2u);
    BOOST_TEST(c.rules.hosting_domains[0] == "/etc/ip25b/hosting.txt");
    BOOST_TEST(c.rules.hosting_domains[1] == "/abs/more.txt");
    BOOST_TEST((c.policy.cloud == Action::Tag));
    BOOST_TEST((c.policy.generic == Action::Reject));
    BOOST_TEST(c.policy.reply_cloud == "c {isp}");
    BOOST_TEST(c.policy.reply_generic == "g {reason}");

    Error e = parse_err("[rules]\ngeneric_threshold = 0\n");
    BOOST_TEST(e.line == 2u);
    BOOST_TEST(e.reason.find("rules.generic_threshold must be between 1 and 1000") !=
               std::string::npos);
    e = parse_err("[rules]\ngeneric = \"yes\"\n");
    BOOST_TEST(e.reason == "rules.generic must be true or false");
    e = parse_err("\n[policy.action]\ngeneric = \"drop\"\n");
    BOOST_TEST(e.line == 3u);
    BOOST_TEST(e.reason.find("unknown action") != std::string::npos);
}
