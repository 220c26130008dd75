// matcher.cpp — first-match lookup: suffix index + Hyperscan prefilter + PCRE2 JIT.
//
// How a lookup runs (Matcher::match):
//   1. The name is lower-cased into a per-thread buffer while a hash of every
//      suffix is computed right to left; a 64 Kbit filter of the index keys'
//      hashes lets only likely suffixes probe the hash table. Each hit is the
//      list of rules whose regex ends in exactly that literal tail before `$`.
//   2. The rules the index cannot take are filtered before PCRE2 runs, by
//      one of two means chosen at build time (both may say "maybe" wrongly,
//      never "no" wrongly):
//      - a few (at most kMaxPrefilter): one Hyperscan scan in prefilter mode;
//      - beyond that, Hyperscan's compile time (milliseconds per pattern)
//        would make a big set load for minutes, so a rule is instead keyed by
//        one 3- or 4-byte gram of a literal every match must contain, and the
//        name's grams are looked up in a hash table as the suffixes are.
//      Hyperscan's refusals are found pattern by pattern (hs_expression_info)
//      before the one compile, never by recompiling the set; a refused rule
//      is simply evaluated for every name.
//   3. The candidates are taken in file order; for each, the address scope,
//      the rule's own regex and then its enclosing `if` guards (PCRE2, each
//      evaluated at most once per lookup) decide. The first that holds
//      answers, exactly as the linear walk would.
// Names holding a newline or a non-ASCII byte skip all this and take the linear
// walk, because `$` and caseless matching treat those bytes specially.
#include "ip25b/matcher.hpp"

#include "ip25b/ascii.hpp"
#include "ip25b/postfix_table.hpp"
#include "ip25b/regex.hpp"
#include "ip25b/regex_syntax.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace ip25b {

namespace {

constexpr uint32_t kNoGuard = UINT32_MAX;
// Hyperscan compiles a prefilter pattern in milliseconds, so its set is
// capped to keep a load within seconds whatever the rules (bench/bench-load.sh).
constexpr size_t kMaxPrefilter = 256;
constexpr int kMaxPrefilterRetries = 4;

// ---------------------------------------------------------------- suffix keys

// The literal tail a rule is indexed by: "\.cable\.ziggo\.nl$" gives
// ".cable.ziggo.nl", "([0-9]+\.){4}uralcom\.com$" gives "uralcom.com": every
// name the rule matches ends with it. Conservative: any construct whose reading
// is not obvious leaves the rule unindexed.
std::optional<std::string> suffix_key(const Rule& r) {
    if (r.syntax != RuleSyntax::Pcre || r.negated || !r.caseless) return std::nullopt;
    if (r.action == RuleAction::IfBegin || r.action == RuleAction::IfEnd) return std::nullopt;
    if (r.pcre_flags & (PCRE2_EXTENDED | PCRE2_MULTILINE)) return std::nullopt;
    const std::string& p = r.pattern;
    if (p.size() < 2 || p.back() != '$') return std::nullopt;
    const size_t end = p.size() - 1; // the final '$'
    const std::string_view body = std::string_view(p).substr(0, end);
    std::string run; // literal bytes since the last variable construct
    size_t i = 0;
    int depth = 0;
    auto reset = [&] { run.clear(); };
    while (i < end) {
        const unsigned char c = static_cast<unsigned char>(p[i]);
        if (c >= 0x80 || c == 0) return std::nullopt;
        if (c == '\\') {
            if (i + 1 >= end) return std::nullopt; // would escape the final '$'
            const unsigned char e = static_cast<unsigned char>(p[i + 1]);
            if (e == 'Q' || e == 'E' || e >= 0x80) return std::nullopt;
            if (std::isalnum(e)) {
                // Only the two-byte escapes \d \w \s \h \v (and negations)
                // and \b \B are understood; others run on (\x61, \141, \cA,
                // \pL, \g1, \k<n> ...) and leave the rule unindexed.
                if (std::strchr("dDwWsShHvVbB", static_cast<char>(e)) == nullptr)
                    return std::nullopt;
                reset();
            } else {
                run += static_cast<char>(e);
            }
            i += 2;
            continue;
        }
        switch (c) {
        case '|':
            if (depth == 0) return std::nullopt;
            reset();
            break;
        case '(':
            if (i + 1 < end && (p[i + 1] == '?' || p[i + 1] == '*')) return std::nullopt;
            ++depth;
            reset();
            break;
        case ')':
            if (depth == 0) return std::nullopt;
            --depth;
            reset();
            break;
        case '[': {
            size_t j = regex_class_end(body, i);
            if (j == std::string::npos) return std::nullopt;
            reset();
            i = j + 1;
            continue;
        }
        case '{': {
            size_t j = regex_brace_end(body, i);
            if (j == std::string::npos) return std::nullopt;
            reset();
            i = j + 1;
            continue;
        }
        case '*':
        case '+':
        case '?':
        case '.':
        case '^':
        case '$':
            reset();
            break;
        case '}':
        case ']':
            return std::nullopt; // literal in PCRE2, but a sign of something unusual
        default:
            run += ascii_lower(static_cast<char>(c));
        }
        ++i;
    }
    if (depth != 0 || run.empty()) return std::nullopt;
    return run;
}

// Hash of a byte string taken right to left, so that a single pass over a
// name yields the hash of each of its suffixes.
inline uint64_t hash_step(uint64_t h, unsigned char c) {
    return (h ^ c) * 0x100000001b3ULL;
}
constexpr uint64_t kHashSeed = 0xcbf29ce484222325ULL;

uint64_t hash_backward(std::string_view s) {
    uint64_t h = kHashSeed;
    for (size_t i = s.size(); i-- > 0;)
        h = hash_step(h, static_cast<unsigned char>(s[i]));
    return h;
}

// ---------------------------------------------------------------- required literals

// Whether "(?" at p[i] opens a group whose content can simply be skipped
// (non-capturing, named, atomic, branch reset, lookaround). Option settings
// such as (?x) or (?i) change how what follows reads; recursion and
// conditionals are not worth the trouble: those leave the rule unkeyed.
bool skippable_group(const std::string& p, size_t i) {
    if (i + 2 >= p.size()) return false;
    const char c = p[i + 2];
    if (c == ':' || c == '=' || c == '!' || c == '>' || c == '|' || c == '\'') return true;
    if (c == 'P') return i + 3 < p.size() && p[i + 3] == '<';
    return c == '<'; // (?<=, (?<!, (?<name>
}

// The literal runs (lower-cased, at least kMinGram bytes) every match of the
// rule must contain, one list per top-level alternative; nullopt when some
// alternative has none or the pattern holds anything not obviously read. A
// quantified byte, a class, a group or an assertion ends a run, so a run is
// always a substring of the subject of every match.
constexpr size_t kMinGram = 3;
std::optional<std::vector<std::vector<std::string>>> required_runs(const Rule& r) {
    if (r.syntax != RuleSyntax::Pcre || r.negated) return std::nullopt;
    if (r.pcre_flags & PCRE2_EXTENDED) return std::nullopt;
    const std::string& p = r.pattern;
    std::vector<std::vector<std::string>> branches(1);
    std::string run;
    bool last_literal = false; // the last byte of `run` is the last token read
    auto commit = [&] {
        if (run.size() >= kMinGram) branches.back().push_back(run);
        run.clear();
        last_literal = false;
    };
    auto literal = [&](unsigned char c) {
        run += ascii_lower(static_cast<char>(c));
        last_literal = true;
    };
    // A quantifier makes its operand optional or repeated: the byte it
    // follows leaves the run.
    auto quantifier = [&] {
        if (last_literal) run.pop_back();
        commit();
    };
    for (size_t i = 0; i < p.size();) {
        const unsigned char c = static_cast<unsigned char>(p[i]);
        if (c >= 0x80 || c == 0) return std::nullopt;
        switch (c) {
        case '\\': {
            if (i + 1 >= p.size()) return std::nullopt;
            const unsigned char e = static_cast<unsigned char>(p[i + 1]);
            if (e >= 0x80) return std::nullopt;
            if (std::isalnum(e)) {
                // Two-byte classes, assertions and control characters end a
                // run; escapes with operands (\x41, \g1, \p{L}, \Q...) give up.
                if (std::strchr("dDwWsShHvVbBAzZGKRXtnrfae", static_cast<char>(e)) == nullptr)
                    return std::nullopt;
                commit();
            } else {
                literal(e);
            }
            i += 2;
            continue;
        }
        case '(': {
            commit();
            if (i + 1 < p.size() &&
                (p[i + 1] == '*' || (p[i + 1] == '?' && !skippable_group(p, i))))
                return std::nullopt;
            const size_t j = regex_group_end(p, i);
            if (j == std::string::npos) return std::nullopt;
            i = j + 1;
            continue;
        }
        case ')':
            return std::nullopt; // unbalanced: PCRE2 refuses it anyway
        case '[': {
            commit();
            const size_t j = regex_class_end(p, i);
            if (j == std::string::npos) return std::nullopt;
            i = j + 1;
            continue;
        }
        case '{': {
            const size_t j = regex_brace_end(p, i);
            if (j == std::string::npos) {
                literal(c);
                ++i;
            } else {
                quantifier();
                i = j + 1;
            }
            continue;
        }
        case '*':
        case '+':
        case '?':
            quantifier();
            break;
        case '|':
            commit();
            branches.emplace_back();
            break;
        case '.':
        case '^':
        case '$':
            commit();
            break;
        default:
            literal(c);
        }
        ++i;
    }
    commit();
    for (const auto& b : branches)
        if (b.empty()) return std::nullopt;
    return branches;
}

// A 3- or 4-byte gram as one number; the top byte tells a 3-gram (0x83) from
// a 4-gram (whose top byte is ASCII, as every byte of an indexed name is).
inline uint32_t gram3(const char* s) {
    return static_cast<uint32_t>(static_cast<unsigned char>(s[0])) |
           static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(s[2])) << 16 | 0x83000000u;
}
inline uint32_t gram4(const char* s) {
    return (gram3(s) & 0x00ffffffu) | static_cast<uint32_t>(static_cast<unsigned char>(s[3])) << 24;
}
inline uint32_t gram_hash(uint32_t g) {
    return static_cast<uint32_t>((uint64_t{g} * 0x9e3779b97f4a7c15ULL) >> 32);
}

// ---------------------------------------------------------------- hyperscan

struct HsDatabaseFree {
    void operator()(hs_database_t* d) const { hs_free_database(d); }
};

// Per-thread scratch, grown to fit every database this thread has used.
struct ThreadScratch {
    hs_scratch_t* scratch = nullptr;
    std::vector<uint64_t> fitted; // serials of the databases it fits
    ~ThreadScratch() {
        if (scratch) hs_free_scratch(scratch);
    }
};

std::atomic<uint64_t> next_serial{1};

} // namespace

// ---------------------------------------------------------------- impl

struct Matcher::Impl {
    std::vector<Rule> rules;                    // each (but IfEnd) with its `compiled` regex
    std::vector<std::vector<ResultPart>> parts; // per Result entry
    std::vector<uint8_t> needs_groups;          // result uses $n
    std::vector<uint32_t> guard_of;             // innermost enclosing guard (guard number)
    std::vector<uint32_t> guard_rule;           // guard number -> entry index
    std::vector<uint32_t> guard_parent;         // guard number -> enclosing guard number
    std::vector<uint32_t> matchable;            // entries that can answer (not guards)

    // Suffix index: open addressing over (hash, key) -> slice of `lists`.
    struct Slot {
        uint64_t hash = 0;
        uint32_t key_off = 0, key_len = 0; // key_len 0: empty slot
        uint32_t list_off = 0, list_len = 0;
    };
    std::vector<Slot> slots;
    uint64_t mask = 0;
    static constexpr unsigned kFilterBits = 16;
    std::vector<uint64_t> filter; // one bit per top-16-bit hash value of a key
    std::string key_arena;
    std::vector<uint32_t> lists;
    size_t suffixes = 0, indexed = 0;

    // Entries the suffix index cannot take, in file order.
    std::vector<uint32_t> unindexed;
    // Of those, the ones looked at for every name (Hyperscan-prefiltered or
    // not filtered at all), in file order.
    std::vector<uint32_t> scanned;

    // Gram index over the other unindexed entries (used only when there are
    // more than kMaxPrefilter of them): open addressing, gram -> slice of
    // gram_lists; a bit per top-16-bit hash value skips most probes.
    struct GramSlot {
        uint32_t gram = 0; // 0: empty slot (a gram is never 0)
        uint32_t list_off = 0, list_len = 0;
    };
    std::vector<GramSlot> gram_slots;
    uint32_t gram_mask = 0;
    std::vector<uint64_t> gram_filter;
    std::vector<uint32_t> gram_lists;
    size_t gram_indexed = 0;

    // Hyperscan prefilter over at most kMaxPrefilter scanned entries.
    // hs_id[entry] is the expression id or -1 (no prefilter: always a candidate).
    std::unique_ptr<hs_database_t, HsDatabaseFree> hs_db;
    std::vector<int32_t> hs_id;
    size_t hs_count = 0;
    size_t hs_refused = 0; // set aside: Hyperscan cannot read them
    uint64_t serial = next_serial.fetch_add(1);

    mutable std::atomic<uint64_t> limit_hits{0};

    const std::vector<uint32_t>* probe(uint64_t h, std::string_view key,
                                       std::pair<uint32_t, uint32_t>& out) const;
    void build_index();
    void build_prefilter();
    void build_gram_index(std::vector<std::pair<uint32_t, uint32_t>>& keyed);
    void gram_candidates(const char* low, size_t n, std::vector<uint32_t>& cand) const;
    hs_scratch_t* thread_scratch() const;

    // Regex outcome for one entry (negation applied), counting limit hits.
    bool regex_holds(uint32_t entry, std::string_view name) const {
        MatchOutcome o = rules[entry].compiled->match(name);
        if (o == MatchOutcome::LimitExceeded || o == MatchOutcome::Error) {
            limit_hits.fetch_add(1, std::memory_order_relaxed);
            return false; // neither a positive nor a negated rule answers
        }
        return (o == MatchOutcome::Match) != rules[entry].negated;
    }
    bool scope_holds(uint32_t entry, const IpAddress* client) const {
        const auto& scope = rules[entry].scope;
        if (scope.empty()) return true;
        if (!client) return false;
        return std::any_of(scope.begin(), scope.end(),
                           [&](const Cidr& c) { return c.contains(*client); });
    }
    void answer(uint32_t entry, std::string_view name, Match& out) const;
    bool lookup(std::string_view name, const IpAddress* client, Match& out) const;
    std::optional<Match> linear(std::string_view name, const IpAddress* client) const;
};

const std::vector<uint32_t>* Matcher::Impl::probe(uint64_t h, std::string_view key,
                                                  std::pair<uint32_t, uint32_t>& out) const {
    if (slots.empty()) return nullptr;
    for (uint64_t s = h & mask;; s = (s + 1) & mask) {
        const Slot& slot = slots[s];
        if (slot.key_len == 0) return nullptr;
        if (slot.hash == h && slot.key_len == key.size() &&
            std::memcmp(key_arena.data() + slot.key_off, key.data(), key.size()) == 0) {
            out = {slot.list_off, slot.list_len};
            return &lists;
        }
    }
}

void Matcher::Impl::build_index() {
    // Group rule indices by key, keeping file order inside each list.
    std::vector<std::pair<std::string, uint32_t>> keyed;
    for (uint32_t e : matchable) {
        auto key = suffix_key(rules[e]);
        if (key) {
            keyed.emplace_back(std::move(*key), e);
            ++indexed;
        } else {
            unindexed.push_back(e);
        }
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t distinct = 0;
    for (size_t i = 0; i < keyed.size(); ++i)
        if (i == 0 || keyed[i].first != keyed[i - 1].first) ++distinct;
    suffixes = distinct;
    if (distinct == 0) return;
    size_t cap = 16;
    while (cap < distinct * 2)
        cap <<= 1;
    slots.assign(cap, Slot{});
    mask = cap - 1;
    filter.assign((size_t{1} << kFilterBits) / 64, 0);
    for (size_t i = 0; i < keyed.size();) {
        size_t j = i;
        while (j < keyed.size() && keyed[j].first == keyed[i].first)
            ++j;
        const std::string& key = keyed[i].first;
        Slot slot;
        slot.hash = hash_backward(key);
        slot.key_off = static_cast<uint32_t>(key_arena.size());
        slot.key_len = static_cast<uint32_t>(key.size());
        key_arena += key;
        slot.list_off = static_cast<uint32_t>(lists.size());
        for (size_t k = i; k < j; ++k)
            lists.push_back(keyed[k].second);
        slot.list_len = static_cast<uint32_t>(j - i);
        const uint64_t f = slot.hash >> (64 - kFilterBits);
        filter[f >> 6] |= uint64_t{1} << (f & 63);
        uint64_t s = slot.hash & mask;
        while (slots[s].key_len != 0)
            s = (s + 1) & mask;
        slots[s] = slot;
        i = j;
    }
}

// Whether Hyperscan can take the entry's flags (A, E and U only narrow a
// match, so the wider Hyperscan reading stays a superset; x has no Hyperscan
// flag) and text (a C string).
static bool hyperscan_may_take(const Rule& r) {
    return r.syntax == RuleSyntax::Pcre && !(r.pcre_flags & PCRE2_EXTENDED) &&
           r.pattern.find('\0') == std::string::npos;
}

static unsigned hyperscan_flags(const Rule& r) {
    unsigned f = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (r.caseless) f |= HS_FLAG_CASELESS;
    if (r.pcre_flags & PCRE2_DOTALL) f |= HS_FLAG_DOTALL;
    if (r.pcre_flags & PCRE2_MULTILINE) f |= HS_FLAG_MULTILINE;
    return f;
}

void Matcher::Impl::build_prefilter() {
    hs_id.assign(rules.size(), -1);
    // Few unindexed entries: Hyperscan for all of them. Many: the gram index
    // for those with a required literal, Hyperscan for the first
    // kMaxPrefilter of the rest; whatever is left is evaluated for every name.
    // Guards are left to PCRE2: they are evaluated only when a rule inside
    // them is a candidate, and nearly every name passes them anyway.
    std::vector<uint32_t> to_hs;
    std::vector<std::pair<uint32_t, uint32_t>> keyed; // (gram, entry)
    size_t eligible = 0;
    for (uint32_t e : unindexed)
        if (hyperscan_may_take(rules[e])) ++eligible;
    const bool few = eligible <= kMaxPrefilter;
    if (!few) {
        // Gram choice: of each alternative's grams, the one fewest rules
        // share, so that the lists a name's grams reach stay short.
        std::vector<std::optional<std::vector<std::vector<std::string>>>> runs(unindexed.size());
        std::unordered_map<uint32_t, uint32_t> freq;
        std::vector<uint32_t> grams;
        for (size_t k = 0; k < unindexed.size(); ++k) {
            runs[k] = required_runs(rules[unindexed[k]]);
            if (!runs[k]) continue;
            grams.clear();
            for (const auto& branch : *runs[k])
                for (const auto& run : branch)
                    for (size_t i = 0; i + kMinGram <= run.size(); ++i) {
                        grams.push_back(gram3(run.data() + i));
                        if (i + 4 <= run.size()) grams.push_back(gram4(run.data() + i));
                    }
            std::sort(grams.begin(), grams.end());
            grams.erase(std::unique(grams.begin(), grams.end()), grams.end());
            for (uint32_t g : grams)
                ++freq[g];
        }
        for (size_t k = 0; k < unindexed.size(); ++k) {
            const uint32_t e = unindexed[k];
            if (!runs[k]) {
                if (hyperscan_may_take(rules[e]) && to_hs.size() < kMaxPrefilter)
                    to_hs.push_back(e);
                scanned.push_back(e);
                continue;
            }
            for (const auto& branch : *runs[k]) {
                uint32_t best = 0, best_freq = UINT32_MAX;
                for (const auto& run : branch)
                    for (size_t i = 0; i + kMinGram <= run.size(); ++i) {
                        // A 4-gram is never shared by more rules than its
                        // 3-grams, so on a tie the 4-gram (more selective in
                        // names) comes first.
                        if (i + 4 <= run.size()) {
                            const uint32_t g = gram4(run.data() + i);
                            if (freq[g] < best_freq) best = g, best_freq = freq[g];
                        }
                        const uint32_t g = gram3(run.data() + i);
                        if (freq[g] < best_freq) best = g, best_freq = freq[g];
                    }
                keyed.emplace_back(best, e);
            }
            ++gram_indexed;
        }
        build_gram_index(keyed);
    } else {
        for (uint32_t e : unindexed) {
            if (hyperscan_may_take(rules[e])) to_hs.push_back(e);
            scanned.push_back(e);
        }
    }

    // Set Hyperscan's refusals aside first, one pattern at a time (a parse,
    // no compile), so that the set compiles in one go.
    std::vector<uint32_t> chosen;
    for (uint32_t e : to_hs) {
        const Rule& r = rules[e];
        hs_expr_info_t* info = nullptr;
        hs_compile_error_t* err = nullptr;
        if (hs_expression_info(r.pattern.c_str(), hyperscan_flags(r), &info, &err) == HS_SUCCESS)
            chosen.push_back(e);
        else
            ++hs_refused;
        std::free(info);
        if (err) hs_free_compile_error(err);
    }
    // A few limits show only when compiling; the compiler names the
    // expression: set it aside and compile again, a bounded number of times.
    for (int attempt = 0; !chosen.empty() && attempt < kMaxPrefilterRetries; ++attempt) {
        std::vector<const char*> exprs;
        std::vector<unsigned> flags, ids;
        for (size_t k = 0; k < chosen.size(); ++k) {
            const Rule& r = rules[chosen[k]];
            exprs.push_back(r.pattern.c_str());
            flags.push_back(hyperscan_flags(r));
            ids.push_back(static_cast<unsigned>(k));
        }
        hs_database_t* db = nullptr;
        hs_compile_error_t* err = nullptr;
        hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                                         nullptr, &db, &err);
        if (rc == HS_SUCCESS) {
            hs_db.reset(db);
            for (size_t k = 0; k < chosen.size(); ++k)
                hs_id[chosen[k]] = static_cast<int32_t>(k);
            hs_count = chosen.size();
            return;
        }
        const int bad = err ? err->expression : -1;
        if (err) hs_free_compile_error(err);
        if (bad < 0 || static_cast<size_t>(bad) >= chosen.size()) break;
        chosen.erase(chosen.begin() + bad);
        ++hs_refused;
    }
    hs_refused += chosen.size(); // no prefilter at all: every entry is a plain candidate
}

void Matcher::Impl::build_gram_index(std::vector<std::pair<uint32_t, uint32_t>>& keyed) {
    // Lists in file order; an entry keyed twice by one gram (two alternatives) once.
    std::sort(keyed.begin(), keyed.end());
    keyed.erase(std::unique(keyed.begin(), keyed.end()), keyed.end());
    size_t distinct = 0;
    for (size_t i = 0; i < keyed.size(); ++i)
        if (i == 0 || keyed[i].first != keyed[i - 1].first) ++distinct;
    if (distinct == 0) return;
    size_t cap = 16;
    while (cap < distinct * 2)
        cap <<= 1;
    gram_slots.assign(cap, GramSlot{});
    gram_mask = static_cast<uint32_t>(cap - 1);
    gram_filter.assign((size_t{1} << kFilterBits) / 64, 0);
    gram_lists.reserve(keyed.size());
    for (size_t i = 0; i < keyed.size();) {
        size_t j = i;
        while (j < keyed.size() && keyed[j].first == keyed[i].first)
            ++j;
        GramSlot slot;
        slot.gram = keyed[i].first;
        slot.list_off = static_cast<uint32_t>(gram_lists.size());
        for (size_t k = i; k < j; ++k)
            gram_lists.push_back(keyed[k].second);
        slot.list_len = static_cast<uint32_t>(j - i);
        const uint32_t h = gram_hash(slot.gram);
        const uint32_t f = h >> (32 - kFilterBits);
        gram_filter[f >> 6] |= uint64_t{1} << (f & 63);
        uint32_t s = h & gram_mask;
        while (gram_slots[s].gram != 0)
            s = (s + 1) & gram_mask;
        gram_slots[s] = slot;
        i = j;
    }
}

// Appends the gram-indexed entries whose gram occurs in the lower-cased name.
void Matcher::Impl::gram_candidates(const char* low, size_t n, std::vector<uint32_t>& cand) const {
    if (gram_slots.empty()) return;
    auto probe = [&](uint32_t g) {
        const uint32_t h = gram_hash(g);
        const uint32_t f = h >> (32 - kFilterBits);
        if (!(gram_filter[f >> 6] & (uint64_t{1} << (f & 63)))) return;
        for (uint32_t s = h & gram_mask; gram_slots[s].gram != 0; s = (s + 1) & gram_mask)
            if (gram_slots[s].gram == g) {
                const GramSlot& slot = gram_slots[s];
                cand.insert(cand.end(), gram_lists.begin() + slot.list_off,
                            gram_lists.begin() + slot.list_off + slot.list_len);
                return;
            }
    };
    for (size_t i = 0; i + kMinGram <= n; ++i) {
        probe(gram3(low + i));
        if (i + 4 <= n) probe(gram4(low + i));
    }
}

hs_scratch_t* Matcher::Impl::thread_scratch() const {
    thread_local ThreadScratch ts;
    if (std::find(ts.fitted.begin(), ts.fitted.end(), serial) == ts.fitted.end()) {
        if (hs_alloc_scratch(hs_db.get(), &ts.scratch) != HS_SUCCESS) return nullptr;
        if (ts.fitted.size() > 64) ts.fitted.clear(); // long-lived thread, many reloads
        ts.fitted.push_back(serial);
    }
    return ts.scratch;
}

// Fills `m` in place, so a caller that looks up many names reuses the
// result's buffer instead of allocating one per answer.
void Matcher::Impl::answer(uint32_t entry, std::string_view name, Match& m) const {
    m.rule = &rules[entry];
    m.result.clear();
    const auto& ps = parts[entry];
    if (!needs_groups[entry]) {
        for (const auto& p : ps)
            m.result += p.text;
        return;
    }
    thread_local std::vector<Group> groups;
    if (rules[entry].compiled->match(name, groups) != MatchOutcome::Match) groups.clear();
    for (const auto& p : ps) {
        if (p.group < 0) {
            m.result += p.text;
        } else if (static_cast<size_t>(p.group) < groups.size() && groups[p.group].set) {
            const Group& g = groups[p.group];
            m.result.append(name.substr(g.begin, g.end - g.begin));
        }
    }
}

std::optional<Match> Matcher::Impl::linear(std::string_view name, const IpAddress* client) const {
    for (size_t i = 0; i < rules.size(); ++i) {
        const Rule& r = rules[i];
        if (r.action == RuleAction::IfEnd) continue;
        if (r.action == RuleAction::IfBegin) {
            if (regex_holds(static_cast<uint32_t>(i), name)) continue;
            // Skip to the matching endif.
            int depth = 1;
            while (depth > 0 && ++i < rules.size()) {
                if (rules[i].action == RuleAction::IfBegin) ++depth;
                if (rules[i].action == RuleAction::IfEnd) --depth;
            }
            continue;
        }
        if (!scope_holds(static_cast<uint32_t>(i), client)) continue;
        if (!regex_holds(static_cast<uint32_t>(i), name)) continue;
        Match m;
        answer(static_cast<uint32_t>(i), name, m);
        return m;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------- Matcher

Matcher::Matcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

Expected<Matcher> Matcher::build(std::vector<Rule> rules) {
    auto impl = std::make_unique<Impl>();
    const size_t n = rules.size();
    impl->parts.resize(n);
    impl->needs_groups.assign(n, 0);
    impl->guard_of.assign(n, kNoGuard);
    std::vector<uint32_t> open; // guard numbers
    for (size_t i = 0; i < n; ++i) {
        Rule& r = rules[i];
        impl->guard_of[i] = open.empty() ? kNoGuard : open.back();
        if (r.action == RuleAction::IfEnd) {
            if (open.empty()) return Error{r.file, r.line, "endif without matching if"};
            open.pop_back();
            continue;
        }
        // Compiled already when the reader checked the rule (a table line,
        // lint); compiled here otherwise. Either way once.
        if (!r.compiled) {
            auto re = Regex::compile(r.pattern, r.syntax, r.caseless, r.pcre_flags);
            if (!re) return Error{r.file, r.line, re.error().reason};
            r.compiled = std::make_shared<const Regex>(std::move(re).value());
        }
        const Regex* re = r.compiled.get();
        if (r.action == RuleAction::IfBegin) {
            impl->guard_rule.push_back(static_cast<uint32_t>(i));
            impl->guard_parent.push_back(open.empty() ? kNoGuard : open.back());
            // No depth limit: postmap nests if/endif as deep as the file goes.
            open.push_back(static_cast<uint32_t>(impl->guard_rule.size() - 1));
        } else {
            auto parts = parse_result(r.result);
            if (!parts) return Error{r.file, r.line, parts.error().reason};
            for (const auto& p : *parts) {
                if (p.group < 0) continue;
                if (r.negated)
                    return Error{r.file, r.line, "$number in the result of a negated rule"};
                if (static_cast<unsigned>(p.group) > re->capture_count())
                    return Error{r.file, r.line,
                                 "out of range replacement index \"" + std::to_string(p.group) +
                                     "\""};
                impl->needs_groups[i] = 1;
            }
            impl->parts[i] = std::move(*parts);
            impl->matchable.push_back(static_cast<uint32_t>(i));
        }
    }
    if (!open.empty()) {
        const Rule& r = rules[impl->guard_rule[open.back()]];
        return Error{r.file, r.line, "if without matching endif"};
    }
    impl->rules = std::move(rules);
    impl->build_index();
    impl->build_prefilter();
    return Matcher(std::move(impl));
}

std::optional<Match> Matcher::match_linear(std::string_view name, const IpAddress* client) const {
    return impl_->linear(name, client);
}

std::optional<Match> Matcher::match(std::string_view name, const IpAddress* client) const {
    Match out;
    if (!impl_->lookup(name, client, out)) return std::nullopt;
    return out;
}

bool Matcher::match(std::string_view name, const IpAddress* client, Match& out) const {
    return impl_->lookup(name, client, out);
}

bool Matcher::Impl::lookup(std::string_view name, const IpAddress* client, Match& out) const {
    const Impl& m = *this;
    // The linear walk answers names the index cannot take (non-ASCII, newline).
    auto walk = [&] {
        auto r = m.linear(name, client);
        if (r) out = std::move(*r);
        return r.has_value();
    };
    // 1. Suffix index hits, in one right-to-left pass that lower-cases the
    // name and hashes each suffix as it grows.
    thread_local std::string lower;
    thread_local std::vector<uint32_t> cand;
    lower.resize(name.size());
    cand.clear();
    char* const low = lower.data();
    const uint64_t* const filter = m.filter.empty() ? nullptr : m.filter.data();
    uint64_t h = kHashSeed;
    std::pair<uint32_t, uint32_t> slice;
    for (size_t i = name.size(); i-- > 0;) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (c >= 0x80 || c == '\n') return walk();
        const auto lc = static_cast<unsigned char>(ascii_lower(static_cast<char>(c)));
        low[i] = static_cast<char>(lc);
        h = hash_step(h, lc);
        if (!filter) continue;
        const uint64_t f = h >> (64 - Impl::kFilterBits);
        if (!(filter[f >> 6] & (uint64_t{1} << (f & 63)))) continue;
        if (m.probe(h, std::string_view(low + i, name.size() - i), slice))
            cand.insert(cand.end(), m.lists.begin() + slice.first,
                        m.lists.begin() + slice.first + slice.second);
    }

    m.gram_candidates(low, name.size(), cand);

    // 2. One prefilter scan for the scanned entries.
    thread_local std::vector<uint8_t> maybe;
    const bool have_hs = m.hs_db != nullptr;
    if (have_hs) {
        maybe.assign(m.hs_count, 0);
        hs_scratch_t* scratch = m.thread_scratch();
        if (!scratch) return walk();
        auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned,
                           void* ctx) -> int {
            static_cast<uint8_t*>(ctx)[id] = 1;
            return 0;
        };
        if (hs_scan(m.hs_db.get(), name.data(), static_cast<unsigned>(name.size()), 0, scratch,
                    on_match, maybe.data()) != HS_SUCCESS)
            return walk();
    }
    // Whether entry e's regex may match (false: it certainly does not).
    auto may_match = [&](uint32_t e) {
        const int32_t id = m.hs_id[e];
        return id < 0 || maybe[static_cast<size_t>(id)] != 0;
    };
    for (uint32_t e : m.scanned)
        if (m.rules[e].negated || may_match(e)) cand.push_back(e);
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end()); // a name may hold two grams

    // 3. Candidates in file order, guards memoised for this lookup.
    thread_local std::vector<int8_t> guard_state; // -1 unknown, 0 false, 1 true
    guard_state.assign(m.guard_rule.size(), -1);
    thread_local std::vector<uint32_t> chain; // as deep as the table nests
    auto guard_holds = [&](uint32_t g) {
        // Walk outwards to the first known state, then settle inwards.
        chain.clear();
        for (uint32_t x = g; x != kNoGuard && guard_state[x] < 0; x = m.guard_parent[x])
            chain.push_back(x);
        while (!chain.empty()) {
            const uint32_t x = chain.back();
            chain.pop_back();
            const uint32_t parent = m.guard_parent[x];
            bool holds = parent == kNoGuard || guard_state[parent] == 1;
            // Guards are never prefiltered (build_prefilter): PCRE2 decides.
            if (holds) holds = m.regex_holds(m.guard_rule[x], name);
            guard_state[x] = holds ? 1 : 0;
        }
        return guard_state[g] == 1;
    };
    // The rule's own regex runs before its guards: a candidate usually fails
    // on its own, and then the guards (broad, unanchored) need not run.
    for (uint32_t e : cand) {
        if (!m.scope_holds(e, client)) continue;
        const bool holds = (m.rules[e].negated && !may_match(e)) || m.regex_holds(e, name);
        if (!holds) continue;
        const uint32_t g = m.guard_of[e];
        if (g != kNoGuard && !guard_holds(g)) continue;
        m.answer(e, name, out);
        return true;
    }
    return false;
}

const std::vector<Rule>& Matcher::rules() const {
    return impl_->rules;
}

MatcherStats Matcher::stats() const {
    MatcherStats s;
    s.rules = impl_->matchable.size();
    s.indexed = impl_->indexed;
    s.scanned = impl_->scanned.size();
    s.gram_indexed = impl_->gram_indexed;
    s.prefiltered = impl_->hs_count;
    s.prefilter_refused = impl_->hs_refused;
    s.suffixes = impl_->suffixes;
    s.limit_exceeded = impl_->limit_hits.load(std::memory_order_relaxed);
    return s;
}

} // namespace ip25b
