#define BOOST_TEST_MODULE classifier
#include <boost/test/unit_test.hpp>

#include "ip25b/classifier.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace ip25b;

namespace {

const std::string kRules = std::string(IP25B_SOURCE_DIR) + "/rules";

std::shared_ptr<const Classifier> load(ClassifierConfig c) {
    auto r = Classifier::load(c);
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
    return r.value();
}

std::shared_ptr<const Classifier> shipped() {
    ClassifierConfig c;
    c.rules = {kRules + "/allowlist", kRules + "/isp"};
    return load(c);
}

PtrResult confirmed(std::string name) {
    PtrResult p;
    p.status = PtrStatus::Confirmed;
    p.name = std::move(name);
    p.names = {p.name};
    return p;
}

IpAddress ip(const char* s) {
    return *IpAddress::parse(s);
}

} // namespace

BOOST_AUTO_TEST_CASE(published_dynamic_name_is_dynamic_with_its_rule) {
    auto c = shipped();
    auto v =
        c->classify(ip("118.8.132.157"), confirmed("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp"));
    BOOST_TEST(to_string(v.cls) == "dynamic");
    BOOST_TEST(v.file.find("jp-ocn.toml") != std::string::npos);
    BOOST_TEST(v.line > 0u);
    BOOST_TEST(!v.rule.empty());
    BOOST_TEST(!v.isp.empty());
    BOOST_TEST(v.evidence.find("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(upper_case_ptr_is_folded) {
    auto v =
        shipped()->classify(ip("106.167.137.155"), confirmed("KD106167137155.ppp-bb.dion.ne.jp"));
    BOOST_TEST(to_string(v.cls) == "dynamic");
}

BOOST_AUTO_TEST_CASE(business_exception_is_not_dynamic) {
    auto v =
        shipped()->classify(ip("126.112.255.110"), confirmed("softbank126112255110.biz.bbtec.net"));
    BOOST_TEST(to_string(v.cls) == "none");
    BOOST_TEST(v.file.find("jp-softbank.toml") != std::string::npos);
    BOOST_TEST(v.evidence.find("exception") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(allowlist_needs_forward_confirmation) {
    auto c = shipped();
    auto ok = c->classify(ip("209.85.214.67"), confirmed("mail-pl1-x643.google.com"));
    BOOST_TEST(to_string(ok.cls) == "allowlisted");
    PtrResult forged = confirmed("mail-pl1-x643.google.com");
    forged.status = PtrStatus::Unconfirmed;
    auto bad = c->classify(ip("203.0.113.9"), forged);
    BOOST_TEST(to_string(bad.cls) == "unknown-ptr");
    BOOST_TEST(bad.evidence.find("forward-confirm") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unconfirmed_dynamic_name_still_counts_unless_required) {
    PtrResult p = confirmed("i114-186-237-30.s41.a014.ap.plala.or.jp");
    p.status = PtrStatus::Unconfirmed;
    auto v = shipped()->classify(ip("114.186.237.30"), p);
    BOOST_TEST(to_string(v.cls) == "dynamic");
    BOOST_TEST(v.evidence.find("not forward-confirmed") != std::string::npos);

    ClassifierConfig strict;
    strict.rules = {kRules + "/isp"};
    strict.require_fcrdns = true;
    BOOST_TEST(to_string(load(strict)->classify(ip("114.186.237.30"), p).cls) == "unknown-ptr");
}

BOOST_AUTO_TEST_CASE(dns_outcomes_map_to_unknown_ptr) {
    auto c = shipped();
    PtrResult p;
    p.status = PtrStatus::TempFail;
    p.detail = "SERVFAIL";
    auto v = c->classify(ip("192.0.2.1"), p);
    BOOST_TEST(to_string(v.cls) == "unknown-ptr");
    BOOST_TEST(v.temporary);
    BOOST_TEST(v.evidence.find("SERVFAIL") != std::string::npos);
    p.status = PtrStatus::NoPtr;
    BOOST_TEST(!c->classify(ip("192.0.2.1"), p).temporary);
    // A garbled answer is DNS trouble, never evidence: temporary, like a timeout.
    p.status = PtrStatus::Malformed;
    auto garbled = c->classify(ip("192.0.2.1"), p);
    BOOST_TEST(to_string(garbled.cls) == "unknown-ptr");
    BOOST_TEST(garbled.temporary);
    // A name nobody validated (e.g. from `check --ptr`) never reaches the matcher.
    auto bad = c->classify(ip("192.0.2.1"), confirmed(std::string("a\0b.ocn.ne.jp", 13)));
    BOOST_TEST(to_string(bad.cls) == "unknown-ptr");
    BOOST_TEST(bad.evidence.find("0x00") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(self_ranges_and_self_rules) {
    ClassifierConfig c;
    c.rules = {kRules + "/isp"};
    c.self_ranges = {*Cidr::parse("198.51.100.0/24")};
    c.self_rules = {kRules + "/isp/jp-plala.toml"};
    auto cl = load(c);
    auto by_range = cl->classify_address(ip("198.51.100.7"));
    BOOST_REQUIRE(by_range);
    BOOST_TEST(to_string(by_range->cls) == "self-dynamic");
    BOOST_TEST(!cl->classify_address(ip("198.51.101.7")));
    // The operator's own rule file wins over the same ISP's published one.
    auto v =
        cl->classify(ip("114.186.237.30"), confirmed("i114-186-237-30.s41.a014.ap.plala.or.jp"));
    BOOST_TEST(to_string(v.cls) == "self-dynamic");
    BOOST_TEST(v.file.find("jp-plala.toml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(postfix_table_results_decide_by_first_word) {
    auto dir = std::filesystem::temp_directory_path() / "ip25b-classifier-test";
    std::filesystem::create_directories(dir);
    auto table = (dir / "t.pcre").string();
    std::ofstream(table) << "/^ok[0-9]+\\.example\\.jp$/ OK\n"
                            "/^dunno\\.example\\.jp$/ DUNNO\n"
                            "/^dyn-([0-9]+)\\.example\\.jp$/ REJECT Generic - relay via ISP $1\n";
    ClassifierConfig c;
    c.rules = {"pcre:" + table};
    auto cl = load(c);
    auto dyn = cl->classify(ip("192.0.2.1"), confirmed("dyn-42.example.jp"));
    BOOST_TEST(to_string(dyn.cls) == "dynamic");
    BOOST_TEST(dyn.result == "REJECT Generic - relay via ISP 42");
    BOOST_TEST(dyn.line == 3u);
    BOOST_TEST(to_string(cl->classify(ip("192.0.2.1"), confirmed("ok1.example.jp")).cls) ==
               "allowlisted");
    BOOST_TEST(to_string(cl->classify(ip("192.0.2.1"), confirmed("dunno.example.jp")).cls) ==
               "none");
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(ip_in_name_is_evidence_or_verdict_by_config) {
    auto name = confirmed("host-203-0-113-45.cust.example.net");
    ClassifierConfig c;
    c.rules = {kRules + "/isp"};
    auto v = load(c)->classify(ip("203.0.113.45"), name);
    BOOST_TEST(to_string(v.cls) == "none");
    BOOST_TEST(v.evidence.find("embeds the client address") != std::string::npos);
    c.ip_in_name_is_dynamic = true;
    auto d = load(c)->classify(ip("203.0.113.45"), name);
    BOOST_TEST(to_string(d.cls) == "dynamic");
    BOOST_TEST(d.rule == "ip-in-name");
    // A different address in the name is not the client's pool name.
    BOOST_TEST(to_string(load(c)->classify(ip("203.0.113.46"), name).cls) == "none");
}

BOOST_AUTO_TEST_CASE(broken_source_names_file_and_line) {
    auto dir = std::filesystem::temp_directory_path() / "ip25b-classifier-bad";
    std::filesystem::create_directories(dir);
    auto table = (dir / "bad.pcre").string();
    std::ofstream(table) << "# comment\n/ok/ OK\n/unclosed(/ REJECT\n";
    ClassifierConfig c;
    c.rules = {"pcre:" + table};
    auto r = Classifier::load(c);
    // Postfix skips a bad line with a warning; so does the loader, and the rest loads.
    if (!r) BOOST_TEST(r.error().to_string().find("bad.pcre:3") != std::string::npos);
    ClassifierConfig missing;
    missing.rules = {(dir / "nope.toml").string()};
    auto m = Classifier::load(missing);
    BOOST_REQUIRE(!m);
    BOOST_TEST(m.error().to_string().find("nope.toml") != std::string::npos);
    ClassifierConfig junk;
    junk.rules = {"ldap:whatever"};
    BOOST_TEST(!Classifier::load(junk));
    std::filesystem::remove_all(dir);
}
