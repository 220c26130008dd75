// ip_in_name.cpp — decoding IPv4 addresses embedded in PTR names.
//
// The name is cut into maximal runs of decimal digits and of hex digits;
// every encoding is a small test over those runs, so the whole scan is linear
// in the name (at most 255 bytes) and cannot backtrack. The runs live in
// fixed arrays on the stack (a 255-byte name has at most 128 of them), so a
// scan allocates nothing but its result list, and strongest_ip_in_name() not
// even that: the generic tier calls it for every name.
#include "ip25b/ip_in_name.hpp"

#include "ip25b/ascii.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace ip25b {

namespace {

using Octets = std::array<unsigned, 4>;

struct Run {
    size_t pos;
    size_t len;
};

// At most one run starts at every other byte of a 255-byte name.
struct Runs {
    std::array<Run, 128> r;
    size_t n = 0;
    size_t size() const { return n; }
    const Run& operator[](size_t i) const { return r[i]; }
    const Run* begin() const { return r.data(); }
    const Run* end() const { return r.data() + n; }
};

// Up to four octets read from a tail (partial evidence).
struct Tail {
    std::array<unsigned, 4> v{};
    size_t n = 0;
    void push_back(unsigned x) { v[n++] = x; }
    size_t size() const { return n; }
    unsigned operator[](size_t i) const { return v[i]; }
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

Runs runs_of(std::string_view s, bool (*pred)(char)) {
    Runs out;
    size_t i = 0;
    while (i < s.size() && out.n < out.r.size()) {
        if (!pred(s[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < s.size() && pred(s[j]))
            ++j;
        out.r[out.n++] = {i, j - i};
        i = j;
    }
    return out;
}

// Decimal value of s[pos, pos+len); len is at most 3 here, so no overflow.
unsigned dec(std::string_view s, size_t pos, size_t len) {
    unsigned v = 0;
    for (size_t i = 0; i < len; ++i)
        v = v * 10 + unsigned(s[pos + i] - '0');
    return v;
}

unsigned hexval(char c) {
    return is_digit(c) ? unsigned(c - '0') : unsigned(c - 'a' + 10);
}

IpAddress to_addr(const Octets& o) {
    return IpAddress::v4((uint32_t(o[0]) << 24) | (uint32_t(o[1]) << 16) | (uint32_t(o[2]) << 8) |
                         uint32_t(o[3]));
}

Octets reversed(const Octets& o) {
    return {o[3], o[2], o[1], o[0]};
}

bool valid(const Octets& o) {
    return std::all_of(o.begin(), o.end(), [](unsigned v) { return v <= 255; });
}

int rank(const EmbeddedIp& e) {
    if (e.equals_client) return 0;
    if (e.encoding == IpEncoding::Partial) return 1;
    return 2;
}

// The order candidates are reported in: strongest first, then by position.
bool stronger(const EmbeddedIp& a, const EmbeddedIp& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return a.pos < b.pos;
}

class Scanner {
  public:
    // `name` is lower case. With `best`, only the strongest candidate is kept
    // there (the first of equals, as the stable sort of the full list gives)
    // and nothing is allocated.
    Scanner(std::string_view name, const IpAddress* client, EmbeddedIp* best = nullptr)
        : s_(name), best_(best) {
        if (client && client->is_v4()) {
            uint32_t v = client->v4_host_order();
            client_ = Octets{v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};
        }
    }

    std::vector<EmbeddedIp> run() {
        scan_decimal();
        scan_padded();
        scan_hex();
        return std::move(found_);
    }

  private:
    bool equals(const Octets& o) const { return client_ && *client_ == o; }

    void keep(const EmbeddedIp& e) {
        ++count_;
        if (!best_)
            found_.push_back(e);
        else if (count_ == 1 || stronger(e, *best_))
            *best_ = e;
    }

    void add(IpEncoding enc, size_t pos, size_t len, const Octets& o, bool eq) {
        EmbeddedIp e;
        e.encoding = enc;
        e.pos = pos;
        e.len = len;
        e.address = to_addr(o);
        e.equals_client = eq;
        keep(e);
    }

    // A forward decode is reported whatever it is when it stands alone
    // (`report_different`); the reversed order only when it is the client.
    void offer(IpEncoding fwd, IpEncoding rev, size_t pos, size_t len, const Octets& o,
               bool report_different) {
        if (!valid(o)) return;
        if (equals(o)) {
            add(fwd, pos, len, o, true);
        } else if (equals(reversed(o))) {
            add(rev, pos, len, reversed(o), true);
        } else if (report_different) {
            add(fwd, pos, len, o, false);
        }
    }

    void add_partial(size_t pos, size_t len, const Tail& tail) {
        if (!client_) return;
        size_t n = tail.size();
        for (size_t i = 0; i < n; ++i)
            if ((*client_)[4 - n + i] != tail[i]) return;
        EmbeddedIp e;
        e.encoding = IpEncoding::Partial;
        e.pos = pos;
        e.len = len;
        Octets o{0, 0, 0, 0};
        for (size_t i = 0; i < n; ++i)
            o[4 - n + i] = tail[i];
        e.address = to_addr(o);
        e.octets = unsigned(n);
        e.equals_client = false; // partial evidence is never "equal"
        keep(e);
    }

    // Windows of four (or, for partial evidence, three) decimal runs of 1-3
    // digits joined by one and the same separator: 114-186-237-30, 221x248x149x153.
    void scan_decimal() {
        auto runs = runs_of(s_, is_digit);
        auto sep_between = [&](size_t a) -> char {
            size_t end = runs[a].pos + runs[a].len;
            if (runs[a + 1].pos != end + 1) return 0;
            char c = s_[end];
            return (c == '-' || c == '.' || c == 'x' || c == '_') ? c : 0;
        };
        auto window = [&](size_t i, size_t n) -> bool {
            if (i + n > runs.size()) return false;
            for (size_t k = i; k < i + n; ++k)
                if (runs[k].len > 3) return false;
            char sep = sep_between(i);
            if (!sep) return false;
            for (size_t k = i + 1; k + 1 < i + n; ++k)
                if (sep_between(k) != sep) return false;
            return true;
        };
        std::array<bool, 128> covered{};
        for (size_t i = 0; i < runs.size(); ++i) {
            if (!window(i, 4)) continue;
            Octets o;
            for (size_t k = 0; k < 4; ++k)
                o[k] = dec(s_, runs[i + k].pos, runs[i + k].len);
            size_t end = runs[i + 3].pos + runs[i + 3].len;
            offer(IpEncoding::Decimal, IpEncoding::DecimalReversed, runs[i].pos, end - runs[i].pos,
                  o, true);
            // The client's whole address here: its last octets are not a second, partial find.
            if (valid(o) && (equals(o) || equals(reversed(o))))
                for (size_t k = i; k < i + 4; ++k)
                    covered[k] = true;
        }
        if (!client_) return;
        for (size_t i = 0; i < runs.size(); ++i) {
            if (!window(i, 3) || covered[i] || covered[i + 1] || covered[i + 2]) continue;
            Tail tail;
            for (size_t k = 0; k < 3; ++k)
                tail.push_back(dec(s_, runs[i + k].pos, runs[i + k].len));
            size_t end = runs[i + 2].pos + runs[i + 2].len;
            add_partial(runs[i].pos, end - runs[i].pos, tail);
        }
    }

    // Runs of exactly 12 digits are four 3-digit octets; longer runs are
    // searched for the client only; 6 and 9 digits may be the client's tail.
    void scan_padded() {
        for (const Run& r : runs_of(s_, is_digit)) {
            auto octets_at = [&](size_t pos) {
                return Octets{dec(s_, pos, 3), dec(s_, pos + 3, 3), dec(s_, pos + 6, 3),
                              dec(s_, pos + 9, 3)};
            };
            if (r.len == 12) {
                offer(IpEncoding::Padded, IpEncoding::PaddedReversed, r.pos, 12, octets_at(r.pos),
                      true);
            } else if (r.len > 12) {
                for (size_t p = r.pos; p + 12 <= r.pos + r.len; ++p)
                    offer(IpEncoding::Padded, IpEncoding::PaddedReversed, p, 12, octets_at(p),
                          false);
            } else if (r.len == 6 || r.len == 9) {
                Tail tail;
                for (size_t p = r.pos; p < r.pos + r.len; p += 3)
                    tail.push_back(dec(s_, p, 3));
                if (std::all_of(tail.v.begin(), tail.v.begin() + long(tail.n),
                                [](unsigned v) { return v <= 255; }))
                    add_partial(r.pos, r.len, tail);
            }
        }
    }

    // Runs of exactly 8 hex digits with at least one letter are reported
    // whatever they decode to (an all-digit run is more likely a serial
    // number); other runs of 8 or more are searched for the client only.
    void scan_hex() {
        for (const Run& r : runs_of(s_, is_hex)) {
            if (r.len < 8) continue;
            auto octets_at = [&](size_t pos) {
                Octets o;
                for (size_t k = 0; k < 4; ++k)
                    o[k] = hexval(s_[pos + 2 * k]) * 16 + hexval(s_[pos + 2 * k + 1]);
                return o;
            };
            bool has_letter =
                std::any_of(s_.begin() + long(r.pos), s_.begin() + long(r.pos + r.len),
                            [](char c) { return !is_digit(c); });
            for (size_t p = r.pos; p + 8 <= r.pos + r.len; ++p) {
                bool alone = r.len == 8 && has_letter;
                // A decimal-only window was already read as decimal/padded.
                offer(IpEncoding::Hex, IpEncoding::HexReversed, p, 8, octets_at(p), alone);
            }
        }
    }

  public:
    size_t count() const { return count_; }

  private:
    std::string_view s_;
    std::optional<Octets> client_;
    std::vector<EmbeddedIp> found_;
    EmbeddedIp* best_ = nullptr;
    size_t count_ = 0;
};

IpEvidence evidence_of(const EmbeddedIp& e) {
    switch (rank(e)) {
    case 0:
        return IpEvidence::Equal;
    case 1:
        return IpEvidence::Partial;
    default:
        return IpEvidence::Different;
    }
}

} // namespace

std::string_view to_string(IpEncoding e) {
    switch (e) {
    case IpEncoding::Decimal:
        return "decimal";
    case IpEncoding::DecimalReversed:
        return "decimal-reversed";
    case IpEncoding::Padded:
        return "padded";
    case IpEncoding::PaddedReversed:
        return "padded-reversed";
    case IpEncoding::Hex:
        return "hex";
    case IpEncoding::HexReversed:
        return "hex-reversed";
    case IpEncoding::Partial:
        return "partial";
    }
    return "?";
}

std::optional<IpEncoding> parse_ip_encoding(std::string_view text) {
    for (auto e : {IpEncoding::Decimal, IpEncoding::DecimalReversed, IpEncoding::Padded,
                   IpEncoding::PaddedReversed, IpEncoding::Hex, IpEncoding::HexReversed,
                   IpEncoding::Partial})
        if (to_string(e) == text) return e;
    return std::nullopt;
}

std::string_view to_string(IpEvidence e) {
    switch (e) {
    case IpEvidence::None:
        return "none";
    case IpEvidence::Different:
        return "different";
    case IpEvidence::Partial:
        return "partial";
    case IpEvidence::Equal:
        return "equal";
    }
    return "?";
}

std::string EmbeddedIp::describe() const {
    std::string addr;
    if (encoding == IpEncoding::Partial) {
        uint32_t v = address.v4_host_order();
        unsigned o[4] = {v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};
        for (unsigned i = 0; i < 4; ++i) {
            if (i) addr += '.';
            addr += i < 4 - octets ? std::string("*") : std::to_string(o[i]);
        }
    } else {
        addr = address.to_string();
    }
    return std::string(to_string(encoding)) + " " + addr + " at " + std::to_string(pos) + ".." +
           std::to_string(pos + len);
}

std::string IpInName::explain() const {
    const EmbeddedIp* b = best();
    switch (evidence) {
    case IpEvidence::None:
        return "no IPv4 address in the name";
    case IpEvidence::Equal:
        return "name embeds the client address (" + b->describe() + ")";
    case IpEvidence::Partial:
        return "name embeds the client's last octets (" + b->describe() + ")";
    case IpEvidence::Different:
        return "name embeds " + b->address.to_string() + ", not the client (" + b->describe() + ")";
    }
    return {};
}

IpInName find_ip_in_name(std::string_view name, const IpAddress* client) {
    IpInName out;
    if (name.size() > 255) return out;
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    const std::string lower = ascii_lower(name);
    out.found = Scanner(lower, client).run();
    std::stable_sort(out.found.begin(), out.found.end(), stronger);
    if (!out.found.empty()) out.evidence = evidence_of(out.found.front());
    return out;
}

IpEvidence strongest_ip_in_name(std::string_view name, const IpAddress* client, EmbeddedIp* best) {
    if (name.size() > 255) return IpEvidence::None;
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    EmbeddedIp found;
    Scanner scan(name, client, &found);
    scan.run();
    if (scan.count() == 0) return IpEvidence::None;
    if (best) *best = found;
    return evidence_of(found);
}

} // namespace ip25b
