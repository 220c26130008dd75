#define BOOST_TEST_MODULE decision_log
#include <boost/test/unit_test.hpp>

#include "ip25b/decision_log.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line))
        out.push_back(nlohmann::json::parse(line));
    return out;
}

DecisionRecord sample(const std::string& session) {
    DecisionRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1795000000123456));
    r.session = session;
    r.client_ip = "118.8.132.157";
    r.client_port = 40123;
    r.ptr = "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp";
    r.ptr_status = "confirmed";
    r.cls = "dynamic";
    r.isp = "OCN";
    r.rule = "ocn-ftth";
    r.rule_file = "rules/isp/ocn.toml";
    r.rule_line = 12;
    r.action = Action::Reject;
    r.reason = "class dynamic";
    r.stage = "rcpt";
    r.reply = "550 5.7.1 118.8.132.157 (...) is a dynamic address of OCN";
    r.helo = "bot";
    r.sender = "a@example.net";
    r.recipients = {"b@example.org", "c@example.org"};
    r.queue_id = "4ABCD123";
    r.dns_us = 2500;
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(records_are_written_complete_and_flushed) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    (*log)->write(sample("s1"));
    // Read back while the log is still open: nothing may sit in a buffer.
    auto lines = read_lines(cfg.json_file);
    BOOST_REQUIRE(lines.size() == 1u);
    auto& j = lines[0];
    BOOST_TEST(j["time"] == "2026-11-18T11:06:40.123456Z");
    BOOST_TEST(j["session"] == "s1");
    BOOST_TEST(j["client_ip"] == "118.8.132.157");
    BOOST_TEST(j["client_port"] == 40123);
    BOOST_TEST(j["ptr"] == "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp");
    BOOST_TEST(j["ptr_status"] == "confirmed");
    BOOST_TEST(j["fcrdns"] == true);
    BOOST_TEST(j["class"] == "dynamic");
    BOOST_TEST(j["isp"] == "OCN");
    BOOST_TEST(j["rule"] == "ocn-ftth");
    BOOST_TEST(j["rule_file"] == "rules/isp/ocn.toml");
    BOOST_TEST(j["rule_line"] == 12);
    BOOST_TEST(j["action"] == "reject");
    BOOST_TEST(j["stage"] == "rcpt");
    BOOST_TEST(j["sender"] == "a@example.net");
    BOOST_TEST(j["recipients"].size() == 2u);
    BOOST_TEST(j["queue_id"] == "4ABCD123");
    BOOST_TEST(j["dns_ms"] == 2.5);
    BOOST_TEST(j["dry_run"] == false);
    BOOST_TEST(j["would"].is_null());
    BOOST_TEST(j["refused_before_auth"].is_null());
    auto none = sample("s2");
    none.dns_us = -1;
    (*log)->write(none);
    lines = read_lines(cfg.json_file);
    BOOST_TEST(lines.size() == 2u);
    BOOST_TEST(lines[1]["dns_ms"].is_null());
}

BOOST_AUTO_TEST_CASE(hostile_bytes_stay_one_valid_line) {
    DecisionRecord r = sample("s3");
    r.sender = std::string("a\n\"b\xff\xfe@x");
    r.helo = "evil\r\nX-Injected: 1";
    std::string json = DecisionLog::to_json(r);
    BOOST_TEST(json.find('\n') == std::string::npos);
    BOOST_TEST(nlohmann::json::parse(json)["helo"] == "evil\r\nX-Injected: 1");
    std::string line = DecisionLog::to_line(r);
    BOOST_TEST(line.find('\n') == std::string::npos);
    BOOST_TEST(line.find("client=118.8.132.157") != std::string::npos);
    BOOST_TEST(line.find("isp=\"OCN\"") != std::string::npos);
    BOOST_TEST(line.find("to=<b@example.org>+1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dry_run_says_would) {
    DecisionRecord r = sample("s4");
    r.action = Action::Accept;
    r.dry_run = true;
    r.would = Action::Reject;
    auto j = nlohmann::json::parse(DecisionLog::to_json(r));
    BOOST_TEST(j["action"] == "accept");
    BOOST_TEST(j["would"] == "reject");
    BOOST_TEST(DecisionLog::to_line(r).find("accept (dry-run: would reject)") != std::string::npos);
    r.dry_run = false;
    r.would.reset();
    r.refused_before_auth = Action::Reject;
    j = nlohmann::json::parse(DecisionLog::to_json(r));
    BOOST_TEST(j["refused_before_auth"] == "reject");
    BOOST_TEST(DecisionLog::to_line(r).find("accept (reject lifted by AUTH)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reopen_follows_rotation) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    (*log)->write(sample("before"));
    fs::rename(cfg.json_file, d.path / "decisions.jsonl.1");
    (*log)->write(sample("rotated")); // still goes to the renamed file
    BOOST_TEST(!(*log)->reopen());
    (*log)->write(sample("after"));
    auto old_lines = read_lines(d.path / "decisions.jsonl.1");
    auto new_lines = read_lines(cfg.json_file);
    BOOST_TEST(old_lines.size() == 2u);
    BOOST_REQUIRE(new_lines.size() == 1u);
    BOOST_TEST(new_lines[0]["session"] == "after");
    // A reopen that fails keeps the old descriptor working.
    fs::remove_all(d.path);
    auto err = (*log)->reopen();
    BOOST_REQUIRE(err);
    BOOST_TEST(err->reason.find("cannot reopen decision log") == 0u);
}

BOOST_AUTO_TEST_CASE(open_errors_name_the_file) {
    DecisionLogConfig cfg;
    cfg.json_file = "/nonexistent-dir-ip25b/x.jsonl";
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(!log.has_value());
    BOOST_TEST(log.error().file == cfg.json_file);
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i)
                (*log)->write(sample("t" + std::to_string(t) + "-" + std::to_string(i)));
        });
    for (auto& th : threads)
        th.join();
    auto lines = read_lines(cfg.json_file); // parse() throws on a torn line
    BOOST_TEST(lines.size() == 800u);
}

// Issue 10: HELO, MAIL FROM and RCPT TO come from the SMTP client with any bytes; the
// record is still one valid JSON line, invalid UTF-8 replaced by U+FFFD.
BOOST_AUTO_TEST_CASE(invalid_utf8_in_envelope_is_replaced) {
    DecisionRecord r = sample("s4");
    r.helo = "h\xff\xc3";
    r.sender = "<a\xfe@x>";
    r.recipients = {"<b\x80@y>", "<c@\xed\xa0\x80z>"};
    r.ptr = "a.ocn.ne.jp\xff";
    const std::string json = DecisionLog::to_json(r);
    auto j = nlohmann::json::parse(json, nullptr, false);
    BOOST_REQUIRE(!j.is_discarded());
    BOOST_TEST(j["helo"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
    BOOST_TEST(j["sender"] == "<a\xef\xbf\xbd@x>");
    BOOST_TEST(j["recipients"][0] == "<b\xef\xbf\xbd@y>");
    BOOST_TEST(j["ptr"] == "a.ocn.ne.jp\xef\xbf\xbd");
}
