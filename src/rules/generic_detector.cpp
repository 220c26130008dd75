// generic_detector.cpp — weighing an unknown PTR name, token by token.
//
// Where the tokens come from: RFC 8501, on ISPs that generate PTR names from
// the address, and draft-msullivan-dnsop-generic-naming-schemes,
// which asks access providers to mark generated names with what they are
// (dynamic or static allocation, the access technology, residential or
// business) so receivers need not guess. The weights order that evidence:
// "dynamically allocated" says end user outright; "residential" almost; an
// access technology (dsl, cable, mobile) needs more, because businesses buy
// those lines too; "customer"/"user" and bare "host"/"ip" only add to other
// evidence. A name that embeds the client's own address is generated, which
// hosting providers do as well, so alone it stays below the threshold.
#include "ip25b/generic_detector.hpp"

#include "ip25b/dns_name.hpp"
#include "ip25b/ip_in_name.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

namespace ip25b {

namespace {

struct Token {
    std::string_view text;
    SignalKind kind;
};

// Tokens are whole label segments (between '-', '_' and '.') or maximal runs
// of letters inside one ("adsl123" holds "adsl"): never substrings of a word,
// so "cablevision" or "dialog" count for nothing.
constexpr Token kTokens[] = {
    // allocation
    {"dyn", SignalKind::Allocation},
    {"dynamic", SignalKind::Allocation},
    {"dynamicip", SignalKind::Allocation},
    {"dynip", SignalKind::Allocation},
    {"dhcp", SignalKind::Allocation},
    {"pool", SignalKind::Allocation},
    {"ppp", SignalKind::Allocation},
    {"pppoe", SignalKind::Allocation},
    {"pppoa", SignalKind::Allocation},
    {"dial", SignalKind::Allocation},
    {"dialup", SignalKind::Allocation},
    {"dialin", SignalKind::Allocation},
    // residential
    {"res", SignalKind::Residential},
    {"resnet", SignalKind::Residential},
    {"residential", SignalKind::Residential},
    {"home", SignalKind::Residential},
    // access technology
    {"dsl", SignalKind::Access},
    {"adsl", SignalKind::Access},
    {"vdsl", SignalKind::Access},
    {"xdsl", SignalKind::Access},
    {"cable", SignalKind::Access},
    {"catv", SignalKind::Access},
    {"docsis", SignalKind::Access},
    {"cm", SignalKind::Access},
    {"hfc", SignalKind::Access},
    {"ftth", SignalKind::Access},
    {"fttx", SignalKind::Access},
    {"fttb", SignalKind::Access},
    {"fttc", SignalKind::Access},
    {"fttp", SignalKind::Access},
    {"fttn", SignalKind::Access},
    {"fiber", SignalKind::Access},
    {"fibre", SignalKind::Access},
    {"gpon", SignalKind::Access},
    {"broadband", SignalKind::Access},
    {"bb", SignalKind::Access},
    {"mobile", SignalKind::Access},
    {"mob", SignalKind::Access},
    {"umts", SignalKind::Access},
    {"lte", SignalKind::Access},
    {"3g", SignalKind::Access},
    {"4g", SignalKind::Access},
    {"5g", SignalKind::Access},
    {"gprs", SignalKind::Access},
    {"hsdpa", SignalKind::Access},
    {"hspa", SignalKind::Access},
    {"wlan", SignalKind::Access},
    {"wifi", SignalKind::Access},
    {"wireless", SignalKind::Access},
    {"wimax", SignalKind::Access},
    {"cpe", SignalKind::Access},
    // customer
    {"client", SignalKind::Customer},
    {"clients", SignalKind::Customer},
    {"cust", SignalKind::Customer},
    {"customer", SignalKind::Customer},
    {"customers", SignalKind::Customer},
    {"user", SignalKind::Customer},
    {"users", SignalKind::Customer},
    {"subscriber", SignalKind::Customer},
    {"nat", SignalKind::Customer},
    {"cgnat", SignalKind::Customer},
    {"cgn", SignalKind::Customer},
    // weak
    {"host", SignalKind::Weak},
    {"ip", SignalKind::Weak},
    // vetoes: static allocation, business lines
    {"static", SignalKind::Static},
    {"staticip", SignalKind::Static},
    {"fix", SignalKind::Static},
    {"fixed", SignalKind::Static},
    {"fixip", SignalKind::Static},
    {"biz", SignalKind::Static},
    {"business", SignalKind::Static},
    {"corp", SignalKind::Static},
    {"corporate", SignalKind::Static},
    {"enterprise", SignalKind::Static},
    {"dedicated", SignalKind::Static},
    {"ded", SignalKind::Static},
    {"colo", SignalKind::Static},
    {"colocation", SignalKind::Static},
    {"leased", SignalKind::Static},
    // vetoes: servers and hosting
    {"server", SignalKind::Server},
    {"servers", SignalKind::Server},
    {"srv", SignalKind::Server},
    {"vps", SignalKind::Server},
    {"vds", SignalKind::Server},
    {"hosting", SignalKind::Server},
    {"hosted", SignalKind::Server},
    {"cloud", SignalKind::Server},
    {"datacenter", SignalKind::Server},
    {"www", SignalKind::Server},
    {"web", SignalKind::Server},
    {"ftp", SignalKind::Server},
    // vetoes: mail hosts
    {"mail", SignalKind::Mail},
    {"email", SignalKind::Mail},
    {"mx", SignalKind::Mail},
    {"smtp", SignalKind::Mail},
    {"mta", SignalKind::Mail},
    {"relay", SignalKind::Mail},
    {"mailout", SignalKind::Mail},
    {"mailgw", SignalKind::Mail},
    // vetoes: infrastructure
    {"ns", SignalKind::Infra},
    {"dns", SignalKind::Infra},
    {"gw", SignalKind::Infra},
    {"gateway", SignalKind::Infra},
    {"router", SignalKind::Infra},
    {"rtr", SignalKind::Infra},
    {"core", SignalKind::Infra},
    {"vpn", SignalKind::Infra},
};
constexpr size_t kTokenCount = sizeof kTokens / sizeof kTokens[0];
static_assert(kTokenCount <= 128, "the per-name seen-set is two 64-bit words");

int weight_of(SignalKind k) {
    switch (k) {
    case SignalKind::Allocation:
        return kWeightAllocation;
    case SignalKind::Residential:
        return kWeightResidential;
    case SignalKind::Access:
        return kWeightAccess;
    case SignalKind::Customer:
        return kWeightCustomer;
    case SignalKind::Weak:
        return kWeightWeak;
    default:
        return 0; // vetoes and addresses are weighed where they are found
    }
}

bool is_veto(SignalKind k) {
    return k == SignalKind::Static || k == SignalKind::Server || k == SignalKind::Mail ||
           k == SignalKind::Infra || k == SignalKind::Hosting || k == SignalKind::Cloud ||
           k == SignalKind::IspZone;
}

// Second-level labels under which registrations sit in many country-code
// TLDs (example.co.uk, example.com.br, example.ne.jp): the registrable domain
// is then three labels, and its labels are the provider's name, not a host's.
bool is_registry_sld(std::string_view l) {
    static constexpr std::string_view kSld[] = {"ac", "ad",  "co",  "com", "ed",  "edu", "gen",
                                                "go", "gob", "gov", "gr",  "lg",  "ltd", "mil",
                                                "ne", "net", "nom", "or",  "org", "plc", "sch"};
    for (auto s : kSld)
        if (s == l) return true;
    return false;
}

bool is_alpha(char c) {
    return c >= 'a' && c <= 'z';
}

} // namespace

std::string_view to_string(SignalKind k) {
    switch (k) {
    case SignalKind::Allocation:
        return "allocation";
    case SignalKind::Residential:
        return "residential";
    case SignalKind::Access:
        return "access";
    case SignalKind::Customer:
        return "customer";
    case SignalKind::Weak:
        return "generated";
    case SignalKind::Address:
        return "address";
    case SignalKind::Static:
        return "static";
    case SignalKind::Server:
        return "server";
    case SignalKind::Mail:
        return "mail";
    case SignalKind::Infra:
        return "infrastructure";
    case SignalKind::Hosting:
        return "hosting-domain";
    case SignalKind::Cloud:
        return "cloud-domain";
    case SignalKind::IspZone:
        return "isp-zone";
    }
    return "?";
}

struct GenericDetector::Impl {
    int threshold = kDefaultGenericThreshold;
    std::unordered_map<std::string_view, uint8_t> tokens; // text -> index in kTokens
    // Cheap filters in front of the hash lookups: most segments are digits or
    // longer than any token, most suffixes longer than any listed zone.
    std::array<bool, 256> token_first{};
    size_t token_max = 0;
    size_t domain_max = 0;
    std::vector<std::string> domain_text; // owns what `domains` views
    std::unordered_map<std::string_view, SignalKind> domains;
};

GenericDetector::GenericDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GenericDetector::GenericDetector(GenericDetector&&) noexcept = default;
GenericDetector& GenericDetector::operator=(GenericDetector&&) noexcept = default;
GenericDetector::~GenericDetector() = default;

int GenericDetector::threshold() const {
    return impl_->threshold;
}

size_t GenericDetector::domain_count() const {
    return impl_->domains.size();
}

Expected<std::vector<std::string>> load_domain_list(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{path, 0, std::string("cannot open: ") + std::strerror(errno)};
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;
    std::string line;
    unsigned n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.size() > 1024) return Error{path, n, "line longer than 1024 bytes"};
        if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        size_t b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
        if (b == std::string::npos) continue;
        std::string dom = line.substr(b, e - b + 1);
        if (dom.find_first_of(" \t") != std::string::npos)
            return Error{path, n, "one domain per line: '" + dom + "'"};
        if (auto why = hostname_problem(dom)) return Error{path, n, "'" + dom + "': " + *why};
        dom = normalize_hostname(dom);
        if (dom.find('.') == std::string::npos)
            return Error{path, n, "'" + dom + "' is a top-level domain; name the provider's zone"};
        if (!seen.insert(dom).second) return Error{path, n, "'" + dom + "' listed twice"};
        out.push_back(std::move(dom));
    }
    if (in.bad()) return Error{path, 0, "read error"};
    return out;
}

Expected<GenericDetector> GenericDetector::load(const GenericDetectorConfig& config) {
    auto impl = std::make_unique<Impl>();
    if (config.threshold < 1) return Error{"", 0, "generic threshold must be at least 1"};
    impl->threshold = config.threshold;
    for (size_t i = 0; i < kTokenCount; ++i) {
        impl->tokens.emplace(kTokens[i].text, uint8_t(i));
        impl->token_first[static_cast<unsigned char>(kTokens[i].text[0])] = true;
        impl->token_max = std::max(impl->token_max, kTokens[i].text.size());
    }
    std::vector<std::pair<std::string, SignalKind>> all;
    for (const auto& file : config.hosting_files) {
        auto list = load_domain_list(file);
        if (!list) return list.error();
        for (auto& d : *list)
            all.emplace_back(std::move(d), SignalKind::Hosting);
    }
    for (const auto& d : config.cloud_domains)
        all.emplace_back(normalize_hostname(d), SignalKind::Cloud);
    for (const auto& d : config.isp_domains)
        all.emplace_back(normalize_hostname(d), SignalKind::IspZone);
    impl->domain_text.reserve(all.size());
    for (auto& [d, kind] : all)
        impl->domain_text.push_back(std::move(d));
    // Views are taken once the vector no longer grows. A domain in several
    // lists keeps its first kind (hosting, then cloud, then ISP zones).
    for (size_t i = 0; i < all.size(); ++i) {
        impl->domains.emplace(impl->domain_text[i], all[i].second);
        impl->domain_max = std::max(impl->domain_max, impl->domain_text[i].size());
    }
    return GenericDetector(std::move(impl));
}

void GenericDetector::detect(std::string_view name, const IpAddress* client,
                             GenericResult& out) const {
    out.count = 0;
    out.score = 0;
    out.vetoed = false;
    out.generic = false;
    if (name.empty() || name.size() > 253) return;
    auto add = [&](std::string_view token, SignalKind kind, int weight, size_t pos, size_t len) {
        const bool veto = is_veto(kind);
        if (veto) out.vetoed = true;
        out.score += veto ? 0 : weight;
        if (out.count == GenericResult::kMaxSignals) return;
        out.signals[out.count++] =
            Signal{token, kind, int16_t(veto ? 0 : weight), veto, uint8_t(pos), uint8_t(len)};
    };

    // Label boundaries (at most 127 labels in a valid name).
    std::array<uint8_t, 128> starts{};
    size_t labels = 0;
    starts[labels++] = 0;
    for (size_t i = 0; i < name.size() && labels < starts.size(); ++i)
        if (name[i] == '.') starts[labels++] = uint8_t(i + 1);
    auto label = [&](size_t k) {
        size_t b = starts[k];
        size_t e = k + 1 < labels ? starts[k + 1] - 1 : name.size();
        return name.substr(b, e - b);
    };

    // Hosting and cloud zones: the longest suffix of whole labels that is listed.
    for (size_t k = 0; k + 1 < labels; ++k) {
        if (name.size() - starts[k] > impl_->domain_max) continue;
        auto it = impl_->domains.find(name.substr(starts[k]));
        if (it != impl_->domains.end()) {
            add(it->first, it->second, 0, starts[k], name.size() - starts[k]);
            break;
        }
    }

    // Host labels: everything left of the registrable domain.
    size_t domain_labels = 2;
    if (labels >= 3 && label(labels - 1).size() == 2 && is_registry_sld(label(labels - 2)))
        domain_labels = 3;
    const size_t host_labels = labels > domain_labels ? labels - domain_labels : 0;
    const size_t host_end = host_labels ? starts[host_labels] - 1 : 0;

    uint64_t seen[2] = {0, 0};
    auto consider = [&](size_t pos, size_t len) {
        if (len > impl_->token_max || !impl_->token_first[static_cast<unsigned char>(name[pos])])
            return;
        auto it = impl_->tokens.find(name.substr(pos, len));
        if (it == impl_->tokens.end()) return;
        const unsigned idx = it->second;
        uint64_t& word = seen[idx / 64];
        const uint64_t bit = uint64_t(1) << (idx % 64);
        if (word & bit) return; // each token counts once
        word |= bit;
        const Token& t = kTokens[idx];
        add(t.text, t.kind, weight_of(t.kind), pos, len);
    };
    size_t i = 0;
    while (i < host_end) {
        // One segment: up to the next '-', '_' or '.'.
        size_t seg = i;
        while (i < host_end && name[i] != '-' && name[i] != '_' && name[i] != '.')
            ++i;
        const size_t seg_end = i;
        if (seg_end > seg) {
            consider(seg, seg_end - seg);
            // Letter runs inside it, when the segment mixes letters and digits.
            size_t j = seg;
            while (j < seg_end) {
                if (!is_alpha(name[j])) {
                    ++j;
                    continue;
                }
                size_t r = j;
                while (j < seg_end && is_alpha(name[j]))
                    ++j;
                if (j - r < seg_end - seg) consider(r, j - r);
            }
        }
        ++i; // past the separator
    }

    // The address, when the name carries one. A name without digits cannot
    // spell a dotted or padded address, and a hex spelling needs digits too
    // unless all eight are letters a-f, which no pool uses.
    bool digits = false;
    for (char c : name)
        if (c >= '0' && c <= '9') {
            digits = true;
            break;
        }
    if (digits) {
        EmbeddedIp e;
        switch (strongest_ip_in_name(name, client, &e)) {
        case IpEvidence::Equal:
            add("client-address", SignalKind::Address, kWeightClientAddress, e.pos, e.len);
            break;
        case IpEvidence::Partial:
            add("partial-client-address", SignalKind::Address, kWeightPartialAddress, e.pos, e.len);
            break;
        case IpEvidence::Different:
            add("other-address", SignalKind::Address, kWeightOtherAddress, e.pos, e.len);
            break;
        case IpEvidence::None:
            break;
        }
    }
    out.generic = !out.vetoed && out.score >= impl_->threshold;
}

std::vector<WeighedEvidence> GenericDetector::evidence(const GenericResult& r) {
    std::vector<WeighedEvidence> out;
    out.reserve(r.count);
    for (size_t i = 0; i < r.count; ++i) {
        const Signal& s = r.signals[i];
        out.push_back({std::string(s.token), std::string(to_string(s.kind)),
                       fmt::format("{}..{}", s.pos, s.pos + s.len), s.weight, s.veto});
    }
    return out;
}

std::string GenericDetector::summary(const GenericResult& r) {
    std::string out;
    for (size_t i = 0; i < r.count; ++i) {
        const Signal& s = r.signals[i];
        if (!out.empty()) out += ", ";
        if (s.veto)
            out += fmt::format("{} ({}, veto)", s.token, to_string(s.kind));
        else
            out += fmt::format("{} +{}", s.token, s.weight);
    }
    if (out.empty()) out = "no evidence";
    return out + fmt::format(" = {}", r.score);
}

} // namespace ip25b
