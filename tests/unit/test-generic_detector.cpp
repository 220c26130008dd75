#define BOOST_TEST_MODULE generic_detector
#include <boost/test/unit_test.hpp>

#include "ip25b/generic_detector.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

const std::string kRules = std::string(IP25B_SOURCE_DIR) + "/rules";

GenericDetector make(int threshold = kDefaultGenericThreshold,
                     std::vector<std::string> hosting = {}, std::vector<std::string> cloud = {}) {
    GenericDetectorConfig c;
    c.threshold = threshold;
    c.hosting_files = std::move(hosting);
    c.cloud_domains = std::move(cloud);
    auto d = GenericDetector::load(c);
    BOOST_REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().to_string()));
    return std::move(d).value();
}

IpAddress ip(const char* text) {
    return *IpAddress::parse(text);
}

const Signal* find(const GenericResult& r, std::string_view token) {
    for (size_t i = 0; i < r.count; ++i)
        if (r.signals[i].token == token) return &r.signals[i];
    return nullptr;
}

struct TempFile {
    fs::path path;
    explicit TempFile(const std::string& text) {
        path = fs::temp_directory_path() / ("ip25b-gd-" + std::to_string(getpid()) + ".txt");
        std::ofstream(path) << text;
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

} // namespace

// Every access token, alone in a host label, counts with its kind's weight.
BOOST_AUTO_TEST_CASE(each_access_token_has_its_weight) {
    auto d = make();
    struct Case {
        std::vector<const char*> tokens;
        SignalKind kind;
        int weight;
    };
    const Case cases[] = {
        {{"dyn", "dynamic", "dynamicip", "dynip", "dhcp", "pool", "ppp", "pppoe", "pppoa", "dial",
          "dialup", "dialin"},
         SignalKind::Allocation,
         kWeightAllocation},
        {{"res", "resnet", "residential", "home"}, SignalKind::Residential, kWeightResidential},
        {{"dsl",       "adsl",  "vdsl",   "xdsl", "cable", "catv",     "docsis", "cm",    "hfc",
          "ftth",      "fttx",  "fttb",   "fttc", "fttp",  "fttn",     "fiber",  "fibre", "gpon",
          "broadband", "bb",    "mobile", "mob",  "umts",  "lte",      "3g",     "4g",    "5g",
          "gprs",      "hsdpa", "hspa",   "wlan", "wifi",  "wireless", "wimax",  "cpe"},
         SignalKind::Access,
         kWeightAccess},
        {{"client", "clients", "cust", "customer", "customers", "user", "users", "subscriber",
          "nat", "cgnat", "cgn"},
         SignalKind::Customer,
         kWeightCustomer},
        {{"host", "ip"}, SignalKind::Weak, kWeightWeak},
    };
    for (const auto& c : cases)
        for (const char* t : c.tokens) {
            std::string name = std::string(t) + ".x.example.net";
            auto r = d.detect(name, nullptr);
            BOOST_TEST_CONTEXT(name) {
                BOOST_REQUIRE(r.count == 1u);
                BOOST_TEST(r.signals[0].token == t);
                BOOST_TEST((r.signals[0].kind == c.kind));
                BOOST_TEST(r.signals[0].weight == c.weight);
                BOOST_TEST(!r.signals[0].veto);
                BOOST_TEST(r.score == c.weight);
                BOOST_TEST(!r.vetoed);
            }
        }
}

// Every static token vetoes, whatever else the name says.
BOOST_AUTO_TEST_CASE(each_veto_token_vetoes) {
    auto d = make();
    struct Case {
        std::vector<const char*> tokens;
        SignalKind kind;
    };
    const Case cases[] = {
        {{"static", "staticip", "fix", "fixed", "fixip", "biz", "business", "corp", "corporate",
          "enterprise", "dedicated", "ded", "colo", "colocation", "leased"},
         SignalKind::Static},
        {{"server", "servers", "srv", "vps", "vds", "hosting", "hosted", "cloud", "datacenter",
          "www", "web", "ftp"},
         SignalKind::Server},
        {{"mail", "email", "mx", "smtp", "mta", "relay", "mailout", "mailgw"}, SignalKind::Mail},
        {{"ns", "dns", "gw", "gateway", "router", "rtr", "core", "vpn"}, SignalKind::Infra},
    };
    const IpAddress client = ip("192.0.2.7");
    for (const auto& c : cases)
        for (const char* t : c.tokens) {
            // Strong dynamic evidence beside it: the veto still wins.
            std::string name = std::string("dyn-pool-192-0-2-7.") + t + ".example.net";
            auto r = d.detect(name, &client);
            BOOST_TEST_CONTEXT(name) {
                const Signal* s = find(r, t);
                BOOST_REQUIRE(s);
                BOOST_TEST((s->kind == c.kind));
                BOOST_TEST(s->veto);
                BOOST_TEST(s->weight == 0);
                BOOST_TEST(r.vetoed);
                BOOST_TEST(!r.generic);
                BOOST_TEST(r.score >= kDefaultGenericThreshold); // would have been generic
            }
        }
}

BOOST_AUTO_TEST_CASE(ip_in_name_evidence) {
    auto d = make();
    const IpAddress client = ip("192.0.2.7");
    // The client's whole address.
    auto r = d.detect("192-0-2-7.example.net", &client);
    BOOST_REQUIRE(r.count == 1u);
    BOOST_TEST(r.signals[0].token == "client-address");
    BOOST_TEST((r.signals[0].kind == SignalKind::Address));
    BOOST_TEST(r.signals[0].weight == kWeightClientAddress);
    BOOST_TEST(r.signals[0].pos == 0u);
    BOOST_TEST(r.signals[0].len == 9u);
    // Alone it is below the threshold: hosting providers do it too.
    BOOST_TEST(!r.generic);
    // With an access token it is generic.
    r = d.detect("dsl-192-0-2-7.example.net", &client);
    BOOST_TEST(r.score == kWeightAccess + kWeightClientAddress);
    BOOST_TEST(r.generic);
    // Another address: weak evidence.
    r = d.detect("dsl-198-51-100-9.example.net", &client);
    const Signal* s = find(r, "other-address");
    BOOST_REQUIRE(s);
    BOOST_TEST(s->weight == kWeightOtherAddress);
    BOOST_TEST(!r.generic);
    // Only the client's trailing octets (reported only when they equal the client's).
    const IpAddress asahi = ip("203.0.3.54");
    r = d.detect("ad003054.example.net", &asahi);
    s = find(r, "partial-client-address");
    BOOST_REQUIRE(s);
    BOOST_TEST(s->weight == kWeightPartialAddress);
    // No digits, no address evidence; no client, no "client-address".
    r = d.detect("dyn.example.net", &client);
    BOOST_TEST(!find(r, "client-address"));
    r = d.detect("dsl-192-0-2-7.example.net", nullptr);
    BOOST_TEST(!find(r, "client-address"));
    BOOST_TEST(find(r, "other-address"));
}

BOOST_AUTO_TEST_CASE(threshold_decides) {
    const IpAddress client = ip("192.0.2.7");
    // dsl + client address = 70.
    BOOST_TEST(make(70).detect("dsl-192-0-2-7.example.net", &client).generic);
    BOOST_TEST(!make(71).detect("dsl-192-0-2-7.example.net", &client).generic);
    // Customer tokens only add to other evidence: cust + address = 55 < 60.
    BOOST_TEST(!make().detect("cust-192-0-2-7.example.net", &client).generic);
    BOOST_TEST(make().detect("cust-192-0-2-7.dyn.example.net", &client).generic);
    // Two strong tokens make a pool name without an address.
    BOOST_TEST(make().detect("adsl-pool.example.net", nullptr).generic);
    BOOST_TEST(!make().detect("dynamic.example.net", nullptr).generic);
    GenericDetectorConfig bad;
    bad.threshold = 0;
    BOOST_TEST(!GenericDetector::load(bad).has_value());
}

BOOST_AUTO_TEST_CASE(tokens_are_segments_or_letter_runs_never_substrings) {
    auto d = make();
    // Letter runs inside a segment: adsl123, pool7a.
    auto r = d.detect("adsl123.pool7.example.net", nullptr);
    BOOST_TEST(find(r, "adsl"));
    BOOST_TEST(find(r, "pool"));
    BOOST_TEST(r.generic);
    // Words that merely contain a token count for nothing.
    r = d.detect("cablevision-dialog-poolside.example.net", nullptr);
    BOOST_TEST(r.count == 0u);
    // A token seen twice counts once.
    r = d.detect("dyn-dyn.dyn.example.net", nullptr);
    BOOST_TEST(r.count == 1u);
    BOOST_TEST(r.score == kWeightAllocation);
    // Underscores separate too.
    r = d.detect("ppp_1.example.net", nullptr);
    BOOST_TEST(find(r, "ppp"));
}

BOOST_AUTO_TEST_CASE(the_registrable_domain_is_not_weighed) {
    auto d = make();
    // The provider's own name may hold a token: it says nothing about the host.
    auto r = d.detect("host1.dsl.net", nullptr);
    BOOST_TEST(!find(r, "dsl"));
    BOOST_TEST(find(r, "host"));
    r = d.detect("a.mail.co.uk", nullptr); // registrable domain mail.co.uk
    BOOST_TEST(!r.vetoed);
    r = d.detect("a.dyn.mail.co.uk", nullptr);
    BOOST_TEST(find(r, "dyn"));
    BOOST_TEST(!find(r, "mail"));
    // ... but a mail host under an ISP zone is vetoed.
    r = d.detect("mx1.dyn.example.co.jp", nullptr);
    BOOST_TEST(find(r, "mx"));
    BOOST_TEST(r.vetoed);
}

BOOST_AUTO_TEST_CASE(hosting_and_cloud_domains_veto) {
    TempFile list("# hosting\nexample-hosting.net  # comment\n\n  Other-Host.example  \n");
    auto d = make(kDefaultGenericThreshold, {list.path.string()}, {"cloud.example"});
    BOOST_TEST(d.domain_count() == 3u);
    const IpAddress client = ip("192.0.2.7");
    auto r = d.detect("dyn-192-0-2-7.pool.example-hosting.net", &client);
    const Signal* s = find(r, "example-hosting.net");
    BOOST_REQUIRE(s);
    BOOST_TEST((s->kind == SignalKind::Hosting));
    BOOST_TEST(s->veto);
    BOOST_TEST(!r.generic);
    r = d.detect("dyn-192-0-2-7.other-host.example", &client);
    BOOST_TEST(r.vetoed);
    r = d.detect("dyn-192-0-2-7.pool.cloud.example", &client);
    s = find(r, "cloud.example");
    BOOST_REQUIRE(s);
    BOOST_TEST((s->kind == SignalKind::Cloud));
    BOOST_TEST(!r.generic);
    // A zone matches on whole labels only.
    r = d.detect("dyn-192-0-2-7.notexample-hosting.net", &client);
    BOOST_TEST(!r.vetoed);
    BOOST_TEST(r.generic);
}

BOOST_AUTO_TEST_CASE(isp_zones_are_authoritative) {
    GenericDetectorConfig c;
    c.isp_domains = {"isp.example"};
    c.cloud_domains = {"vm.isp.example"};
    auto d = GenericDetector::load(c);
    BOOST_REQUIRE(d.has_value());
    const IpAddress client = ip("192.0.2.7");
    // The ISP file did not call it dynamic: the generic tier does not either.
    auto r = d->detect("dyn-192-0-2-7.pool.isp.example", &client);
    const Signal* s = find(r, "isp.example");
    BOOST_REQUIRE(s);
    BOOST_TEST((s->kind == SignalKind::IspZone));
    BOOST_TEST(to_string(s->kind) == "isp-zone");
    BOOST_TEST(!r.generic);
    // The longest listed zone names the veto.
    r = d->detect("dyn-192-0-2-7.vm.isp.example", &client);
    BOOST_TEST(find(r, "vm.isp.example"));
    BOOST_TEST(!find(r, "isp.example"));
}

BOOST_AUTO_TEST_CASE(domain_list_errors_name_file_and_line) {
    {
        TempFile list("ok.example\nnot a domain\n");
        auto d = load_domain_list(list.path.string());
        BOOST_REQUIRE(!d.has_value());
        BOOST_TEST(d.error().line == 2u);
    }
    {
        TempFile list("ok.example\n\nnet\n");
        auto d = load_domain_list(list.path.string());
        BOOST_REQUIRE(!d.has_value());
        BOOST_TEST(d.error().line == 3u);
        BOOST_TEST(d.error().reason.find("top-level") != std::string::npos);
    }
    {
        TempFile list("a.example\nA.example.\n");
        auto d = load_domain_list(list.path.string());
        BOOST_REQUIRE(!d.has_value());
        BOOST_TEST(d.error().reason.find("listed twice") != std::string::npos);
    }
    auto missing = load_domain_list("/nonexistent/ip25b-domains.txt");
    BOOST_REQUIRE(!missing.has_value());
    BOOST_TEST(missing.error().reason.find("cannot open") != std::string::npos);
    // The shipped list loads.
    auto shipped = load_domain_list(kRules + "/hosting/domains.txt");
    BOOST_REQUIRE_MESSAGE(shipped.has_value(),
                          (shipped ? std::string() : shipped.error().to_string()));
    BOOST_TEST(shipped->size() >= 20u);
}

BOOST_AUTO_TEST_CASE(evidence_list_and_summary) {
    auto d = make();
    const IpAddress client = ip("192.0.2.7");
    auto r = d.detect("dsl-192-0-2-7.pool.example.net", &client);
    auto ev = GenericDetector::evidence(r);
    BOOST_REQUIRE(ev.size() == 3u);
    int sum = 0;
    for (const auto& e : ev)
        sum += e.weight;
    BOOST_TEST(sum == r.score);
    BOOST_TEST(ev[0].token == "dsl");
    BOOST_TEST(ev[0].kind == "access");
    BOOST_TEST(ev[0].at == "0..3");
    BOOST_TEST(ev[1].token == "pool");
    BOOST_TEST(ev[1].at == "14..18");
    BOOST_TEST(ev[2].token == "client-address");
    BOOST_TEST(ev[2].at == "4..13");
    BOOST_TEST(GenericDetector::summary(r) == "dsl +30, pool +50, client-address +40 = 120");
    r = d.detect("static-192-0-2-7.example.net", &client);
    BOOST_TEST(GenericDetector::summary(r) == "static (static, veto), client-address +40 = 40");
    r = d.detect("www.example.net", nullptr);
    BOOST_TEST(GenericDetector::summary(r) == "www (server, veto) = 0");
    r = d.detect("example.net", nullptr);
    BOOST_TEST(GenericDetector::summary(r) == "no evidence = 0");
}

BOOST_AUTO_TEST_CASE(hostile_input_yields_nothing) {
    auto d = make();
    BOOST_TEST(d.detect("", nullptr).count == 0u);
    std::string longname(300, 'a');
    BOOST_TEST(d.detect(longname, nullptr).count == 0u);
    // Many labels: bounded by the fixed result size, no overflow.
    std::string many;
    for (int i = 0; i < 60; ++i)
        many += "dyn" + std::to_string(i) + "-pool-dsl-cm-res.";
    many += "example.net";
    auto r = d.detect(many.substr(0, 253), nullptr);
    BOOST_TEST(r.count <= GenericResult::kMaxSignals);
    BOOST_TEST(r.generic);
}
