// regex.cpp — PCRE2 (JIT, limited) and POSIX regcomp(3) behind one interface.
#include "ip25b/regex.hpp"

#include "ip25b/ascii.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <mutex>
#include <string>

namespace ip25b {

namespace {

struct CodeFree {
    void operator()(pcre2_code* p) const { pcre2_code_free(p); }
};
struct MatchContextFree {
    void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
};
struct MatchDataFree {
    void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
};
struct PosixFree {
    void operator()(regex_t* p) const {
        regfree(p);
        delete p;
    }
};

using CodePtr = std::unique_ptr<pcre2_code, CodeFree>;
using MatchContextPtr = std::unique_ptr<pcre2_match_context, MatchContextFree>;
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataFree>;
using PosixPtr = std::unique_ptr<regex_t, PosixFree>;

// Per-thread match data, grown to the largest group count seen on this thread,
// so matching never allocates after warm-up.
pcre2_match_data* thread_match_data(uint32_t pairs) {
    thread_local MatchDataPtr data;
    thread_local uint32_t capacity = 0;
    if (!data || capacity < pairs) {
        data.reset(pcre2_match_data_create(pairs, nullptr));
        capacity = data ? pairs : 0;
    }
    return data.get();
}

std::vector<regmatch_t>& thread_posix_groups(size_t n) {
    thread_local std::vector<regmatch_t> groups;
    if (groups.size() < n) groups.resize(n);
    return groups;
}

std::string pcre2_message(int code) {
    PCRE2_UCHAR buf[256];
    int n = pcre2_get_error_message(code, buf, sizeof buf);
    if (n < 0) return "PCRE2 error " + std::to_string(code);
    return std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// glibc's regcomp expands a repeated operand into copies: x{m,n} into n of them (m+1
// for x{m,}) and x+ into x x*. Stacked or nested repetitions multiply, so each `+` of
// a+++... doubles the tree: 20 take seconds and gigabytes, 55 never finish (found by
// fuzz-postfix_table). Counts, in 64 bits, saturating, how many nodes the copies add.
constexpr uint64_t kSaturated = uint64_t(1) << 40;

struct TreeSize {
    uint64_t expanded = 0; // nodes after the copies
    uint64_t written = 0;  // nodes as written
};
TreeSize operator+(TreeSize a, TreeSize b) {
    return {std::min(a.expanded + b.expanded, kSaturated), a.written + b.written};
}

// A repetition operator: how many copies of its operand regcomp makes, whether it has
// no upper bound (*, +, {m,}) and whether it may match zero times (*, ?, {0,n}).
struct Repetition {
    uint64_t copies = 0;
    bool unbounded = false;
    bool optional = false;
};

// The repetition operator at the start of `r` (ERE: * + ? {m,n}; BRE: * \+ \? \{m,n\}):
// its length, and what it does in `rep`; 0 if none.
size_t repetition(std::string_view r, bool ere, Repetition& rep) {
    if (r.starts_with("*")) {
        rep = {1, true, true};
        return 1;
    }
    if (r.starts_with(ere ? "?" : "\\?")) {
        rep = {1, false, true};
        return ere ? 1 : 2;
    }
    if (r.starts_with(ere ? "+" : "\\+")) {
        rep = {2, true, false};
        return ere ? 1 : 2;
    }
    const std::string_view open = ere ? "{" : "\\{", close = ere ? "}" : "\\}";
    if (!r.starts_with(open)) return 0;
    size_t j = open.size();
    auto number = [&](uint64_t& v) {
        const size_t start = j;
        for (v = 0; j < r.size() && r[j] >= '0' && r[j] <= '9'; ++j)
            v = std::min(v * 10 + static_cast<uint64_t>(r[j] - '0'), kSaturated);
        return j > start;
    };
    uint64_t m = 0, n = 0;
    number(m);
    const bool comma = j < r.size() && r[j] == ',';
    bool bounded = false;
    if (comma) {
        ++j;
        bounded = number(n);
    }
    if (!r.substr(j).starts_with(close)) return 0; // not an interval: regcomp decides
    rep.copies = std::max<uint64_t>(!comma ? m : bounded ? std::max(m, n) : m + 1, 1);
    rep.unbounded = comma && !bounded;
    rep.optional = m == 0;
    return j + close.size();
}

// Length of the bracket expression at the start of `r` ("[...]", "[]a]", "[[:alpha:]]").
size_t bracket_length(std::string_view r) {
    size_t j = 1;
    if (j < r.size() && r[j] == '^') ++j;
    if (j < r.size() && r[j] == ']') ++j;
    while (j < r.size() && r[j] != ']') {
        if (r[j] == '[' && j + 1 < r.size() &&
            (r[j + 1] == ':' || r[j + 1] == '=' || r[j + 1] == '.')) {
            const char term[] = {r[j + 1], ']'};
            const size_t end = r.find(std::string_view(term, 2), j + 2);
            if (end == std::string_view::npos) return r.size();
            j = end + 2;
        } else {
            ++j;
        }
    }
    return std::min(j + 1, r.size());
}

// What posix_cost finds: the nodes the copies add, and whether some unbounded
// repetition applies to an operand that can match the empty string.
struct PosixCost {
    uint64_t copies = 0;
    bool empty_loop = false;
};

// An unbounded repetition of an operand that can match the empty string ((a*)*, a**,
// (a|b?)+) is a loop of empty steps: regcomp's epsilon closures then grow exponentially
// with the copies around it (([0f]*)+{64} never finishes, [0f]*****{8} takes 20 s;
// found by fuzz-postfix_table), and the pattern means what its inner loop alone means.
PosixCost posix_cost(std::string_view p, bool ere) {
    struct Level {
        TreeSize done;   // earlier alternatives
        TreeSize branch; // this alternative before its last item
        TreeSize last;   // the last item, which a repetition applies to
        bool has_last = false;
        bool repeated = false;       // the last item already carries a repetition
        bool done_nullable = false;  // an earlier alternative can match ""
        bool branch_nullable = true; // every item before the last can match ""
        bool last_nullable = false;  // the last item can match ""
        TreeSize total() const { return done + branch + last; }
        bool nullable() const {
            return done_nullable || (branch_nullable && (!has_last || last_nullable));
        }
        void item(TreeSize t, bool can_be_empty) {
            branch = branch + last;
            if (has_last) branch_nullable = branch_nullable && last_nullable;
            last = t;
            last_nullable = can_be_empty;
            has_last = true;
            repeated = false;
        }
    };
    std::vector<Level> levels(1);
    bool empty_loop = false;
    auto close_group = [&] {
        const TreeSize inner = levels.back().total();
        const bool nullable = levels.back().nullable();
        levels.pop_back();
        levels.back().item(inner + TreeSize{1, 1}, nullable);
    };
    const std::string_view lparen = ere ? "(" : "\\(", rparen = ere ? ")" : "\\)",
                           bar = ere ? "|" : "\\|";
    for (size_t i = 0; i < p.size();) {
        const std::string_view r = p.substr(i);
        Level& level = levels.back();
        Repetition rep;
        if (const size_t len = repetition(r, ere, rep); len && level.has_last) {
            if (rep.unbounded && level.last_nullable) empty_loop = true;
            level.last_nullable = level.last_nullable || rep.optional;
            // A repetition of a repetition (a*+?, a+{2}) nests closures that regcomp
            // computes recursively, as costly as a copy: count it as one.
            if (level.repeated) rep.copies = std::max<uint64_t>(rep.copies, 2);
            level.repeated = true;
            uint64_t& e = level.last.expanded;
            e = e > kSaturated / rep.copies ? kSaturated : e * rep.copies;
            i += len;
        } else if (r.starts_with(lparen)) {
            levels.emplace_back();
            i += lparen.size();
        } else if (r.starts_with(rparen) && levels.size() > 1) {
            close_group();
            i += rparen.size();
        } else if (r.starts_with(bar)) {
            // A new alternative: only what the earlier ones add up to carries over.
            Level next;
            next.done = level.total() + TreeSize{1, 1};
            next.done_nullable = level.nullable();
            level = next;
            i += bar.size();
        } else {
            level.item({1, 1}, false);
            i += r[0] == '[' ? bracket_length(r) : r[0] == '\\' ? std::min<size_t>(2, r.size()) : 1;
        }
    }
    while (levels.size() > 1)
        close_group();
    const TreeSize all = levels.back().total();
    return {all.expanded - std::min(all.expanded, all.written), empty_loop};
}

bool is_limit(int rc) {
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

} // namespace

struct Regex::Impl {
    RuleSyntax syntax = RuleSyntax::Pcre;
    CodePtr code;
    MatchContextPtr context;
    // The JIT runs at the first match, not at compile time: it costs ten times
    // the compile and most of the memory (about 2 KiB a pattern), and in a big
    // rule set most patterns are never evaluated (the index skips them).
    bool want_jit = false;
    mutable std::once_flag jit_once;
    mutable std::atomic<bool> jit{false};
    void ensure_jit() const {
        if (!want_jit) return;
        // A pattern the JIT refuses still works in the interpreter.
        std::call_once(jit_once, [this] {
            jit.store(pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE) == 0,
                      std::memory_order_release);
        });
    }
    PosixPtr posix;
    unsigned captures = 0;

    // Necessary conditions PCRE2 derives when compiling, checked before the
    // call into PCRE2 (whose fixed cost dominates a failing match on a short
    // host name): a minimum length, the possible first bytes of an anchored
    // pattern, and a byte every match must contain.
    uint32_t min_length = 0;
    bool anchored = false;
    bool first_known = false;
    uint8_t first_set[32] = {}; // bitmap of possible first bytes (anchored only)
    int required = -1;          // a byte that must occur, either ASCII case
    void study() {
        pcre2_code* c = code.get();
        uint32_t v = 0;
        if (pcre2_pattern_info(c, PCRE2_INFO_MINLENGTH, &v) == 0) min_length = v;
        uint32_t all = 0;
        pcre2_pattern_info(c, PCRE2_INFO_ALLOPTIONS, &all);
        anchored = (all & PCRE2_ANCHORED) != 0;
        if (anchored && !(all & PCRE2_MULTILINE)) {
            uint32_t type = 0;
            pcre2_pattern_info(c, PCRE2_INFO_FIRSTCODETYPE, &type);
            if (type == 1) {
                uint32_t cu = 0;
                pcre2_pattern_info(c, PCRE2_INFO_FIRSTCODEUNIT, &cu);
                if (cu < 256) {
                    add_first(cu);
                    const char c = static_cast<char>(cu);
                    add_first(static_cast<unsigned char>(ascii_lower(c)));
                    add_first(static_cast<unsigned char>(ascii_upper(c)));
                    first_known = true;
                }
            } else if (type == 0) {
                const uint8_t* bitmap = nullptr;
                if (pcre2_pattern_info(c, PCRE2_INFO_FIRSTBITMAP, &bitmap) == 0 && bitmap) {
                    std::memcpy(first_set, bitmap, sizeof first_set);
                    first_known = true;
                }
            }
        }
        uint32_t last_type = 0;
        pcre2_pattern_info(c, PCRE2_INFO_LASTCODETYPE, &last_type);
        if (last_type == 1) {
            uint32_t cu = 0;
            pcre2_pattern_info(c, PCRE2_INFO_LASTCODEUNIT, &cu);
            if (cu < 128) required = static_cast<int>(cu);
        }
    }
    void add_first(uint32_t cu) { first_set[cu >> 3] |= static_cast<uint8_t>(1u << (cu & 7)); }
    // false: PCRE2 would certainly not match.
    bool may_match(std::string_view s) const {
        if (s.size() < min_length) return false;
        if (first_known) {
            if (s.empty()) return true; // min_length said 0: let PCRE2 decide
            const auto b = static_cast<unsigned char>(s[0]);
            if (!(first_set[b >> 3] & (1u << (b & 7)))) return false;
        }
        if (required >= 0) {
            const char lo = ascii_lower(static_cast<char>(required));
            const char up = ascii_upper(static_cast<char>(required));
            if (!std::memchr(s.data(), lo, s.size()) &&
                (lo == up || !std::memchr(s.data(), up, s.size())))
                return false;
        }
        return true;
    }

    // Runs PCRE2. When the JIT gives up (its fixed stack, or its own way of counting the
    // match limit), the interpreter decides: it is bounded by the depth limit instead of
    // the JIT stack, and it is what postmap runs, so the answer is postmap's.
    int run_pcre(std::string_view subject, pcre2_match_data* md) const {
        ensure_jit();
        const bool jit = this->jit.load(std::memory_order_acquire);
        auto subj = reinterpret_cast<PCRE2_SPTR>(subject.data());
        // pcre2_jit_match skips pcre2_match's argument checks: the fast path.
        int rc = jit ? pcre2_jit_match(code.get(), subj, subject.size(), 0, 0, md, context.get())
                     : pcre2_match(code.get(), subj, subject.size(), 0, 0, md, context.get());
        if (jit && (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_MATCHLIMIT))
            rc = pcre2_match(code.get(), subj, subject.size(), 0, PCRE2_NO_JIT, md, context.get());
        return rc;
    }

    MatchOutcome run_posix(std::string_view subject, size_t nmatch, regmatch_t* m) const {
        m[0].rm_so = 0;
        m[0].rm_eo = static_cast<regoff_t>(subject.size());
        int rc = regexec(posix.get(), subject.data(), nmatch, m, REG_STARTEND);
        if (rc == 0) return MatchOutcome::Match;
        if (rc == REG_NOMATCH) return MatchOutcome::NoMatch;
        return MatchOutcome::Error;
    }
};

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Expected<Regex> Regex::compile(std::string_view pattern, RuleSyntax syntax, bool caseless,
                               uint32_t flags, bool jit, RegexLimits limits) {
    auto impl = std::make_unique<Impl>();
    impl->syntax = syntax;
    if (syntax == RuleSyntax::PosixRegexp) {
        // regcomp needs a C string: a NUL inside would silently cut the pattern.
        if (pattern.find('\0') != std::string_view::npos)
            return Error{"", 0, "NUL byte in regular expression"};
        const PosixCost cost = posix_cost(pattern, flags & REG_EXTENDED);
        if (cost.empty_loop)
            return Error{"", 0,
                         "regular expression too complex: an unbounded repetition of something "
                         "that can match the empty string, as (a*)* or a**"};
        if (cost.copies > kMaxPosixCopies)
            return Error{"", 0,
                         "regular expression too complex: its repetitions expand to over " +
                             std::to_string(kMaxPosixCopies) + " copies"};
        std::string text(pattern);
        auto re = PosixPtr(new regex_t{});
        int cflags = static_cast<int>(flags) | (caseless ? REG_ICASE : 0);
        int rc = regcomp(re.get(), text.c_str(), cflags);
        if (rc != 0) {
            char buf[256];
            regerror(rc, re.get(), buf, sizeof buf);
            delete re.release(); // regcomp failed: nothing to regfree
            return Error{"", 0, std::string("error in regex: ") + buf};
        }
        impl->captures = static_cast<unsigned>(re->re_nsub);
        impl->posix = std::move(re);
        return Regex(std::move(impl));
    }

    uint32_t options = flags | (caseless ? PCRE2_CASELESS : 0);
    int err = 0;
    PCRE2_SIZE offset = 0;
    impl->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &err, &offset, nullptr));
    if (!impl->code)
        return Error{"", 0,
                     "error in regex at offset " + std::to_string(offset) + ": " +
                         pcre2_message(err)};
    uint32_t n = 0;
    pcre2_pattern_info(impl->code.get(), PCRE2_INFO_CAPTURECOUNT, &n);
    impl->captures = n;
    impl->study();
    impl->want_jit = jit;
    impl->context.reset(pcre2_match_context_create(nullptr));
    if (!impl->context) return Error{"", 0, "out of memory creating a PCRE2 match context"};
    if (limits.match_limit) pcre2_set_match_limit(impl->context.get(), limits.match_limit);
    if (limits.depth_limit) pcre2_set_depth_limit(impl->context.get(), limits.depth_limit);
    return Regex(std::move(impl));
}

MatchOutcome Regex::match(std::string_view subject) const {
    const Impl& r = *impl_;
    if (r.syntax == RuleSyntax::PosixRegexp) {
        regmatch_t m[1];
        return r.run_posix(subject, 0, m);
    }
    if (!r.may_match(subject)) return MatchOutcome::NoMatch;
    pcre2_match_data* md = thread_match_data(1);
    if (!md) return MatchOutcome::Error;
    int rc = r.run_pcre(subject, md);
    if (rc >= 0) return MatchOutcome::Match; // 0: ovector too small, still a match
    if (rc == PCRE2_ERROR_NOMATCH) return MatchOutcome::NoMatch;
    return is_limit(rc) ? MatchOutcome::LimitExceeded : MatchOutcome::Error;
}

MatchOutcome Regex::match(std::string_view subject, std::vector<Group>& groups) const {
    const Impl& r = *impl_;
    const size_t n = r.captures + 1;
    groups.assign(n, Group{});
    if (r.syntax == RuleSyntax::PosixRegexp) {
        auto& m = thread_posix_groups(n);
        MatchOutcome out = r.run_posix(subject, n, m.data());
        if (out != MatchOutcome::Match) return out;
        for (size_t i = 0; i < n; ++i)
            if (m[i].rm_so >= 0)
                groups[i] =
                    Group{static_cast<size_t>(m[i].rm_so), static_cast<size_t>(m[i].rm_eo), true};
        return out;
    }
    pcre2_match_data* md = thread_match_data(static_cast<uint32_t>(n));
    if (!md) return MatchOutcome::Error;
    int rc = r.run_pcre(subject, md);
    if (rc == PCRE2_ERROR_NOMATCH) return MatchOutcome::NoMatch;
    if (rc < 0) return is_limit(rc) ? MatchOutcome::LimitExceeded : MatchOutcome::Error;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    for (size_t i = 0; i < n; ++i)
        if (ov[2 * i] != PCRE2_UNSET) groups[i] = Group{ov[2 * i], ov[2 * i + 1], true};
    return MatchOutcome::Match;
}

unsigned Regex::capture_count() const {
    return impl_->captures;
}
bool Regex::jit_compiled() const {
    return impl_->jit.load(std::memory_order_acquire);
}

const char* to_string(MatchOutcome outcome) {
    switch (outcome) {
    case MatchOutcome::NoMatch:
        return "no match";
    case MatchOutcome::Match:
        return "match";
    case MatchOutcome::LimitExceeded:
        return "match limit exceeded";
    case MatchOutcome::Error:
        return "regex engine error";
    }
    return "unknown";
}

} // namespace ip25b
