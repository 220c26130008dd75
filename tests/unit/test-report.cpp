#define BOOST_TEST_MODULE report
#include <boost/test/unit_test.hpp>

#include "ip25b/decision_log.hpp"
#include "ip25b/report.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

using namespace ip25b;

namespace {

// Records made by the decision log itself, so the report reads what the milter writes.
DecisionRecord rec(const char* ip, const char* ptr, const char* action, const char* day,
                   const char* helo = "", const char* auth = "") {
    DecisionRecord r;
    std::tm tm{};
    strptime(day, "%Y-%m-%d", &tm);
    r.time = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::hours(12);
    r.client_ip = ip;
    r.ptr = ptr;
    r.ptr_status = "confirmed";
    r.cls = std::string(action) == "accept" ? "none" : "dynamic";
    r.isp = std::string(action) == "accept" ? "" : "OCN";
    r.rule = std::string(action) == "accept" ? "" : "ocn-pool";
    r.rule_file = std::string(action) == "accept" ? "" : "rules/isp/jp/ocn.toml";
    r.rule_line = std::string(action) == "accept" ? 0 : 23;
    r.action = parse_action(action).value();
    r.stage = "rcpt";
    r.helo = helo;
    r.auth = auth;
    r.sender = "someone@example.jp";
    return r;
}

Report report_of(const std::vector<DecisionRecord>& records, const std::string& extra = "") {
    std::stringstream s;
    for (const auto& r : records)
        s << DecisionLog::to_json(r) << "\n";
    s << extra;
    return build_report({&s});
}

} // namespace

BOOST_AUTO_TEST_CASE(totals_by_action_isp_rule_day) {
    auto r = report_of({rec("198.51.100.1", "p1-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20"),
                        rec("198.51.100.2", "p2-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-21"),
                        rec("203.0.113.5", "mx.example.jp", "accept", "2026-11-21")},
                       "{\"action\": \"reject\", trunc\nnot json\n");
    BOOST_TEST(r.records == 3u);
    BOOST_TEST(r.bad_lines == 2u);
    BOOST_TEST(r.by_action["reject"] == 2u);
    BOOST_TEST(r.by_action["accept"] == 1u);
    BOOST_TEST(r.refused_by_isp["OCN"] == 2u);
    BOOST_TEST(r.refused_by_rule["rules/isp/jp/ocn.toml:23 ocn-pool"] == 2u);
    BOOST_TEST(r.refused_by_day["2026-11-20"] == 1u);
    BOOST_TEST(r.refused_by_day["2026-11-21"] == 1u);
    BOOST_TEST(r.suspects.empty()); // bots: one try each, no MTA signs
}

BOOST_AUTO_TEST_CASE(mta_like_refused_clients_are_candidates) {
    auto r = report_of({
        // HELO equals its confirmed PTR and the name says "mail": a real MTA.
        rec("198.51.100.9", "mail2.tokyo.ocn.ne.jp", "reject", "2026-11-20",
            "mail2.tokyo.ocn.ne.jp"),
        // Retries over days like an MTA.
        rec("198.51.100.10", "p10-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20"),
        rec("198.51.100.10", "p10-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-22"),
        // Refused once, but the same address authenticated later: our customer.
        rec("198.51.100.11", "p11-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20"),
        rec("198.51.100.11", "p11-ipbf1.tokyo.ocn.ne.jp", "accept", "2026-11-20", "", "alice"),
        // A bot: one refusal, random HELO.
        rec("198.51.100.12", "p12-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20", "xkqjz"),
    });
    BOOST_REQUIRE(r.suspects.size() == 3u);
    BOOST_TEST(r.suspects[0].client_ip == "198.51.100.9"); // two reasons
    BOOST_TEST(r.suspects[0].reasons.size() == 2u);
    std::string all = report_text(r);
    BOOST_TEST(all.find("198.51.100.10") != std::string::npos);
    BOOST_TEST(all.find("2 different days") != std::string::npos);
    BOOST_TEST(all.find("authenticated") != std::string::npos);
    BOOST_TEST(all.find("198.51.100.12") == std::string::npos);
    BOOST_TEST(report_json(r).find("\"false_positive_candidates\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mailbox_is_not_a_mail_server_token) {
    auto r = report_of(
        {rec("198.51.100.20", "mailbox7x.dyn.example.jp", "reject", "2026-11-20", "outlet")});
    BOOST_TEST(r.suspects.empty());
}

BOOST_AUTO_TEST_CASE(dry_run_and_late_auth_are_not_refusals) {
    // As the milter now writes them: the client got "accept".
    DecisionRecord dry = rec("198.51.100.7", "p7-ipbf1.tokyo.ocn.ne.jp", "accept", "2026-11-20");
    dry.cls = "dynamic";
    dry.isp = "OCN";
    dry.dry_run = true;
    dry.would = Action::Reject;
    DecisionRecord late =
        rec("198.51.100.8", "p8-ipbf1.tokyo.ocn.ne.jp", "accept", "2026-11-20", "", "alice");
    late.refused_before_auth = Action::Reject;
    // As older milters wrote them: the policy's action, flags beside it.
    DecisionRecord old_dry =
        rec("198.51.100.9", "p9-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20");
    old_dry.dry_run = true;
    DecisionRecord old_late =
        rec("198.51.100.10", "p10-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20", "", "bob");
    old_late.reason = "class dynamic; then authenticated: passed";
    DecisionRecord real = rec("198.51.100.11", "p11-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20");

    auto r = report_of({dry, late, old_dry, old_late, real});
    BOOST_TEST(r.records == 5u);
    BOOST_TEST(r.by_action["reject"] == 1u); // only the enforced one
    BOOST_TEST(r.by_action["accept"] == 4u);
    BOOST_TEST(r.refused_by_isp["OCN"] == 1u);
    BOOST_TEST(r.refused_by_day["2026-11-20"] == 1u);
    BOOST_TEST(r.dry_run_would["reject"] == 2u);
    BOOST_TEST(r.dry_run_refused_by_isp["OCN"] == 2u);
    BOOST_TEST(r.late_auth_passes == 2u);
    std::string text = report_text(r);
    BOOST_TEST(text.find("passed after authenticating (refused first): 2") != std::string::npos);
    BOOST_TEST(text.find("dry run, would have (nothing enforced):") != std::string::npos);
}

// Issue 10: a log line far over any record size (a file without newlines, a foreign
// file) is counted as bad and skipped, and the records after it are still read.
BOOST_AUTO_TEST_CASE(over_long_line_is_skipped_not_buffered) {
    auto r = report_of({rec("198.51.100.1", "p1-ipbf1.tokyo.ocn.ne.jp", "reject", "2026-11-20")},
                       std::string(200 * 1024, 'x') + "\n" +
                           DecisionLog::to_json(rec("198.51.100.2", "p2-ipbf1.tokyo.ocn.ne.jp",
                                                    "reject", "2026-11-21")) +
                           "\n");
    BOOST_TEST(r.records == 2u);
    BOOST_TEST(r.bad_lines == 1u);
}

// Issue 10: the report's JSON survives any bytes: a "time" whose first 10 bytes end
// inside a UTF-8 sequence makes an invalid day key, which must not abort report_json.
BOOST_AUTO_TEST_CASE(json_report_survives_a_split_utf8_sequence) {
    std::stringstream s;
    s << R"({"action":"reject","class":"dynamic","client_ip":"198.51.100.9","time":"2026-11-2)"
      << "\xc3\xa9"
      << R"("})"
      << "\n";
    Report r = build_report({&s});
    BOOST_TEST(r.records == 1u);
    std::string j;
    BOOST_CHECK_NO_THROW(j = report_json(r));
    BOOST_TEST(!nlohmann::json::parse(j, nullptr, false).is_discarded());
}

BOOST_AUTO_TEST_CASE(new_classes_are_counted_and_generic_retries_flagged) {
    auto generic = [](const char* ip, const char* day) {
        DecisionRecord r = rec(ip, "dsl-198-51-100-23.dyn.example.net", "tempfail", day);
        r.cls = "generic";
        r.isp = "";
        r.rule = "generic";
        r.rule_file = "";
        r.rule_line = 0;
        r.score = 120;
        r.weighed = {"dsl+30", "dyn+50", "client-address+40"};
        return r;
    };
    DecisionRecord cloud =
        rec("54.210.12.7", "ec2-54-210-12-7.compute-1.amazonaws.com", "accept", "2026-11-20");
    cloud.cls = "cloud";
    Report r = report_of(
        {generic("198.51.100.23", "2026-11-20"), generic("198.51.100.23", "2026-11-20"),
         generic("198.51.100.23", "2026-11-20"), generic("198.51.100.99", "2026-11-20"), cloud});
    BOOST_TEST(r.by_class["generic"] == 4u);
    BOOST_TEST(r.by_class["cloud"] == 1u);
    BOOST_TEST(r.refused_by_class["generic"] == 4u);
    BOOST_TEST(r.refused_by_class.count("cloud") == 0u);
    BOOST_TEST(r.refused_by_rule["generic"] == 4u);
    // The client that came back after its 4xx is a false-positive candidate; the one-off is not.
    BOOST_REQUIRE(r.suspects.size() == 1u);
    BOOST_TEST(r.suspects[0].client_ip == "198.51.100.23");
    BOOST_TEST(r.suspects[0].reasons[0].find("came back 2 times after a temporary refusal") !=
               std::string::npos);
    BOOST_TEST(report_text(r).find("refused, by class:\n         4  generic") != std::string::npos);
    BOOST_TEST(report_json(r).find("\"refused_by_class\"") != std::string::npos);
    // The record carries the generic evidence.
    auto j = DecisionLog::to_json(generic("198.51.100.23", "2026-11-20"));
    BOOST_TEST(j.find("\"score\":120") != std::string::npos);
    BOOST_TEST(j.find("\"weighed\":[\"dsl+30\",\"dyn+50\",\"client-address+40\"]") !=
               std::string::npos);
    BOOST_TEST(DecisionLog::to_line(generic("198.51.100.23", "2026-11-20")).find(" score=120 ") !=
               std::string::npos);
}

// Found by fuzz-report (fuzz/regressions/report/fcrdns-not-a-boolean): a flag
// of the wrong type ("fcrdns": "dynamic") aborted the report with a JSON
// type_error; it reads as false, and the record still counts.
BOOST_AUTO_TEST_CASE(flags_of_the_wrong_type_read_as_false) {
    const std::string line =
        R"({"time":"2026-11-20T10:00:00Z","client_ip":"198.51.100.9","ptr":"mail.example.jp",)"
        R"("helo":"mail.example.jp","class":"dynamic","action":"reject","fcrdns":"dynamic",)"
        R"("dry_run":7})";
    std::istringstream in(line + "\n");
    Report r = build_report({&in});
    BOOST_TEST(r.records == 1u);
    BOOST_TEST(r.by_action["reject"] == 1u);
    for (const auto& suspect : r.suspects) // the name says mail server; the HELO proves nothing
        for (const auto& reason : suspect.reasons)
            BOOST_TEST(reason.find("HELO equals") == std::string::npos);
}
