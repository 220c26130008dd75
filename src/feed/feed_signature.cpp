// feed_signature.cpp — minisign's key and signature files over libsodium.
//
// Layouts (all integers little-endian, base64 is the original alphabet):
//   public key  "Ed" | key id (8) | Ed25519 public key (32)
//   secret key  "Ed" | kdf "\0\0" (unencrypted) | "B2" | salt (32) | opslimit (8) |
//               memlimit (8) | key id (8) | Ed25519 secret key (64) | checksum (32)
//               checksum = BLAKE2b-256("Ed" | key id | secret key)
//   signature   line 2: "ED" | key id | Ed25519(BLAKE2b-512(message))
//               line 4: Ed25519(signature (64) | trusted comment)
#include "ip25b/feed_signature.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace ip25b {

namespace {

constexpr std::string_view kUntrusted = "untrusted comment: ";
constexpr std::string_view kTrusted = "trusted comment: ";
constexpr size_t kSecretKeyBytes = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;

void init_sodium() {
    static const bool ok = sodium_init() >= 0;
    if (!ok) throw std::runtime_error("libsodium cannot initialise");
}

std::string to_base64(const uint8_t* data, size_t len) {
    std::string out(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), data, len, sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

bool from_base64(std::string_view text, std::vector<uint8_t>& out) {
    out.assign(text.size(), 0);
    size_t len = 0;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    out.resize(len);
    return true;
}

// Splits a file into lines without their '\n' (and a '\r' before it).
std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out.push_back(line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

// The base64 payload of a key file: the first line that is not a comment.
std::string_view key_payload(std::string_view text) {
    for (auto line : lines_of(text)) {
        if (line.starts_with(kUntrusted) || line.empty()) continue;
        return line;
    }
    return {};
}

std::string hex_id(const std::array<uint8_t, 8>& id) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | id[static_cast<size_t>(i)];
    return fmt::format("{:016X}", v);
}

} // namespace

std::string FeedPublicKey::to_base64() const {
    std::array<uint8_t, 42> raw{};
    raw[0] = 'E';
    raw[1] = 'd';
    std::memcpy(raw.data() + 2, key_id.data(), 8);
    std::memcpy(raw.data() + 10, key.data(), 32);
    return ip25b::to_base64(raw.data(), raw.size());
}

std::string FeedPublicKey::id_hex() const {
    return hex_id(key_id);
}

FeedPublicKey FeedSecretKey::public_key() const {
    FeedPublicKey p;
    p.key_id = key_id;
    crypto_sign_ed25519_sk_to_pk(p.key.data(), key.data());
    return p;
}

FeedKeyPair generate_feed_key() {
    init_sodium();
    FeedKeyPair kp;
    randombytes_buf(kp.sec.key_id.data(), kp.sec.key_id.size());
    crypto_sign_keypair(kp.pub.key.data(), kp.sec.key.data());
    kp.pub.key_id = kp.sec.key_id;
    return kp;
}

std::string format_public_key_file(const FeedPublicKey& k) {
    return fmt::format("untrusted comment: minisign public key {}\n{}\n", k.id_hex(),
                       k.to_base64());
}

std::string format_secret_key_file(const FeedSecretKey& k) {
    init_sodium();
    std::vector<uint8_t> raw(kSecretKeyBytes, 0);
    raw[0] = 'E';
    raw[1] = 'd'; // raw[2..3] = 0: no key derivation, the key is stored unencrypted
    raw[4] = 'B';
    raw[5] = '2';
    uint8_t* keynum_sk = raw.data() + 54;
    std::memcpy(keynum_sk, k.key_id.data(), 8);
    std::memcpy(keynum_sk + 8, k.key.data(), 64);
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    crypto_generichash_update(&st, raw.data(), 2);
    crypto_generichash_update(&st, keynum_sk, 72);
    crypto_generichash_final(&st, keynum_sk + 72, 32);
    std::string out = fmt::format("untrusted comment: ip25b feed secret key {} (unencrypted)\n{}\n",
                                  hex_id(k.key_id), to_base64(raw.data(), raw.size()));
    sodium_memzero(raw.data(), raw.size());
    return out;
}

Expected<FeedPublicKey> parse_public_key(std::string_view text, const std::string& origin) {
    init_sodium();
    std::vector<uint8_t> raw;
    auto payload = key_payload(text);
    if (payload.empty() || !from_base64(payload, raw) || raw.size() != 42 || raw[0] != 'E' ||
        raw[1] != 'd')
        return Error{origin, 0, "not a minisign public key (expected a base64 line \"RW…\")"};
    FeedPublicKey k;
    std::memcpy(k.key_id.data(), raw.data() + 2, 8);
    std::memcpy(k.key.data(), raw.data() + 10, 32);
    return k;
}

Expected<FeedSecretKey> parse_secret_key(std::string_view text, const std::string& origin) {
    init_sodium();
    std::vector<uint8_t> raw;
    auto payload = key_payload(text);
    if (payload.empty() || !from_base64(payload, raw) || raw.size() != kSecretKeyBytes ||
        raw[0] != 'E' || raw[1] != 'd' || raw[4] != 'B' || raw[5] != '2')
        return Error{origin, 0, "not a minisign secret key"};
    if (raw[2] != 0 || raw[3] != 0)
        return Error{origin, 0,
                     "encrypted minisign secret key: ip25b reads unencrypted keys only "
                     "(`ip25b keygen`, or `minisign -G -W`)"};
    const uint8_t* keynum_sk = raw.data() + 54;
    std::array<uint8_t, 32> chk{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    crypto_generichash_update(&st, raw.data(), 2);
    crypto_generichash_update(&st, keynum_sk, 72);
    crypto_generichash_final(&st, chk.data(), chk.size());
    // minisign 0.11 leaves the checksum of an unencrypted (-W) key zeroed; ours carry one.
    static const std::array<uint8_t, 32> zero{};
    if (sodium_memcmp(chk.data(), keynum_sk + 72, 32) != 0 &&
        sodium_memcmp(zero.data(), keynum_sk + 72, 32) != 0)
        return Error{origin, 0, "secret key checksum mismatch (damaged key file)"};
    FeedSecretKey k;
    std::memcpy(k.key_id.data(), keynum_sk, 8);
    std::memcpy(k.key.data(), keynum_sk + 8, 64);
    sodium_memzero(raw.data(), raw.size());
    return k;
}

std::string sign_feed(const FeedSecretKey& k, std::string_view message,
                      std::string_view trusted_comment) {
    init_sodium();
    std::array<uint8_t, 64> hash{};
    crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const uint8_t*>(message.data()),
                       message.size(), nullptr, 0);
    std::array<uint8_t, 74> sig{};
    sig[0] = 'E';
    sig[1] = 'D';
    std::memcpy(sig.data() + 2, k.key_id.data(), 8);
    crypto_sign_detached(sig.data() + 10, nullptr, hash.data(), hash.size(), k.key.data());
    std::string comment(trusted_comment.substr(0, trusted_comment.find('\n')));
    std::vector<uint8_t> global(64 + comment.size());
    std::memcpy(global.data(), sig.data() + 10, 64);
    std::memcpy(global.data() + 64, comment.data(), comment.size());
    std::array<uint8_t, 64> global_sig{};
    crypto_sign_detached(global_sig.data(), nullptr, global.data(), global.size(), k.key.data());
    return fmt::format("untrusted comment: signature from ip25b secret key {}\n{}\n{}{}\n{}\n",
                       hex_id(k.key_id), to_base64(sig.data(), sig.size()), kTrusted, comment,
                       to_base64(global_sig.data(), global_sig.size()));
}

Expected<std::string> verify_feed(const FeedPublicKey& key, std::string_view message,
                                  std::string_view minisig, const std::string& origin) {
    init_sodium();
    auto lines = lines_of(minisig);
    std::vector<uint8_t> sig, global;
    if (lines.size() < 4 || !lines[0].starts_with(kUntrusted) || !from_base64(lines[1], sig) ||
        sig.size() != 74 || !lines[2].starts_with(kTrusted) || !from_base64(lines[3], global) ||
        global.size() != 64)
        return Error{origin, 0, "malformed signature file (not minisign's 4-line format)"};
    std::array<uint8_t, 8> id{};
    std::memcpy(id.data(), sig.data() + 2, 8);
    if (id != key.key_id)
        return Error{origin, 0,
                     fmt::format("signed with key {}, but the configured public key is {}",
                                 hex_id(id), key.id_hex())};
    const auto* msg = reinterpret_cast<const uint8_t*>(message.data());
    int rc = -1;
    if (sig[0] == 'E' && sig[1] == 'D') {
        std::array<uint8_t, 64> hash{};
        crypto_generichash(hash.data(), hash.size(), msg, message.size(), nullptr, 0);
        rc = crypto_sign_verify_detached(sig.data() + 10, hash.data(), hash.size(), key.key.data());
    } else if (sig[0] == 'E' && sig[1] == 'd') {
        rc = crypto_sign_verify_detached(sig.data() + 10, msg, message.size(), key.key.data());
    } else {
        return Error{origin, 0, "unknown signature algorithm"};
    }
    if (rc != 0)
        return Error{origin, 0, "signature does not verify (content altered or truncated)"};
    auto comment = lines[2].substr(kTrusted.size());
    std::vector<uint8_t> signed_part(64 + comment.size());
    std::memcpy(signed_part.data(), sig.data() + 10, 64);
    std::memcpy(signed_part.data() + 64, comment.data(), comment.size());
    if (crypto_sign_verify_detached(global.data(), signed_part.data(), signed_part.size(),
                                    key.key.data()) != 0)
        return Error{origin, 0, "trusted comment signature does not verify"};
    return std::string(comment);
}

} // namespace ip25b
