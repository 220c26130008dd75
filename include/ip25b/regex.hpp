// ip25b/regex.hpp — one compiled regular expression, PCRE2 or POSIX, that cannot hang.
//
// Postfix tables come in two dialects: pcre: (PCRE2) and regexp: (POSIX ERE via
// regcomp(3)); rule files use PCRE2. Regex hides which engine runs and owns the
// C handles (unique_ptr with the library's free functions). PCRE2 patterns are
// JIT-compiled and every match runs under a match limit and a depth limit, so
// a catastrophic pattern such as /(a+)+$/ ends with MatchOutcome::LimitExceeded
// instead of burning a milter thread. The JIT counts its limit differently from
// the interpreter Postfix uses, so a JIT limit hit is settled by the interpreter.
// Match data is per thread, so one Regex may be used from many threads at once.
//
// POSIX patterns are compiled by glibc's regcomp, which copies the operand of every
// repetition (x{1,3} is x, x?, x?) and takes exponential time and memory when they are
// stacked or nested (a++++..., ((a{1,3}){1,3})...): a pattern whose repetitions would
// add more than kMaxPosixCopies nodes is refused, as no host name needs them. So is an
// unbounded repetition of something that can match the empty string ((a*)*, a**, (a|b?)+):
// its epsilon closures grow exponentially with the copies around it.
//
// Flags: for RuleSyntax::Pcre `flags` are PCRE2 compile options (PCRE2_DOTALL,
// PCRE2_MULTILINE, ...); for RuleSyntax::PosixRegexp they are regcomp(3)
// cflags (REG_EXTENDED, REG_NEWLINE). Case-insensitivity is passed separately
// because Postfix toggles it with the `i` flag in both dialects.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/rule.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace ip25b {

enum class MatchOutcome : uint8_t {
    NoMatch,
    Match,
    LimitExceeded, // match/depth limit or JIT stack exhausted: treat as "no match" and count
    Error,         // any other engine error (e.g. invalid UTF-8 with a UTF pattern)
};

// 0 means PCRE2's built-in default (10,000,000 for both in Debian's build), which is
// what Postfix's dict_pcre runs under (it passes no match context): a pattern that
// answers in `postmap -q` must answer here too, however hard it backtracks.
struct RegexLimits {
    uint32_t match_limit = 0; // PCRE2 match() calls per attempt
    uint32_t depth_limit = 0; // PCRE2 backtracking depth
};

// The most nodes the repetitions of a POSIX pattern may add (see above).
inline constexpr uint64_t kMaxPosixCopies = 1000;

// One captured group of the last match: [begin, end) in the subject, or unset.
struct Group {
    size_t begin = 0;
    size_t end = 0;
    bool set = false;
};

class Regex {
  public:
    // `jit` false skips the JIT for good; true JIT-compiles the pattern at its
    // first match (once, whichever thread gets there first), so that loading a
    // big rule set pays only for the patterns lookups reach. The Error carries
    // the reason only; callers add file and line.
    static Expected<Regex> compile(std::string_view pattern, RuleSyntax syntax, bool caseless,
                                   uint32_t flags, bool jit = true, RegexLimits limits = {});

    // Whether the regex matches anywhere in `subject`.
    MatchOutcome match(std::string_view subject) const;

    // As match(); on Match fills `groups` with groups 0..capture_count() (the
    // vector is reused, so a caller that keeps it allocates once).
    MatchOutcome match(std::string_view subject, std::vector<Group>& groups) const;

    unsigned capture_count() const;
    // Whether matches run JIT code (false before the first match).
    bool jit_compiled() const;

    Regex(Regex&&) noexcept;
    Regex& operator=(Regex&&) noexcept;
    ~Regex();

  private:
    struct Impl;
    explicit Regex(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Short text for logs and errors ("match limit exceeded").
const char* to_string(MatchOutcome outcome);

} // namespace ip25b
