// ip25b/feed_signature.hpp — detached Ed25519 signatures of rule feeds, in minisign's format.
//
// An ISP signs its feed with a secret key it keeps offline; receivers pin the
// public key in their config and refuse any feed whose signature does not
// verify. The files are minisign's (public key "RW…", secret key, .minisig
// signature with a signed "trusted comment"), implemented here with libsodium,
// so that anyone can check a published feed with the stock `minisign -V`
// tool, and an ISP that already uses minisign can sign with it. Only
// unencrypted secret keys are read (`minisign -G -W` or `ip25b keygen`): the
// key is meant to live in a file readable by the signing account only.
#pragma once

#include "ip25b/error.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ip25b {

struct FeedPublicKey {
    std::array<uint8_t, 8> key_id{}; // minisign's random key number, names the key
    std::array<uint8_t, 32> key{};

    // "RW…" (what minisign -P and the config's public_key take).
    std::string to_base64() const;
    // Key id as minisign prints it: 16 upper-case hex digits.
    std::string id_hex() const;
};

struct FeedSecretKey {
    std::array<uint8_t, 8> key_id{};
    std::array<uint8_t, 64> key{}; // libsodium's Ed25519 secret key (seed + public key)

    FeedPublicKey public_key() const;
};

struct FeedKeyPair {
    FeedPublicKey pub;
    FeedSecretKey sec;
};

FeedKeyPair generate_feed_key();

// File contents ("untrusted comment: …\n<base64>\n").
std::string format_public_key_file(const FeedPublicKey& k);
std::string format_secret_key_file(const FeedSecretKey& k);

// The public key as a file's text or as its bare base64 line. `origin` names
// the source in errors.
Expected<FeedPublicKey> parse_public_key(std::string_view text, const std::string& origin);
Expected<FeedSecretKey> parse_secret_key(std::string_view text, const std::string& origin);

// A .minisig file over `message` (pre-hashed "ED" form, minisign's default).
// The trusted comment is one line, signed too.
std::string sign_feed(const FeedSecretKey& k, std::string_view message,
                      std::string_view trusted_comment);

// Checks a .minisig file against `message` and `key`; returns the trusted
// comment. Accepts the pre-hashed ("ED") and the legacy ("Ed") forms.
Expected<std::string> verify_feed(const FeedPublicKey& key, std::string_view message,
                                  std::string_view minisig, const std::string& origin);

} // namespace ip25b
