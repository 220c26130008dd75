// decide_client(): the one decision path of the milter and `ip25b check`.
// What it must guarantee beyond the Session's own tests: a lookup only when
// the decision needs one, and the record and reply of the deciding step.
#define BOOST_TEST_MODULE client_decision
#include <boost/test/unit_test.hpp>

#include "ip25b/client_decision.hpp"

using namespace ip25b;

namespace {

const std::string kRules = std::string(IP25B_SOURCE_DIR) + "/rules";

std::shared_ptr<const Classifier> classifier() {
    static auto c = [] {
        ClassifierConfig cc;
        cc.rules = {kRules + "/isp/jp/ocn.toml"};
        cc.self_ranges = {*Cidr::parse("203.0.113.0/24")};
        return Classifier::load(cc).value();
    }();
    return c;
}

ClientFacts facts(const char* ip) {
    ClientFacts f;
    f.connect.client = IpAddress::parse(ip);
    f.connect.daemon_name = "smtpd";
    f.connect.daemon_port = 25;
    f.helo = "client.example";
    f.sender = "bot@example.net";
    f.recipients = {"user@example.org", "other@example.org"};
    f.queue_id = "Q1";
    return f;
}

struct CountingLookup {
    int calls = 0;
    std::string name;
    PtrLookupFn fn() {
        return [this] {
            ++calls;
            PtrResult p;
            p.status = name.empty() ? PtrStatus::NoPtr : PtrStatus::Confirmed;
            p.name = name;
            if (!name.empty()) p.names = {name};
            return p;
        };
    }
};

const char* kOcn = "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp";

} // namespace

BOOST_AUTO_TEST_CASE(dynamic_client_is_refused_at_rcpt_with_one_lookup) {
    auto policy = std::make_shared<const Policy>(PolicyConfig{});
    CountingLookup l{0, kOcn};
    auto d = decide_client(policy, *classifier(), facts("118.8.132.157"), l.fn(), "t1");
    BOOST_TEST(l.calls == 1);
    BOOST_TEST(d.decided);
    BOOST_TEST((d.stage == Stage::Rcpt));
    BOOST_TEST((d.reply.reply == Reply::Reject));
    BOOST_TEST((d.record.action == Action::Reject));
    BOOST_TEST(d.record.cls == "dynamic");
    BOOST_TEST(d.record.rule == "ocn-pool");
    BOOST_TEST(d.record.stage == "rcpt");
    // The first refusal ends the session, as the MTA ends it.
    BOOST_TEST(d.record.recipients.size() == 1u);
    BOOST_TEST(d.record.reply.rfind("550 5.7.1 118.8.132.157 (" + std::string(kOcn) + ")", 0) == 0);
    BOOST_TEST(d.record.reply == d.reply.rcode + " " + d.reply.xcode + " " + d.reply.plain_text);
    BOOST_REQUIRE(d.classified.has_value());
    BOOST_TEST(d.classified->looked_up);
}

BOOST_AUTO_TEST_CASE(exempt_and_authenticated_clients_are_never_looked_up) {
    auto policy = std::make_shared<const Policy>(PolicyConfig{});
    CountingLookup l{0, kOcn};
    auto local = decide_client(policy, *classifier(), facts("127.0.0.5"), l.fn(), "t2");
    BOOST_TEST(local.record.cls == "exempt");
    BOOST_TEST((local.stage == Stage::Rcpt)); // nothing refused: every step was played
    BOOST_TEST(local.record.stage == "connect");
    BOOST_TEST(!local.classified.has_value());

    auto f = facts("118.8.132.157");
    f.auth = "alice";
    auto authed = decide_client(policy, *classifier(), f, l.fn(), "t3");
    BOOST_TEST(authed.record.cls == "exempt");
    BOOST_TEST(authed.record.reason == "authenticated");
    BOOST_TEST(authed.record.auth == "alice");

    f = facts("118.8.132.157");
    f.connect.daemon_port = 587;
    auto submission = decide_client(policy, *classifier(), f, l.fn(), "t4");
    BOOST_TEST(submission.record.reason == "submission port 587");
    BOOST_TEST(l.calls == 0);
}

BOOST_AUTO_TEST_CASE(own_range_is_decided_by_address_without_dns) {
    auto policy = std::make_shared<const Policy>(PolicyConfig{});
    CountingLookup l{0, kOcn};
    auto d = decide_client(policy, *classifier(), facts("203.0.113.9"), l.fn(), "t5");
    BOOST_TEST(l.calls == 0);
    BOOST_TEST(d.record.cls == "self-dynamic");
    BOOST_TEST(d.record.ptr_status == "not-looked-up");
    BOOST_TEST((d.record.action == Action::Reject));
}

BOOST_AUTO_TEST_CASE(dry_run_enforces_nothing_and_records_what_it_would_do) {
    PolicyConfig pc;
    pc.dry_run = true;
    auto policy = std::make_shared<const Policy>(pc);
    CountingLookup l{0, kOcn};
    auto d = decide_client(policy, *classifier(), facts("118.8.132.157"), l.fn(), "t6");
    BOOST_TEST((d.reply.reply == Reply::Continue));
    BOOST_TEST((d.record.action == Action::Accept));
    BOOST_TEST((d.record.would == Action::Reject));
    BOOST_TEST(d.record.recipients.size() == 2u);
    BOOST_TEST(!d.record.reply.empty()); // the reply it would have sent
}

BOOST_AUTO_TEST_CASE(a_stage_never_reached_leaves_the_session_undecided) {
    auto policy = std::make_shared<const Policy>(PolicyConfig{});
    CountingLookup l{0, kOcn};
    auto f = facts("118.8.132.157");
    f.recipients.clear();
    auto d = decide_client(policy, *classifier(), f, l.fn(), "t7");
    BOOST_TEST(!d.decided);
    BOOST_TEST((d.reply.reply == Reply::Continue));
}

BOOST_AUTO_TEST_CASE(no_client_address_is_an_internal_error_never_a_reject) {
    PolicyConfig pc;
    pc.local_ranges.clear();
    auto policy = std::make_shared<const Policy>(pc);
    CountingLookup l{0, kOcn};
    auto f = facts("118.8.132.157");
    f.connect.client.reset();
    auto d = decide_client(policy, *classifier(), f, l.fn(), "t8");
    BOOST_TEST(l.calls == 0);
    BOOST_TEST(!is_refusal(d.record.action));
}
