#define BOOST_TEST_MODULE policy
#include <boost/test/unit_test.hpp>

#include "ip25b/policy.hpp"

using namespace ip25b;

namespace {

Classified classified(ClientClass cls, std::string isp = "", std::string rule = "",
                      PtrStatus status = PtrStatus::Confirmed,
                      std::string ptr = "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp") {
    Classified c;
    c.looked_up = true;
    c.ptr.status = status;
    c.ptr.name = std::move(ptr);
    c.ptr.elapsed = std::chrono::microseconds(1500);
    c.verdict.cls = cls;
    c.verdict.isp = std::move(isp);
    c.verdict.rule = std::move(rule);
    c.verdict.file = "/etc/ip25b/rules/isp/ocn.toml";
    c.verdict.line = 12;
    if (status == PtrStatus::TempFail) c.verdict.temporary = true;
    return c;
}

ConnectInfo client(const char* ip, uint16_t port = 40000) {
    ConnectInfo i;
    i.client = IpAddress::parse(ip);
    i.client_port = port;
    i.daemon_name = "smtpd";
    i.daemon_port = 25;
    return i;
}

PolicyConfig open_config() {
    PolicyConfig p;
    p.local_ranges.clear();
    return p;
}

std::shared_ptr<const Policy> make(PolicyConfig p) {
    return std::make_shared<const Policy>(std::move(p));
}

// A classify callback that counts how often the session asked.
struct Counting {
    Classified value;
    int calls = 0;
    ClassifyFn fn() {
        return [this] {
            ++calls;
            return value;
        };
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(default_actions_per_class) {
    Policy p(open_config());
    BOOST_TEST((p.action_for(classified(ClientClass::Dynamic, "OCN")) == Action::Reject));
    BOOST_TEST((p.action_for(classified(ClientClass::SelfDynamic)) == Action::Reject));
    BOOST_TEST((p.action_for(classified(ClientClass::Allowlisted)) == Action::Accept));
    BOOST_TEST((p.action_for(classified(ClientClass::UnknownPtr, "", "", PtrStatus::NoPtr, "")) ==
                Action::Accept));
    BOOST_TEST((p.action_for(classified(ClientClass::None)) == Action::Accept));
    BOOST_TEST((p.action_for(classified(ClientClass::UnknownPtr, "", "", PtrStatus::TempFail,
                                        "")) == Action::Accept));
}

BOOST_AUTO_TEST_CASE(configured_actions_per_class) {
    PolicyConfig c = open_config();
    c.dynamic = Action::Tag;
    c.self_dynamic = Action::Tempfail;
    c.allowlisted = Action::LogOnly;
    c.unknown_ptr = Action::Tempfail;
    c.none = Action::Reject;
    Policy p(c);
    std::string why;
    BOOST_TEST((p.action_for(classified(ClientClass::Dynamic), &why) == Action::Tag));
    BOOST_TEST(why == "class dynamic");
    BOOST_TEST((p.action_for(classified(ClientClass::SelfDynamic)) == Action::Tempfail));
    BOOST_TEST((p.action_for(classified(ClientClass::Allowlisted)) == Action::LogOnly));
    BOOST_TEST((p.action_for(classified(ClientClass::UnknownPtr, "", "", PtrStatus::NoPtr, "")) ==
                Action::Tempfail));
    BOOST_TEST((p.action_for(classified(ClientClass::None)) == Action::Reject));
}

BOOST_AUTO_TEST_CASE(overrides_rule_before_isp) {
    PolicyConfig c = open_config();
    c.overrides.push_back({"", "", "ocn", Action::Tag, "f:1"});
    c.overrides.push_back({"ocn-ftth", "ocn.toml", "", Action::LogOnly, "f:4"});
    c.overrides.push_back({"line 7", "other.pcre", "", Action::Accept, "f:8"});
    Policy p(c);
    std::string why;
    // ISP names compare case-insensitively.
    BOOST_TEST(
        (p.action_for(classified(ClientClass::Dynamic, "OCN", "ocn-adsl"), &why) == Action::Tag));
    BOOST_TEST(why == "override isp=ocn at f:1");
    BOOST_TEST((p.action_for(classified(ClientClass::Dynamic, "OCN", "ocn-ftth"), &why) ==
                Action::LogOnly));
    BOOST_TEST(why == "override rule=ocn-ftth at f:4");
    // A rule override bound to another file does not apply.
    auto v = classified(ClientClass::Dynamic, "", "line 7");
    BOOST_TEST((p.action_for(v) == Action::Reject));
    v.verdict.file = "/etc/postfix/other.pcre";
    BOOST_TEST((p.action_for(v) == Action::Accept));
    BOOST_TEST((p.action_for(classified(ClientClass::Dynamic, "BIGLOBE", "x")) == Action::Reject));
}

BOOST_AUTO_TEST_CASE(failures_are_never_permanent) {
    PolicyConfig c = open_config();
    c.dns_failure = Action::Reject; // a config file cannot say this; the policy still clamps
    c.internal_error = Action::Reject;
    c.unknown_ptr = Action::Reject;
    c.overrides.push_back({"", "", "OCN", Action::Reject, "f:1"});
    Policy p(c);
    auto temp = classified(ClientClass::UnknownPtr, "", "", PtrStatus::TempFail, "");
    temp.ptr.detail = "timeout after 3000 ms";
    std::string why;
    BOOST_TEST((p.action_for(temp, &why) == Action::Tempfail));
    BOOST_TEST(why == "dns failure: timeout after 3000 ms");
    // Even when a classifier forgot the flag, UnknownPtr after TempFail is a failure.
    temp.verdict.temporary = false;
    BOOST_TEST((p.action_for(temp) == Action::Tempfail));
    // A garbled answer with unknown_ptr = reject is DNS trouble, not a 550.
    auto garbled = classified(ClientClass::UnknownPtr, "", "", PtrStatus::Malformed, "");
    BOOST_TEST((p.action_for(garbled) == Action::Tempfail));
    // A temporary verdict that names an ISP is not subject to its override.
    auto temp_isp = classified(ClientClass::Dynamic, "OCN", "r", PtrStatus::TempFail);
    BOOST_TEST((p.action_for(temp_isp) == Action::Tempfail));
    Classified broken;
    broken.internal_error = "no rules loaded";
    BOOST_TEST((p.action_for(broken, &why) == Action::Tempfail));
    BOOST_TEST(why == "internal error: no rules loaded");
    auto ip = IpAddress::parse("192.0.2.9");
    auto r = p.reply_for(Action::Tempfail, temp, &*ip);
    BOOST_TEST(r.rcode == "451");
    BOOST_TEST(r.xcode == "4.4.3");
    BOOST_TEST(r.text == "cannot verify the reverse DNS name of 192.0.2.9; try again later");
    r = p.reply_for(Action::Tempfail, broken, &*ip);
    BOOST_TEST(r.rcode == "451");
    BOOST_TEST(r.xcode == "4.3.0");
}

BOOST_AUTO_TEST_CASE(failure_defaults_accept) {
    Policy p(open_config());
    Classified broken;
    broken.internal_error = "boom";
    BOOST_TEST((p.action_for(broken) == Action::Accept));
}

BOOST_AUTO_TEST_CASE(exemptions_before_lookup) {
    PolicyConfig c;
    c.allowlist.push_back(*Cidr::parse("198.51.100.0/24"));
    Policy p(c);
    BOOST_TEST(*p.exemption(client("127.0.0.1")) == "local range 127.0.0.0/8");
    BOOST_TEST(*p.exemption(client("::1")) == "local range ::1/128");
    BOOST_TEST(*p.exemption(client("192.168.1.20")) == "local range 192.168.0.0/16");
    BOOST_TEST(*p.exemption(client("198.51.100.7")) == "allowlist 198.51.100.0/24");
    BOOST_TEST(!p.exemption(client("118.8.132.157")));
    BOOST_TEST(!p.exemption(client("2001:db8::1")));
    auto sub = client("118.8.132.157");
    sub.daemon_port = 587;
    BOOST_TEST(*p.exemption(sub) == "submission port 587");
    sub.daemon_port = 25;
    sub.daemon_name = "originating";
    BOOST_TEST(*p.exemption(sub) == "submission listener originating");
    ConnectInfo none;
    BOOST_TEST(*p.exemption(none) == "no client address");

    PolicyConfig open = open_config();
    open.submission_ports.clear();
    open.submission_daemon_names.clear();
    Policy q(open);
    BOOST_TEST(!q.exemption(client("127.0.0.1")));
    sub.daemon_port = 587;
    BOOST_TEST(!q.exemption(sub));
}

BOOST_AUTO_TEST_CASE(reply_template_and_escaping) {
    Policy p(open_config());
    auto ip = IpAddress::parse("118.8.132.157");
    auto r = p.reply_for(Action::Reject, classified(ClientClass::Dynamic, "OCN", "ocn-1"), &*ip);
    BOOST_TEST((r.reply == Reply::Reject));
    BOOST_TEST(r.rcode == "550");
    BOOST_TEST(r.xcode == "5.7.1");
    BOOST_TEST(r.text == "118.8.132.157 (p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp) is a dynamic "
                         "address of OCN; send through your provider's mail server (port 587, "
                         "SMTP AUTH)");
    auto none = p.reply_for(Action::Tag, classified(ClientClass::Dynamic), &*ip);
    BOOST_TEST((none.reply == Reply::Continue));

    PolicyConfig c = open_config();
    c.reply_dynamic = "100% {class} {rule} {file} {isp} {unknown} {ip";
    c.tempfail_code = "421";
    Policy q(c);
    r = q.reply_for(Action::Reject, classified(ClientClass::Dynamic, "", "r1"), &*ip);
    BOOST_TEST(r.text == "100%% dynamic r1 ocn.toml its provider {unknown} {ip");
    BOOST_TEST(r.plain_text == "100% dynamic r1 ocn.toml its provider {unknown} {ip");
    r = q.reply_for(Action::Tempfail, classified(ClientClass::Dynamic, "", "r1"), &*ip);
    BOOST_TEST(r.rcode == "421");
    BOOST_TEST(r.xcode == "");
    BOOST_TEST(escape_reply("a\r\nb%\x7f\xc3") == "a  b%% ?");
    BOOST_TEST(escape_reply(std::string(5000, 'x')).size() == 900u);
    auto no_ptr = classified(ClientClass::UnknownPtr, "", "", PtrStatus::NoPtr, "");
    BOOST_TEST(render_template("{ip} ({ptr})", no_ptr, nullptr) == "unknown (no PTR)");
}

BOOST_AUTO_TEST_CASE(session_rejects_at_rcpt_by_default_and_logs_envelope) {
    auto p = make(open_config());
    Session s(p, "s1");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    auto r = s.connect(client("118.8.132.157", 41000), cls.fn());
    BOOST_TEST(r.start_lookup);
    BOOST_TEST((r.reply == Reply::Continue));
    BOOST_TEST((s.helo("bot", cls.fn()).reply == Reply::Continue));
    BOOST_TEST(
        (s.mail("spam@example.net", std::nullopt, "ABC123", cls.fn()).reply == Reply::Continue));
    BOOST_TEST(cls.calls == 0); // the lookup runs while the dialogue goes on
    BOOST_TEST(!s.decided());
    r = s.rcpt("user@example.org", "", cls.fn());
    BOOST_TEST((r.reply == Reply::Reject));
    BOOST_TEST(r.rcode == "550");
    BOOST_TEST(s.decided());
    r = s.rcpt("other@example.org", "", cls.fn());
    BOOST_TEST((r.reply == Reply::Reject));
    BOOST_TEST(cls.calls == 1);
    const auto& rec = s.record();
    BOOST_TEST(rec.session == "s1");
    BOOST_TEST(rec.client_ip == "118.8.132.157");
    BOOST_TEST(rec.client_port == 41000);
    BOOST_TEST(rec.ptr == "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp");
    BOOST_TEST(rec.ptr_status == "confirmed");
    BOOST_TEST(rec.cls == "dynamic");
    BOOST_TEST(rec.isp == "OCN");
    BOOST_TEST(rec.rule == "ocn-1");
    BOOST_TEST(rec.rule_line == 12u);
    BOOST_TEST((rec.action == Action::Reject));
    BOOST_TEST(rec.stage == "rcpt");
    BOOST_TEST(rec.helo == "bot");
    BOOST_TEST(rec.sender == "spam@example.net");
    BOOST_TEST(rec.queue_id == "ABC123");
    BOOST_TEST(rec.recipients.size() == 2u);
    BOOST_TEST(rec.dns_us == 1500);
    BOOST_TEST(rec.reply.rfind("550 5.7.1 118.8.132.157 (", 0) == 0);
    BOOST_TEST(!s.header_to_add());
}

BOOST_AUTO_TEST_CASE(authenticated_sessions_pass_without_lookup_wait) {
    auto p = make(open_config());
    Session s(p, "s2");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    s.connect(client("118.8.132.157"), cls.fn());
    auto r = s.mail("user@example.jp", std::string_view("user"), "", cls.fn());
    BOOST_TEST((r.reply == Reply::Continue));
    BOOST_TEST((s.rcpt("x@example.org", "", cls.fn()).reply == Reply::Continue));
    BOOST_TEST(cls.calls == 0);
    BOOST_TEST((s.record().action == Action::Accept));
    BOOST_TEST(s.record().reason == "authenticated");
    BOOST_TEST(s.record().auth == "user");
    BOOST_TEST(s.record().stage == "mail");
    // An empty {auth_authen} is not an authentication.
    Session t(p, "s3");
    t.connect(client("118.8.132.157"), cls.fn());
    t.mail("u@example.jp", std::string_view(""), "", cls.fn());
    BOOST_TEST((t.rcpt("x@example.org", "", cls.fn()).reply == Reply::Reject));
}

BOOST_AUTO_TEST_CASE(authentication_after_a_refusal_passes) {
    auto p = make(open_config());
    Session s(p, "late-auth");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    s.connect(client("118.8.132.157"), cls.fn());
    s.mail("a@example.jp", std::nullopt, "", cls.fn());
    BOOST_TEST((s.rcpt("x@example.org", "", cls.fn()).reply == Reply::Reject));
    s.abort_message(); // RSET, then AUTH
    BOOST_TEST(
        (s.mail("a@example.jp", std::string_view("user"), "", cls.fn()).reply == Reply::Continue));
    BOOST_TEST((s.rcpt("x@example.org", "", cls.fn()).reply == Reply::Continue));
    // Recorded as passed: the session got its mail through.
    BOOST_TEST((s.record().action == Action::Accept));
    BOOST_TEST((s.record().refused_before_auth == Action::Reject));
    BOOST_TEST(s.record().reason == "class dynamic; then authenticated: passed");
    BOOST_TEST(s.record().auth == "user");
}

BOOST_AUTO_TEST_CASE(stage_selection) {
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    for (Stage st : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt}) {
        PolicyConfig c = open_config();
        c.stage = st;
        auto p = make(c);
        Session s(p, "st");
        std::vector<Reply> replies;
        replies.push_back(s.connect(client("118.8.132.157"), cls.fn()).reply);
        replies.push_back(s.helo("h", cls.fn()).reply);
        replies.push_back(s.mail("a@b", std::nullopt, "", cls.fn()).reply);
        replies.push_back(s.rcpt("c@d", "", cls.fn()).reply);
        for (size_t i = 0; i < replies.size(); ++i)
            BOOST_TEST(
                (replies[i] == (i >= static_cast<size_t>(st) ? Reply::Reject : Reply::Continue)));
        BOOST_TEST(s.record().stage == to_string(st));
    }
    // A stage the MTA skipped (no HELO callback) is enforced at the next one.
    PolicyConfig c = open_config();
    c.stage = Stage::Helo;
    Session s(make(c), "skip");
    s.connect(client("118.8.132.157"), cls.fn());
    BOOST_TEST((s.mail("a@b", std::nullopt, "", cls.fn()).reply == Reply::Reject));
    BOOST_TEST(s.record().stage == "mail");
}

BOOST_AUTO_TEST_CASE(exempt_session_decides_at_connect_without_lookup) {
    PolicyConfig c; // default local ranges
    Session s(make(c), "ex");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    auto r = s.connect(client("127.0.0.2"), cls.fn());
    BOOST_TEST(!r.start_lookup);
    BOOST_TEST((s.rcpt("a@b", "", cls.fn()).reply == Reply::Continue));
    BOOST_TEST(cls.calls == 0);
    BOOST_TEST(s.record().cls == "exempt");
    BOOST_TEST(s.record().reason == "local range 127.0.0.0/8");
    BOOST_TEST(s.record().stage == "connect");
}

BOOST_AUTO_TEST_CASE(dry_run_changes_nothing_but_logs) {
    PolicyConfig c = open_config();
    c.dry_run = true;
    c.self_dynamic = Action::Tag;
    auto p = make(c);
    Session s(p, "dry");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    s.connect(client("118.8.132.157"), cls.fn());
    BOOST_TEST((s.rcpt("a@b", "", cls.fn()).reply == Reply::Continue));
    // Nothing was enforced: the client got "accept"; the policy's choice is `would`.
    BOOST_TEST((s.record().action == Action::Accept));
    BOOST_TEST((s.record().would == Action::Reject));
    BOOST_TEST(s.record().dry_run);
    BOOST_TEST(!s.record().reply.empty());
    Session t(p, "dry-tag");
    Counting self{classified(ClientClass::SelfDynamic)};
    t.connect(client("118.8.132.157"), self.fn());
    t.rcpt("a@b", "", self.fn());
    BOOST_TEST((t.record().action == Action::Accept));
    BOOST_TEST((t.record().would == Action::Tag));
    BOOST_TEST(!t.header_to_add());
}

BOOST_AUTO_TEST_CASE(tag_and_log_only) {
    PolicyConfig c = open_config();
    c.dynamic = Action::Tag;
    c.unknown_ptr = Action::LogOnly;
    auto p = make(c);
    Session s(p, "tag");
    Counting cls{classified(ClientClass::Dynamic, "OCN", "ocn-1")};
    s.connect(client("118.8.132.157"), cls.fn());
    BOOST_TEST((s.rcpt("a@b", "", cls.fn()).reply == Reply::Continue));
    auto h = s.header_to_add();
    BOOST_REQUIRE(h);
    BOOST_TEST(h->first == "X-IP25B");
    BOOST_TEST(h->second == "class=dynamic; isp=OCN; rule=ocn-1; file=ocn.toml:12; "
                            "ptr=p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp");
    Session t(p, "log");
    Counting u{classified(ClientClass::UnknownPtr, "", "", PtrStatus::NoPtr, "")};
    t.connect(client("118.8.132.157"), u.fn());
    BOOST_TEST((t.rcpt("a@b", "", u.fn()).reply == Reply::Continue));
    BOOST_TEST((t.record().action == Action::LogOnly));
    BOOST_TEST(t.record().ptr_status == "no-ptr");
    BOOST_TEST(!t.header_to_add());
}

BOOST_AUTO_TEST_CASE(classify_exception_is_an_internal_error) {
    PolicyConfig c = open_config();
    c.internal_error = Action::Tempfail;
    Session s(make(c), "err");
    ClassifyFn thrower = []() -> Classified { throw std::runtime_error("resolver gone"); };
    s.connect(client("118.8.132.157"), thrower);
    auto r = s.rcpt("a@b", "", thrower);
    BOOST_TEST((r.reply == Reply::Tempfail));
    BOOST_TEST(r.rcode == "451");
    BOOST_TEST(s.record().cls == "error");
    BOOST_TEST(s.record().reason == "internal error: resolver gone");
}

BOOST_AUTO_TEST_CASE(names_round_trip) {
    for (Action a :
         {Action::Reject, Action::Tempfail, Action::Tag, Action::LogOnly, Action::Accept})
        BOOST_TEST((*parse_action(to_string(a)) == a));
    for (Stage s : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt})
        BOOST_TEST((*parse_stage(to_string(s)) == s));
    BOOST_TEST(!parse_action("REJECT"));
    BOOST_TEST(!parse_stage("data"));
}

BOOST_AUTO_TEST_CASE(cloud_and_generic_classes) {
    Policy p(open_config());
    std::string why;
    // Defaults: a cloud host is a server (accept); the generic tier's guess is a 4xx.
    BOOST_TEST((p.action_for(classified(ClientClass::Cloud, "Amazon EC2", "ec2-us-east-1"), &why) ==
                Action::Accept));
    BOOST_TEST(why == "class cloud");
    Classified g = classified(ClientClass::Generic, "", "generic", PtrStatus::Confirmed,
                              "dsl-198-51-100-23.dyn.example.net");
    g.verdict.file.clear();
    g.verdict.line = 0;
    g.verdict.weighed = {{"dsl", "access", "0..3", 30, false},
                         {"dyn", "allocation", "18..21", 50, false},
                         {"client-address", "address", "4..17", 40, false}};
    g.verdict.score = 120;
    BOOST_TEST((p.action_for(g, &why) == Action::Tempfail));
    BOOST_TEST(why == "class generic");
    auto client = IpAddress::parse("198.51.100.23");
    auto r = p.reply_for(Action::Tempfail, g, &*client);
    BOOST_TEST((r.reply == Reply::Tempfail));
    BOOST_TEST(r.rcode == "450");
    BOOST_TEST(r.xcode == "4.7.1");
    BOOST_TEST(r.plain_text ==
               "198.51.100.23 (dsl-198-51-100-23.dyn.example.net) looks like an end-user address "
               "(generic name: dsl, dyn, client-address); send through your provider's mail "
               "server (port 587, SMTP AUTH)");
    // Configured: tag cloud, reject generic; the cloud reply names the provider.
    PolicyConfig c = open_config();
    c.cloud = Action::Tempfail;
    c.generic = Action::Reject;
    Policy q(c);
    Classified cl = classified(ClientClass::Cloud, "Amazon EC2", "ec2-us-east-1",
                               PtrStatus::Confirmed, "ec2-54-210-12-7.compute-1.amazonaws.com");
    BOOST_TEST((q.action_for(cl) == Action::Tempfail));
    BOOST_TEST((q.action_for(g) == Action::Reject));
    auto cr = q.reply_for(Action::Tempfail, cl, &*client);
    BOOST_TEST(cr.plain_text.find("provider-generated name of Amazon EC2") != std::string::npos);
    BOOST_TEST(cr.plain_text.find("port 587") != std::string::npos);
    // An override by rule id reaches the generic tier too.
    PolicyConfig o = open_config();
    o.overrides.push_back({"generic", "", "", Action::LogOnly, "test.conf:1"});
    BOOST_TEST((Policy(o).action_for(g) == Action::LogOnly));
    // {reason} outside the generic class is the class.
    BOOST_TEST(render_template("{reason}", cl, &*client) == "cloud");
}

BOOST_AUTO_TEST_CASE(generic_evidence_reaches_the_decision_record) {
    Counting k;
    k.value = classified(ClientClass::Generic, "", "generic", PtrStatus::Confirmed,
                         "dsl-198-51-100-23.dyn.example.net");
    k.value.verdict.weighed = {{"dsl", "access", "0..3", 30, false},
                               {"static", "static", "4..10", 0, true}};
    k.value.verdict.score = 30;
    Session s(make(open_config()), "t1");
    s.connect(client("198.51.100.23"), k.fn());
    s.helo("x", k.fn());
    s.mail("a@b.example", std::nullopt, "", k.fn());
    auto r = s.rcpt("c@d.example", "", k.fn());
    BOOST_TEST((r.reply == Reply::Tempfail));
    BOOST_TEST(s.record().cls == "generic");
    BOOST_TEST(s.record().score == 30);
    BOOST_REQUIRE(s.record().weighed.size() == 2u);
    BOOST_TEST(s.record().weighed[0] == "dsl+30");
    BOOST_TEST(s.record().weighed[1] == "static:veto");
}
