#define BOOST_TEST_MODULE address
#include <boost/test/unit_test.hpp>

#include "ip25b/address.hpp"

using ip25b::Cidr;
using ip25b::IpAddress;

BOOST_AUTO_TEST_CASE(parses_and_formats_both_families) {
    BOOST_TEST(IpAddress::parse("118.8.132.157")->to_string() == "118.8.132.157");
    BOOST_TEST(IpAddress::parse("IPv6:2001:db8::1")->to_string() == "2001:db8::1");
    BOOST_TEST(IpAddress::parse("[::1]")->to_string() == "::1");
    BOOST_TEST(IpAddress::parse("::ffff:192.0.2.7")->is_v4());
    BOOST_TEST(!IpAddress::parse("256.1.1.1"));
    BOOST_TEST(!IpAddress::parse(""));
    BOOST_TEST(!IpAddress::parse("example.com"));
    BOOST_TEST(!IpAddress::parse(std::string(300, '1')));
}

BOOST_AUTO_TEST_CASE(reverse_names) {
    BOOST_TEST(IpAddress::parse("125.30.26.231")->reverse_name() == "231.26.30.125.in-addr.arpa");
    BOOST_TEST(IpAddress::parse("2001:db8::1")->reverse_name() ==
               "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

BOOST_AUTO_TEST_CASE(cidr_contains_and_rejects_host_bits) {
    auto c = Cidr::parse("192.0.2.0/24");
    BOOST_REQUIRE(c);
    BOOST_TEST(c->contains(*IpAddress::parse("192.0.2.200")));
    BOOST_TEST(!c->contains(*IpAddress::parse("192.0.3.1")));
    BOOST_TEST(!c->contains(*IpAddress::parse("2001:db8::1")));
    auto c6 = Cidr::parse("2001:db8::/33");
    BOOST_TEST(c6->contains(*IpAddress::parse("2001:db8:7fff::1")));
    BOOST_TEST(!c6->contains(*IpAddress::parse("2001:db8:8000::1")));
    std::string err;
    BOOST_TEST(!Cidr::parse("192.0.2.1/24", &err));
    BOOST_TEST(err.find("192.0.2.0/24") != std::string::npos);
    BOOST_TEST(!Cidr::parse("192.0.2.0/33"));
    BOOST_TEST(!Cidr::parse("192.0.2.0/"));
    BOOST_TEST(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("8.8.8.8")));
    BOOST_TEST(Cidr::parse("10.1.2.3")->prefix_len() == 32u);
}
