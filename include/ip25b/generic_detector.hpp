// ip25b/generic_detector.hpp — the generic tier: does an unknown name look like an end-user
// address?
//
// Most of the world's access providers publish no rule file, but their pool
// names follow the conventions RFC 8501 (its PTRs generated from the address) and the
// expired draft-msullivan-dnsop-generic-naming-schemes describe: the address
// written into the name plus tokens that say how the line is allocated (dyn,
// pool, dhcp, ppp) and what it is (dsl, cable, ftth, mobile, res). Static and
// business lines, servers and mail hosts say so too (static, biz, srv, mx), and
// hosting and cloud providers name their servers after the address as well.
//
// So a name no rule file decided is weighed, not matched against one regex:
// it is cut into labels and tokens; each known token adds its weight, the
// IP-in-name decoder adds "embeds the client address"; any static token, a
// known hosting/cloud domain, or a zone an ISP file speaks for (that file did
// not call the name dynamic) vetoes; a total at or above the threshold makes
// the name `generic`. Every piece of evidence is kept with its place in the
// name and its weight so `ip25b check` can show why. The token tables are
// fixed here (they are the conventions); the hosting domains are data
// (rules/hosting/*.txt), the cloud and ISP zones come from the rule files.
//
// detect() allocates nothing of its own (fixed-size result, table lookups by
// hash); a built detector is immutable and safe to share between threads.
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/error.hpp"
#include "ip25b/verdict.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class SignalKind : uint8_t {
    Allocation,  // the line is dynamically allocated: dyn, dynamic, pool, dhcp, ppp, dial
    Residential, // a home line: res, resnet, residential, home
    Access,      // an access technology: dsl, cable, cm, ftth, fiber, mobile, lte, wifi, cpe
    Customer,    // a subscriber: client, cust, customer, user, subscriber, cgnat
    Weak,        // host, ip: a generated name, nothing more
    Address,     // the name embeds an address (the client's, part of it, or another)
    Static,      // veto: static, fixed, biz, business, dedicated, colo
    Server,      // veto: server, srv, vps, hosting, cloud, www, web
    Mail,        // veto: mail, mx, smtp, mta, relay
    Infra,       // veto: ns, dns, gw, router, core
    Hosting,     // veto: the name lies in a known hosting provider's domain
    Cloud,       // veto: the name lies in a cloud rule file's domain
    IspZone,     // veto: the name lies in a zone an ISP rule file speaks for
};

std::string_view to_string(SignalKind k);

// One piece of evidence; `token` points into the detector's tables (static
// text or a loaded domain), `pos`/`len` into the name weighed.
struct Signal {
    std::string_view token;
    SignalKind kind = SignalKind::Weak;
    int16_t weight = 0; // 0 for a veto
    bool veto = false;
    uint8_t pos = 0, len = 0;
};

struct GenericResult {
    static constexpr size_t kMaxSignals = 24; // further evidence is not needed to decide
    std::array<Signal, kMaxSignals> signals{};
    size_t count = 0;
    int score = 0;        // sum of the weights
    bool vetoed = false;  // a static token or a hosting/cloud domain
    bool generic = false; // !vetoed && score >= threshold
};

struct GenericDetectorConfig {
    int threshold = 60;
    std::vector<std::string> hosting_files; // domain lists (load_domain_list format)
    std::vector<std::string> cloud_domains; // meta.domains of the loaded cloud rule files
    // meta.domains of the loaded ISP files: an ISP file speaks for its zones,
    // so a name there that none of its rules called dynamic is not guessed at.
    std::vector<std::string> isp_domains;
};

// The default weights, exposed for tests and documentation.
inline constexpr int kWeightAllocation = 50;
inline constexpr int kWeightResidential = 40;
inline constexpr int kWeightAccess = 30;
inline constexpr int kWeightCustomer = 15;
inline constexpr int kWeightWeak = 10;
inline constexpr int kWeightClientAddress = 40;
inline constexpr int kWeightPartialAddress = 20;
inline constexpr int kWeightOtherAddress = 10;
inline constexpr int kDefaultGenericThreshold = 60;

class GenericDetector {
  public:
    // Reads the hosting domain lists; errors name file:line.
    static Expected<GenericDetector> load(const GenericDetectorConfig& config);

    // `name` must be a valid host name, lower case, without a trailing dot
    // (normalize_hostname); anything else yields no evidence.
    void detect(std::string_view name, const IpAddress* client, GenericResult& out) const;
    GenericResult detect(std::string_view name, const IpAddress* client) const {
        GenericResult r;
        detect(name, client, r);
        return r;
    }

    int threshold() const;
    size_t domain_count() const; // hosting + cloud domains known

    // The result as verdict evidence, and as one line: "dyn +50, client-address +40 = 90".
    static std::vector<WeighedEvidence> evidence(const GenericResult& r);
    static std::string summary(const GenericResult& r);

    GenericDetector(GenericDetector&&) noexcept;
    GenericDetector& operator=(GenericDetector&&) noexcept;
    ~GenericDetector();

  private:
    struct Impl;
    explicit GenericDetector(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// A list of DNS zones, one per line; '#' starts a comment; blank lines are
// skipped. Each zone is validated and lower-cased; a bare TLD is refused.
Expected<std::vector<std::string>> load_domain_list(const std::string& path);

} // namespace ip25b
