// ip25b/matcher.hpp — first-match lookup of a name in an ordered rule list.
//
// The answer is the same one a linear walk (Postfix's pcre/regexp tables)
// gives: the first Rule, in file order, whose regex matches and whose guards
// (`if`/`endif`) and address scope hold. The cost must not grow with the
// number of rules: rules anchored to a literal domain suffix are indexed by
// it, so a lookup only evaluates the rules whose suffix the name ends with,
// plus the few that cannot be indexed (prefiltered by a multi-pattern scan,
// or, when they are many, indexed by a literal every match must contain).
// Every regex is JIT-compiled and runs under PCRE2 match/depth limits.
//
// A built Matcher is immutable; match() is const and safe to call from many
// threads at once (per-thread scratch space).
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/error.hpp"
#include "ip25b/rule.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

struct Match {
    const Rule* rule = nullptr; // points into the Matcher's rule list
    std::string result;         // rule->result with $n/${n}/$$ substituted (Result rules)
};

struct MatcherStats {
    size_t rules = 0;          // matchable entries (guards excluded)
    size_t indexed = 0;        // reached through the suffix index
    size_t scanned = 0;        // looked at for every name (Hyperscan-prefiltered or not)
    size_t gram_indexed = 0;   // reached through the gram index (required literals)
    size_t prefiltered = 0;    // of `scanned`, those in the Hyperscan prefilter
    size_t prefilter_refused = 0; // of `scanned`, those Hyperscan refused (no prefilter)
    size_t suffixes = 0;       // distinct index keys
    size_t limit_exceeded = 0; // regex runs stopped by the PCRE2 limits (counted as no match)
};

class Matcher {
  public:
    // Compiles every entry. Errors name the rule's file and line: a regex that
    // does not compile, unbalanced if/endif.
    static Expected<Matcher> build(std::vector<Rule> rules);

    // `name` as received (any case). `client` is needed only for scoped rules:
    // a scoped rule never matches when client is null or outside its scope.
    std::optional<Match> match(std::string_view name, const IpAddress* client = nullptr) const;
    // The same answer written into `out` (false: no rule matched), for loops
    // over many names that reuse out.result's buffer.
    bool match(std::string_view name, const IpAddress* client, Match& out) const;

    // The reference answer: walks every entry in order. For tests and lint.
    std::optional<Match> match_linear(std::string_view name,
                                      const IpAddress* client = nullptr) const;

    const std::vector<Rule>& rules() const;
    MatcherStats stats() const;

    Matcher(Matcher&&) noexcept;
    Matcher& operator=(Matcher&&) noexcept;
    ~Matcher();

  private:
    struct Impl;
    explicit Matcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
