#define BOOST_TEST_MODULE dns_name
#include <boost/test/unit_test.hpp>

#include "ip25b/dns_name.hpp"

using namespace ip25b;

BOOST_AUTO_TEST_CASE(accepts_real_ptr_names) {
    BOOST_TEST(!hostname_problem("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp"));
    BOOST_TEST(!hostname_problem("KD106167137155.ppp-bb.dion.ne.jp."));
    BOOST_TEST(!hostname_problem("_dmarc.example.com"));
    BOOST_TEST(normalize_hostname("KD106167137155.ppp-bb.dion.ne.jp.") ==
               "kd106167137155.ppp-bb.dion.ne.jp");
}

BOOST_AUTO_TEST_CASE(refuses_hostile_names) {
    BOOST_TEST(*hostname_problem("") == "empty name");
    BOOST_TEST(hostname_problem("a..b")->find("empty label") != std::string::npos);
    BOOST_TEST(hostname_problem(std::string(64, 'a') + ".jp")->find("63") != std::string::npos);
    BOOST_TEST(!hostname_problem(std::string(63, 'a') + ".jp"));
    std::string long_name;
    for (int i = 0; i < 60; ++i)
        long_name += "abcd.";
    BOOST_TEST(hostname_problem(long_name + "jp")->find("253") != std::string::npos);
    BOOST_TEST(hostname_problem(std::string("a\0b.jp", 6))->find("0x00") != std::string::npos);
    BOOST_TEST(hostname_problem("caf\xc3\xa9.jp")->find("0xc3") != std::string::npos);
    BOOST_TEST(hostname_problem("evil.jp\n")->find("0x0a") != std::string::npos);
    BOOST_TEST(hostname_problem("a b.jp").has_value());
}

// Issue 10: two trailing dots were accepted; one (an absolute name) is fine.
BOOST_AUTO_TEST_CASE(refuses_empty_labels_at_either_end) {
    BOOST_TEST(!hostname_problem("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp."));
    BOOST_TEST(
        hostname_problem("p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp..")->find("empty label") !=
        std::string::npos);
    BOOST_TEST(hostname_problem(".ocn.ne.jp")->find("empty label") != std::string::npos);
    BOOST_TEST(hostname_problem("..")->find("empty label") != std::string::npos);
    BOOST_TEST(*hostname_problem(".") == "empty name");
}
