#define BOOST_TEST_MODULE feed_signature
#include <boost/test/unit_test.hpp>

#include "ip25b/feed_signature.hpp"

#include <string>

using namespace ip25b;

namespace {

const std::string kMessage = "[feed]\nname = \"x\"\n";

} // namespace

BOOST_AUTO_TEST_CASE(key_files_round_trip) {
    auto kp = generate_feed_key();
    auto pub = parse_public_key(format_public_key_file(kp.pub), "pub");
    BOOST_REQUIRE(pub);
    BOOST_TEST(pub->to_base64() == kp.pub.to_base64());
    BOOST_TEST(pub->id_hex() == kp.pub.id_hex());
    BOOST_TEST(pub->id_hex().size() == 16u);
    // The bare base64 line (what the config's public_key holds) reads the same.
    auto bare = parse_public_key(kp.pub.to_base64(), "cfg");
    BOOST_REQUIRE(bare);
    BOOST_TEST(bare->to_base64() == kp.pub.to_base64());
    BOOST_TEST(kp.pub.to_base64().substr(0, 2) == "RW");

    auto sec = parse_secret_key(format_secret_key_file(kp.sec), "sec");
    BOOST_REQUIRE(sec);
    BOOST_TEST(sec->public_key().to_base64() == kp.pub.to_base64());
}

BOOST_AUTO_TEST_CASE(sign_and_verify) {
    auto kp = generate_feed_key();
    std::string sig = sign_feed(kp.sec, kMessage, "ip25b feed x serial 1");
    auto ok = verify_feed(kp.pub, kMessage, sig, "sig");
    BOOST_REQUIRE(ok);
    BOOST_TEST(ok.value() == "ip25b feed x serial 1");
}

BOOST_AUTO_TEST_CASE(altered_or_truncated_message_is_refused) {
    auto kp = generate_feed_key();
    std::string sig = sign_feed(kp.sec, kMessage, "c");
    std::string altered = kMessage;
    altered[3] = 'x';
    auto e = verify_feed(kp.pub, altered, sig, "sig");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().reason.find("does not verify") != std::string::npos);
    BOOST_TEST(!verify_feed(kp.pub, kMessage.substr(0, 5), sig, "sig"));
}

BOOST_AUTO_TEST_CASE(another_key_is_named_by_its_id) {
    auto kp = generate_feed_key(), other = generate_feed_key();
    std::string sig = sign_feed(other.sec, kMessage, "c");
    auto e = verify_feed(kp.pub, kMessage, sig, "sig");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().reason.find(other.pub.id_hex()) != std::string::npos);
    BOOST_TEST(e.error().reason.find(kp.pub.id_hex()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(same_key_id_with_other_key_bytes_does_not_verify) {
    // An attacker can copy a key id; only the key itself verifies.
    auto kp = generate_feed_key(), other = generate_feed_key();
    other.sec.key_id = kp.sec.key_id;
    std::string sig = sign_feed(other.sec, kMessage, "c");
    auto e = verify_feed(kp.pub, kMessage, sig, "sig");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().reason.find("does not verify") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(trusted_comment_is_signed) {
    auto kp = generate_feed_key();
    std::string sig = sign_feed(kp.sec, kMessage, "serial 1");
    auto pos = sig.find("serial 1");
    BOOST_REQUIRE(pos != std::string::npos);
    sig.replace(pos, 8, "serial 9");
    auto e = verify_feed(kp.pub, kMessage, sig, "sig");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().reason.find("trusted comment") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_inputs_are_refused) {
    auto kp = generate_feed_key();
    BOOST_TEST(!verify_feed(kp.pub, kMessage, "", "sig"));
    BOOST_TEST(!verify_feed(kp.pub, kMessage, "untrusted comment: x\nnot base64!\n", "sig"));
    BOOST_TEST(!parse_public_key("untrusted comment: x\nRWQ=\n", "pub"));
    BOOST_TEST(!parse_secret_key(format_public_key_file(kp.pub), "sec"));
    // A damaged secret key fails its checksum.
    std::string sec = format_secret_key_file(kp.sec);
    auto nl = sec.find('\n');
    sec[nl + 100] = sec[nl + 100] == 'A' ? 'B' : 'A';
    BOOST_TEST(!parse_secret_key(sec, "sec"));
}
