#define BOOST_TEST_MODULE ip_in_name
#include <boost/test/unit_test.hpp>

#include "ip25b/ip_in_name.hpp"

#include <random>
#include <string>

#include <ostream>

namespace ip25b {
std::ostream& operator<<(std::ostream& os, IpEvidence e) {
    return os << to_string(e);
}
} // namespace ip25b

using namespace ip25b;

namespace {

IpAddress ip(const char* s) {
    auto a = IpAddress::parse(s);
    BOOST_REQUIRE_MESSAGE(a, s);
    return *a;
}

struct Case {
    const char* name;
    const char* client;
    IpEncoding encoding;
    size_t pos;
    size_t len;
};

} // namespace

// Every example with its address in docs/isp-patterns.md decodes to the client.
BOOST_AUTO_TEST_CASE(isp_pattern_examples_equal_client) {
    const Case cases[] = {
        {"i114-186-237-30.s41.a014.ap.plala.or.jp", "114.186.237.30", IpEncoding::Decimal, 1, 14},
        {"softbank219203027033.bbtec.net", "219.203.27.33", IpEncoding::Padded, 8, 12},
        {"softbank126112255110.biz.bbtec.net", "126.112.255.110", IpEncoding::Padded, 8, 12},
        {"KD106167137155.ppp-bb.dion.ne.jp", "106.167.137.155", IpEncoding::Padded, 2, 12},
        {"p784a66b9.tkyea130.ap.so-net.ne.jp", "120.74.102.185", IpEncoding::Hex, 1, 8},
        {"fpa446b85c.tkyc319.ap.nuro.jp", "164.70.184.92", IpEncoding::Hex, 2, 8},
        {"fpabcdefbe.ap.nuro.jp", "171.205.239.190", IpEncoding::Hex, 2, 8},
        {"FL1-119-244-79-106.tky.mesh.ad.jp", "119.244.79.106", IpEncoding::Decimal, 4, 14},
        {"59-190-207-251f1.hyg2.eonet.ne.jp", "59.190.207.251", IpEncoding::Decimal, 0, 14},
        {"zaq31fa9922.rev.zaq.ne.jp", "49.250.153.34", IpEncoding::Hex, 3, 8},
        {"59-171-177-165.rev.home.ne.jp", "59.171.177.165", IpEncoding::Decimal, 0, 14},
        {"133-32-232-101.west.xps.vectant.ne.jp", "133.32.232.101", IpEncoding::Decimal, 0, 14},
        {"221x248x149x153.ap221.ftth.ucom.ne.jp", "221.248.149.153", IpEncoding::Decimal, 0, 15},
        {"123-48-16-240.area55c.commufa.jp", "123.48.16.240", IpEncoding::Decimal, 0, 13},
        {"231.26.30.125.dy.iij4u.or.jp", "125.30.26.231", IpEncoding::DecimalReversed, 0, 13},
        {"118.153.231.153.ap.dti.ne.jp", "153.231.153.118", IpEncoding::DecimalReversed, 0, 15},
        {"61-114-134-192.ppp.bbiq.jp", "61.114.134.192", IpEncoding::Decimal, 0, 14},
        {"M014010124080.v4.enabler.ne.jp", "14.10.124.80", IpEncoding::Padded, 1, 12},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            IpAddress client = ip(c.client);
            IpInName r = find_ip_in_name(c.name, &client);
            BOOST_TEST(r.evidence == IpEvidence::Equal);
            BOOST_REQUIRE(r.best());
            BOOST_TEST(r.best()->equals_client);
            BOOST_TEST(to_string(r.best()->encoding) == to_string(c.encoding));
            BOOST_TEST(r.best()->pos == c.pos);
            BOOST_TEST(r.best()->len == c.len);
            BOOST_TEST(r.best()->address.to_string() == c.client);
            BOOST_TEST(r.explain().find("embeds the client address") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(names_without_the_address) {
    // OCN and @nifty carry a serial, not the address.
    IpAddress ocn = ip("118.8.132.157");
    IpInName r = find_ip_in_name("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp", &ocn);
    BOOST_TEST(r.evidence == IpEvidence::None);
    BOOST_TEST(r.explain() == "no IPv4 address in the name");
    IpAddress nifty = ip("124.27.253.158");
    r = find_ip_in_name("ntsitm247158.sitm.nt.ngn.ppp.infoweb.ne.jp", &nifty);
    BOOST_TEST(r.evidence == IpEvidence::None);
    BOOST_TEST(find_ip_in_name("mail.example.com", nullptr).evidence == IpEvidence::None);
    BOOST_TEST(find_ip_in_name("", nullptr).evidence == IpEvidence::None);
}

BOOST_AUTO_TEST_CASE(asahi_last_two_octets_are_partial) {
    IpAddress client = ip("180.235.3.54");
    IpInName r = find_ip_in_name("ad003054.dynamic.ppp.asahi-net.or.jp", &client);
    BOOST_TEST(r.evidence == IpEvidence::Partial);
    BOOST_REQUIRE(r.best());
    BOOST_TEST(to_string(r.best()->encoding) == "partial");
    BOOST_TEST(r.best()->octets == 2u);
    BOOST_TEST(r.best()->pos == 2u);
    BOOST_TEST(r.best()->len == 6u);
    BOOST_TEST(!r.best()->equals_client);
    BOOST_TEST(r.best()->describe() == "partial *.*.3.54 at 2..8");
    // The hex reading of "ad003054" is reported too, as a different address.
    bool hex_seen = false;
    for (const auto& e : r.found)
        if (e.encoding == IpEncoding::Hex) {
            hex_seen = true;
            BOOST_TEST(!e.equals_client);
            BOOST_TEST(e.address.to_string() == "173.0.48.84");
        }
    BOOST_TEST(hex_seen);
    // Another client's tail is not evidence.
    IpAddress other = ip("180.235.3.55");
    BOOST_TEST(find_ip_in_name("ad003054.dynamic.ppp.asahi-net.or.jp", &other).evidence ==
               IpEvidence::Different);
}

BOOST_AUTO_TEST_CASE(three_decimal_octets_are_partial) {
    IpAddress client = ip("10.20.30.40");
    IpInName r = find_ip_in_name("host-20-30-40.example.net", &client);
    BOOST_TEST(r.evidence == IpEvidence::Partial);
    BOOST_TEST(r.best()->describe() == "partial *.20.30.40 at 5..13");
    // Without a client nothing partial can be said.
    BOOST_TEST(find_ip_in_name("host-20-30-40.example.net", nullptr).evidence == IpEvidence::None);
}

BOOST_AUTO_TEST_CASE(decoded_but_different) {
    IpAddress client = ip("192.0.2.1");
    IpInName r = find_ip_in_name("i114-186-237-30.s41.a014.ap.plala.or.jp", &client);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    BOOST_TEST(r.best()->address.to_string() == "114.186.237.30");
    BOOST_TEST(!r.best()->equals_client);
    BOOST_TEST(r.explain() ==
               "name embeds 114.186.237.30, not the client (decimal 114.186.237.30 at 1..15)");
    // No client: every stand-alone decode is "different".
    r = find_ip_in_name("softbank219203027033.bbtec.net", nullptr);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    BOOST_TEST(to_string(r.best()->encoding) == "padded");
    r = find_ip_in_name("p784a66b9.tkyea130.ap.so-net.ne.jp", nullptr);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    BOOST_TEST(r.best()->address.to_string() == "120.74.102.185");
}

BOOST_AUTO_TEST_CASE(reversed_orders_only_when_equal) {
    // The reversed reading is offered only when it is the client.
    IpAddress client = ip("125.30.26.231");
    IpInName r = find_ip_in_name("231.26.30.125.dy.iij4u.or.jp", nullptr);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    BOOST_TEST(to_string(r.best()->encoding) == "decimal");
    BOOST_TEST(r.best()->address.to_string() == "231.26.30.125");
    // Reversed padded and reversed hex.
    IpAddress sb = ip("219.203.27.33");
    r = find_ip_in_name("x033027203219.example.jp", &sb);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    BOOST_TEST(to_string(r.best()->encoding) == "padded-reversed");
    IpAddress so = ip("120.74.102.185");
    r = find_ip_in_name("pb9664a78.example.jp", &so);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    BOOST_TEST(to_string(r.best()->encoding) == "hex-reversed");
    (void)client;
}

BOOST_AUTO_TEST_CASE(windows_inside_longer_runs_only_when_equal) {
    // A 9-hex-digit run: the 8-digit windows count only if one is the client.
    IpAddress client = ip("171.205.239.190");
    IpInName r = find_ip_in_name("fabcdefbe.example.jp", &client);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    BOOST_TEST(r.best()->pos == 1u);
    r = find_ip_in_name("fabcdefbe.example.jp", nullptr);
    BOOST_TEST(r.evidence == IpEvidence::None);
    // A 13-digit run holds a 12-digit padded address.
    IpAddress kd = ip("106.167.137.155");
    r = find_ip_in_name("a1106167137155.example.jp", &kd);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    BOOST_TEST(r.best()->pos == 2u);
    BOOST_TEST(find_ip_in_name("a1106167137155.example.jp", nullptr).evidence == IpEvidence::None);
}

BOOST_AUTO_TEST_CASE(false_decodes_are_kept_down) {
    // Octets over 255 are no address.
    BOOST_TEST(find_ip_in_name("999999999999.example.jp", nullptr).evidence == IpEvidence::None);
    BOOST_TEST(find_ip_in_name("300-1-2-3.example.jp", nullptr).evidence == IpEvidence::None);
    // Four-digit groups are not octets.
    BOOST_TEST(find_ip_in_name("1000-1-2-3.example.jp", nullptr).evidence == IpEvidence::None);
    // An all-digit 8-run is a serial, not hex, unless it is the client.
    BOOST_TEST(find_ip_in_name("host12345678.example.jp", nullptr).evidence == IpEvidence::None);
    IpAddress c = ip("18.52.86.120");
    BOOST_TEST(find_ip_in_name("host12345678.example.jp", &c).evidence == IpEvidence::Equal);
    // Mixed separators do not make one address.
    BOOST_TEST(find_ip_in_name("1-2.3-4.example.jp", nullptr).evidence == IpEvidence::None);
    // A hex-looking word decodes, but only as "different" evidence.
    IpAddress client = ip("192.0.2.7");
    IpInName r = find_ip_in_name("cafebabe.example.com", &client);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    BOOST_TEST(!r.best()->equals_client);
    // Three octets are not an address.
    BOOST_TEST(find_ip_in_name("v1.2.3.example.com", nullptr).evidence == IpEvidence::None);
}

BOOST_AUTO_TEST_CASE(ipv6_client_and_case_and_edges) {
    IpAddress v6 = ip("2001:db8::1");
    IpInName r = find_ip_in_name("softbank219203027033.bbtec.net", &v6);
    BOOST_TEST(r.evidence == IpEvidence::Different);
    IpAddress sb = ip("219.203.27.33");
    r = find_ip_in_name("SOFTBANK219203027033.BBTEC.NET.", &sb);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    // Underscore separators; a decode at the very end of the name.
    IpAddress c = ip("10.1.2.3");
    r = find_ip_in_name("host.10_1_2_3", &c);
    BOOST_TEST(r.evidence == IpEvidence::Equal);
    BOOST_TEST(r.best()->pos == 5u);
    // Over-long input is refused, not scanned.
    std::string longname(300, '1');
    BOOST_TEST(find_ip_in_name(longname, &c).found.empty());
    // A long hostile name stays fast and bounded.
    std::string hostile;
    for (int i = 0; i < 60; ++i)
        hostile += "1-";
    hostile += "1";
    r = find_ip_in_name(hostile, nullptr);
    BOOST_TEST(r.found.size() == 58u);
}

BOOST_AUTO_TEST_CASE(encoding_names_round_trip) {
    for (auto e : {IpEncoding::Decimal, IpEncoding::DecimalReversed, IpEncoding::Padded,
                   IpEncoding::PaddedReversed, IpEncoding::Hex, IpEncoding::HexReversed,
                   IpEncoding::Partial}) {
        auto back = parse_ip_encoding(to_string(e));
        BOOST_REQUIRE(back);
        BOOST_TEST(int(*back) == int(e));
    }
    BOOST_TEST(!parse_ip_encoding("dotted"));
    BOOST_TEST(to_string(IpEvidence::Partial) == "partial");
}

// The allocation-free variant the generic tier uses gives the same strongest
// candidate as the full scan, on random names built from address-like pieces.
BOOST_AUTO_TEST_CASE(strongest_agrees_with_the_full_scan) {
    std::mt19937 rng(25);
    const char* pieces[] = {"192",
                            "0",
                            "2",
                            "7",
                            "-",
                            ".",
                            "x",
                            "_",
                            "c0000207",
                            "070200c0",
                            "192000002007",
                            "007002000192",
                            "dyn",
                            "ad",
                            "003",
                            "054",
                            "a",
                            "pool",
                            "255",
                            "1",
                            "10",
                            "ff"};
    const IpAddress clients[] = {*IpAddress::parse("192.0.2.7"), *IpAddress::parse("7.2.0.192"),
                                 *IpAddress::parse("180.235.3.54"),
                                 *IpAddress::parse("2001:db8::1")};
    size_t found = 0;
    for (int i = 0; i < 4000; ++i) {
        std::string name;
        int n = 1 + int(rng() % 12);
        for (int k = 0; k < n; ++k)
            name += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
        name += ".example.net";
        for (int c = -1; c < 4; ++c) {
            const IpAddress* client = c < 0 ? nullptr : &clients[c];
            IpInName full = find_ip_in_name(name, client);
            EmbeddedIp best;
            IpEvidence ev = strongest_ip_in_name(name, client, &best);
            BOOST_TEST_CONTEXT(name << " client " << (client ? client->to_string() : "-")) {
                BOOST_TEST(to_string(ev) == to_string(full.evidence));
                if (const EmbeddedIp* b = full.best()) {
                    ++found;
                    BOOST_TEST(best.pos == b->pos);
                    BOOST_TEST(best.len == b->len);
                    BOOST_TEST(to_string(best.encoding) == to_string(b->encoding));
                    BOOST_TEST((best.address == b->address));
                    BOOST_TEST(best.octets == b->octets);
                }
            }
        }
    }
    BOOST_TEST(found > 2000u);
}
