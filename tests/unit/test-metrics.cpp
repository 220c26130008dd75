#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include "ip25b/config.hpp"
#include "ip25b/control.hpp"
#include "ip25b/metrics.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

using namespace ip25b;

namespace {
DecisionRecord rec(const char* cls, const char* action, bool dry = false, int64_t dns_us = -1) {
    DecisionRecord r;
    r.cls = cls;
    r.action = dry ? Action::Accept : parse_action(action).value();
    if (dry) r.would = parse_action(action).value();
    r.dry_run = dry;
    r.dns_us = dns_us;
    return r;
}
} // namespace

BOOST_AUTO_TEST_CASE(classes_come_from_the_enum) {
    const auto& names = Metrics::class_names();
    // every ClientClass, then exempt, error, other
    BOOST_TEST(names.front() == std::string(to_string(ClientClass::Dynamic)));
    BOOST_TEST((std::find(names.begin(), names.end(), "none") != names.end()));
    BOOST_TEST(names.back() == "other");
}

BOOST_AUTO_TEST_CASE(counts_and_renders) {
    Metrics m;
    m.session_opened();
    m.session_opened();
    m.decision(rec("dynamic", "reject", false, 1500));
    m.decision(rec("dynamic", "reject", true, 40000));
    m.decision(rec("no-such-class", "accept"));
    m.error(MetricError::ReloadFailed);
    auto s = m.snapshot();
    BOOST_TEST(s.sessions == 2u);
    BOOST_TEST(s.dns_count == 2u);
    BOOST_TEST(s.dns_buckets[1] == 1u); // 1.5 ms <= 2 ms
    BOOST_TEST(s.dns_buckets[5] == 1u); // 40 ms <= 50 ms
    std::string prom = Metrics::to_prometheus(s);
    BOOST_TEST(
        prom.find(
            "ip25b_decisions_total{class=\"dynamic\",action=\"reject\",dry_run=\"false\"} 1\n") !=
        std::string::npos);
    BOOST_TEST(
        prom.find(
            "ip25b_decisions_total{class=\"dynamic\",action=\"reject\",dry_run=\"true\"} 1\n") !=
        std::string::npos);
    BOOST_TEST(
        prom.find(
            "ip25b_decisions_total{class=\"other\",action=\"accept\",dry_run=\"false\"} 1\n") !=
        std::string::npos);
    BOOST_TEST(prom.find("ip25b_dns_lookup_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
    BOOST_TEST(prom.find("ip25b_errors_total{kind=\"reload_failed\"} 1\n") != std::string::npos);
    auto j = Metrics::to_json(s, false);
    BOOST_TEST(j["errors"]["reload_failed"] == 1);
    BOOST_TEST(Metrics::to_text(s).find("dynamic would-reject=1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(control_requests) {
    std::string err;
    BOOST_TEST((parse_control_request("status", err)->kind == ControlRequest::Kind::Status));
    BOOST_TEST((parse_control_request("rules\r", err)->kind == ControlRequest::Kind::Rules));
    auto c = parse_control_request("cache 192.0.2.1", err);
    BOOST_REQUIRE(c);
    BOOST_TEST(c->address == "192.0.2.1");
    BOOST_TEST(!parse_control_request("shutdown", err));
    BOOST_TEST(!err.empty());
}

BOOST_AUTO_TEST_CASE(milter_section_keys) {
    auto c =
        parse_config("[milter]\nsocket = \"unix:/run/ip25b/milter.sock\"\nsocket_mode = "
                     "\"0660\"\nsocket_group = \"ip25b\"\n[metrics]\nlisten = \"127.0.0.1:9125\"\n",
                     "t.conf", "");
    BOOST_REQUIRE(c.has_value());
    BOOST_TEST(c->milter.socket_mode == 0660u);
    BOOST_TEST(control_socket_path(c->milter) == "/run/ip25b/milter.sock.ctl");
    BOOST_TEST(c->metrics.listen == "127.0.0.1:9125");
    auto bad = parse_config("[milter]\nsocket_mode = \"rw\"\n", "t.conf", "");
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().line == 2u);
    BOOST_TEST(!parse_config("[metrics]\nlisten = \"9125\"\n", "t.conf", "").has_value());
    MilterConfig a, b;
    b.socket_mode = 0600;
    b.user = "ip25b";
    auto keys = changed_milter_keys(a, b);
    BOOST_TEST(keys.size() == 2u);
    BOOST_TEST(load_config("/nonexistent/ip25b.conf").error().reason ==
               "cannot open config file: No such file or directory");
}

// Issue 10: a decision record the JSON file could not take is counted where
// `ip25b status` and Prometheus show it, with whether the log is writable now.
BOOST_AUTO_TEST_CASE(dropped_decision_records_are_shown) {
    Metrics m;
    auto s = m.snapshot();
    BOOST_TEST(Metrics::to_prometheus(s).find("ip25b_decision_log_records_dropped_total 0\n") !=
               std::string::npos);
    BOOST_TEST(Metrics::to_text(s).find("decision log") == std::string::npos);
    m.decision_log_write(true);
    m.decision_log_write(false);
    m.decision_log_write(false);
    s = m.snapshot();
    BOOST_TEST(s.log_records_dropped == 2u);
    BOOST_TEST(!s.log_writable);
    BOOST_TEST(s.errors[static_cast<size_t>(MetricError::LogWrite)] == 2u);
    std::string prom = Metrics::to_prometheus(s);
    BOOST_TEST(prom.find("ip25b_decision_log_records_dropped_total 2\n") != std::string::npos);
    BOOST_TEST(prom.find("ip25b_decision_log_writable 0\n") != std::string::npos);
    auto j = Metrics::to_json(s, false);
    BOOST_TEST(j["decision_log"]["records_dropped"] == 2);
    BOOST_TEST(j["decision_log"]["writable"] == false);
    BOOST_TEST(Metrics::to_text(s).find("decision log: 2 records dropped, not writable now") !=
               std::string::npos);
    m.decision_log_write(true);
    s = m.snapshot();
    BOOST_TEST(s.log_writable);
    BOOST_TEST(s.log_records_dropped == 2u);
    BOOST_TEST(Metrics::to_prometheus(s).find("ip25b_decision_log_writable 1\n") !=
               std::string::npos);
}
