// lint.cpp — the checks behind `ip25b lint`.
//
// Per file: compile each pattern on its own (so every bad pattern is named,
// not just the first), look at its text for missing anchors and nested
// quantifiers, run it against adversarial names under the production PCRE2
// limits, then build the file's Matcher and check every example against both
// its own rule and the file's first-match answer. Across files: examples of
// one ISP/allowlist file that another such file matches, and zones claimed twice.
#include "ip25b/lint.hpp"

#include "ip25b/ascii.hpp"
#include "ip25b/dns_name.hpp"
#include "ip25b/ip_in_name.hpp"
#include "ip25b/matcher.hpp"
#include "ip25b/regex.hpp"
#include "ip25b/regex_syntax.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace ip25b {

namespace {

// ---- pattern text -------------------------------------------------------

// Index just past the character class that starts at p[i] == '[' (the end of
// the pattern when it is unterminated: the compiler reports that).
size_t skip_class(std::string_view p, size_t i) {
    const size_t end = regex_class_end(p, i);
    return end == std::string_view::npos ? p.size() : end + 1;
}

bool anchored_start(std::string_view p) {
    return p.starts_with("^") || p.starts_with("\\A");
}

bool escaped_at(std::string_view p, size_t i) { // is p[i] preceded by an odd run of '\'?
    size_t n = 0;
    while (i > n && p[i - 1 - n] == '\\')
        ++n;
    return n % 2 == 1;
}

bool anchored_end(std::string_view p) {
    if (p.empty()) return false;
    size_t last = p.size() - 1;
    if (p[last] == '$' && !escaped_at(p, last)) return true;
    return (p[last] == 'z' || p[last] == 'Z') && escaped_at(p, last);
}

bool top_level_alternation(std::string_view p) {
    int depth = 0;
    for (size_t i = 0; i < p.size();) {
        char c = p[i];
        if (c == '\\')
            i += 2;
        else if (c == '[')
            i = skip_class(p, i);
        else {
            if (c == '(')
                ++depth;
            else if (c == ')')
                depth = std::max(0, depth - 1);
            else if (c == '|' && depth == 0)
                return true;
            ++i;
        }
    }
    return false;
}

// The first group that repeats without bound while containing an unbounded
// quantifier itself, e.g. "(a+)+" or "([a-z]+\.)*": such nesting can
// backtrack exponentially. Returns the group's text, or nullopt.
std::optional<std::string> nested_quantifier(std::string_view p) {
    struct Frame {
        size_t open;
        bool inner_unbounded;
    };
    std::vector<Frame> stack{{0, false}};
    for (size_t i = 0; i < p.size();) {
        char c = p[i];
        size_t atom_end;
        bool atom_unbounded_inside = false;
        size_t atom_start = i;
        if (c == '\\') {
            atom_end = std::min(i + 2, p.size());
        } else if (c == '[') {
            atom_end = skip_class(p, i);
        } else if (c == '(') {
            stack.push_back({i, false});
            ++i;
            continue;
        } else if (c == ')') {
            if (stack.size() == 1) { // unbalanced; the compiler reports it
                ++i;
                continue;
            }
            Frame f = stack.back();
            stack.pop_back();
            atom_start = f.open;
            atom_end = i + 1;
            atom_unbounded_inside = f.inner_unbounded;
        } else {
            atom_end = i + 1;
        }
        // A possessive quantifier never gives back, so it cannot backtrack.
        auto q = regex_quantifier_at(p, atom_end);
        const bool unbounded = q && q->unbounded && !q->possessive;
        if (unbounded && atom_unbounded_inside)
            return std::string(p.substr(atom_start, atom_end + q->length - atom_start));
        stack.back().inner_unbounded |= atom_unbounded_inside || unbounded;
        i = atom_end + (q ? q->length : 0);
    }
    return std::nullopt;
}

// Names built to make a backtracking engine work hard: long runs of the
// characters the pattern uses, alone and in pairs, after the starts of the
// rule's own examples (so anchored patterns get past their first literal),
// ending in a character no host name has.
std::vector<std::string> adversarial_names(const std::string& pattern,
                                           const std::vector<std::string>& starts) {
    std::set<char> chars{'a', '0', '-', '.'};
    for (char c : pattern) {
        const char l = ascii_lower(c);
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '_' || l == '.')
            chars.insert(l);
        if (chars.size() >= 24) break;
    }
    std::vector<std::string> units;
    for (char c : chars)
        units.emplace_back(1, c);
    for (char a : {'a', '0'})
        for (char c : chars)
            if (c != a) units.push_back(std::string{a, c});
    // Each unit repeated to the longest name once, then cut to fit after
    // each start: a start plus as many whole units as fit in 253 bytes.
    constexpr size_t kLongest = 253;
    std::vector<std::string> runs;
    for (const std::string& u : units) {
        const size_t size = kLongest / u.size() * u.size();
        std::string run = u;
        run.reserve(size);
        while (run.size() * 2 <= size) // doubling: a few appends, not one per unit
            run += run;
        run.append(run, 0, size - run.size());
        runs.push_back(std::move(run));
    }
    std::vector<std::string> out;
    out.reserve(2 * starts.size() * units.size());
    for (const std::string& start : starts)
        for (size_t k = 0; k < units.size(); ++k) {
            const size_t room = start.size() < kLongest ? kLongest - start.size() : 0;
            const size_t fit = room / units[k].size() * units[k].size();
            std::string s;
            s.reserve(start.size() + fit + 1);
            s.append(start).append(runs[k], 0, fit);
            out.push_back(s + "!");
            out.push_back(std::move(s));
        }
    return out;
}

// ---- findings -----------------------------------------------------------

class Sink {
  public:
    explicit Sink(std::vector<LintFinding>& out) : out_(out) {}
    void error(const std::string& file, unsigned line, std::string reason) {
        out_.push_back({LintSeverity::Error, file, line, std::move(reason)});
    }
    void warning(const std::string& file, unsigned line, std::string reason) {
        out_.push_back({LintSeverity::Warning, file, line, std::move(reason)});
    }

  private:
    std::vector<LintFinding>& out_;
};

std::string describe(const Rule& r) {
    std::string kind = r.action == RuleAction::Exception ? "exception"
                       : r.action == RuleAction::Allow   ? "allow entry"
                       : r.action == RuleAction::Cloud   ? "cloud entry"
                                                         : "rule";
    return kind + " '" + r.id + "' (line " + std::to_string(r.line) + ")";
}

bool in_domains(const std::string& name, const std::vector<std::string>& domains) {
    for (const std::string& d : domains)
        if (name == d || (name.size() > d.size() && name.ends_with(d) &&
                          name[name.size() - d.size() - 1] == '.'))
            return true;
    return false;
}

IpEncoding forward_of(IpEncoding e) {
    switch (e) {
    case IpEncoding::DecimalReversed:
        return IpEncoding::Decimal;
    case IpEncoding::PaddedReversed:
        return IpEncoding::Padded;
    case IpEncoding::HexReversed:
        return IpEncoding::Hex;
    default:
        return e;
    }
}

// Whether `rule` alone matches (its regex and its address scope).
bool rule_matches(const Regex& re, const Rule& rule, const std::string& name,
                  const std::optional<IpAddress>& ip) {
    if (re.match(name) != MatchOutcome::Match) return false;
    if (rule.scope.empty()) return true;
    if (!ip) return false;
    return std::any_of(rule.scope.begin(), rule.scope.end(),
                       [&](const Cidr& c) { return c.contains(*ip); });
}

// A file whose rules compiled, ready for the checks across files.
struct Built {
    const RuleFile* file;
    std::optional<Matcher> matcher;
};

class FileLinter {
  public:
    FileLinter(RuleFile& f, Sink& sink) : f_(f), sink_(sink) {}

    std::optional<Matcher> run(size_t& examples_checked) {
        bool all_compiled = true;
        // Each pattern is compiled on its own (so every bad one is named) and
        // only once: the file's rules keep it (Rule::compiled), so the
        // file's matcher here and the loader's matcher take it over.
        for (Rule& r : f_.rules) {
            if (!r.compiled) {
                auto re = Regex::compile(r.pattern, r.syntax, r.caseless, r.pcre_flags);
                if (!re) {
                    sink_.error(r.file, r.line,
                                "pattern of '" + r.id + "' does not compile: " + re.error().reason);
                    all_compiled = false;
                    regexes_.emplace_back(nullptr);
                    continue;
                }
                r.compiled = std::make_shared<const Regex>(std::move(re).value());
            }
            check_text(r);
            check_backtracking(r, *r.compiled);
            regexes_.push_back(r.compiled);
        }
        if (!all_compiled) return std::nullopt;
        auto m = Matcher::build(f_.rules);
        if (!m) {
            sink_.error(m.error().file, m.error().line, m.error().reason);
            return std::nullopt;
        }
        for (const RuleExample& ex : f_.examples) {
            ++examples_checked;
            check_example(ex, *m);
        }
        return std::move(m).value();
    }

  private:
    void check_text(const Rule& r) {
        bool generic = f_.kind == RuleFileKind::Generic;
        bool need_start = r.action != RuleAction::Exception;
        bool need_end = !generic;
        if (need_start && !anchored_start(r.pattern))
            sink_.warning(r.file, r.line,
                          "pattern of '" + r.id +
                              "' is not anchored at the start (^): it also matches names "
                              "that merely contain it");
        if (need_end && !anchored_end(r.pattern))
            sink_.warning(r.file, r.line,
                          "pattern of '" + r.id +
                              "' is not anchored at the end ($): it also matches look-alikes "
                              "in other domains");
        if (top_level_alternation(r.pattern))
            sink_.warning(r.file, r.line,
                          "pattern of '" + r.id +
                              "' has a top-level '|': ^ and $ bind to one alternative only; "
                              "wrap the alternatives in (...)");
        if (auto g = nested_quantifier(r.pattern))
            sink_.warning(r.file, r.line,
                          "pattern of '" + r.id + "' nests unbounded quantifiers in '" + *g +
                              "': it may backtrack catastrophically");
    }

    void check_backtracking(const Rule& r, const Regex& re) {
        std::vector<std::string> starts{""};
        size_t taken = 0;
        for (const RuleExample& ex : f_.examples) {
            if (ex.file_level || ex.rule_id != r.id || !ex.must_match || taken == 3) continue;
            ++taken;
            std::string n = normalize_hostname(ex.ptr);
            starts.push_back(n.substr(0, 1));
            starts.push_back(n.substr(0, n.find('.') + 1));
        }
        for (const std::string& s : adversarial_names(r.pattern, starts)) {
            MatchOutcome o = re.match(s);
            if (o == MatchOutcome::LimitExceeded || o == MatchOutcome::Error) {
                std::string shown = s.size() > 24 ? s.substr(0, 20) + "..." : s;
                sink_.error(
                    r.file, r.line,
                    "pattern of '" + r.id + "' hits the PCRE2 " +
                        (o == MatchOutcome::LimitExceeded ? "match limit" : "engine error") +
                        " on '" + shown + "' (" + std::to_string(s.size()) +
                        " bytes): catastrophic backtracking; it would never match in "
                        "the milter");
                return;
            }
        }
    }

    size_t index_of(const std::string& id) const {
        for (size_t i = 0; i < f_.rules.size(); ++i)
            if (f_.rules[i].id == id) return i;
        return f_.rules.size();
    }

    void check_example(const RuleExample& ex, const Matcher& m) {
        const std::string name = normalize_hostname(ex.ptr);
        const IpAddress* ip = ex.ip ? &*ex.ip : nullptr;
        auto answer = m.match(name, ip);
        auto linear = m.match_linear(name, ip);
        const Rule* got = answer ? answer->rule : nullptr;
        const Rule* lin = linear ? linear->rule : nullptr;
        const std::string& file = f_.path;
        if (got != lin)
            sink_.error(file, ex.line,
                        "'" + ex.ptr + "': the indexed matcher and the linear walk disagree (" +
                            (got ? describe(*got) : "no match") + " vs " +
                            (lin ? describe(*lin) : "no match") + ")");
        bool must_be_inside =
            (f_.kind == RuleFileKind::Isp || f_.kind == RuleFileKind::Cloud) && ex.must_match;
        if (must_be_inside && !in_domains(name, f_.meta.domains))
            sink_.error(file, ex.line, "example '" + ex.ptr + "' is outside the file's domains");

        if (!ex.file_level) {
            size_t i = index_of(ex.rule_id);
            const Rule& r = f_.rules[i];
            bool own = rule_matches(*regexes_[i], r, name, ex.ip);
            if (ex.must_match) {
                if (!own)
                    sink_.error(file, ex.line,
                                "example '" + ex.ptr + "' does not match " + describe(r) +
                                    (r.scope.empty() ? "" : " within its ranges"));
                else if (!got || got->id != r.id)
                    sink_.error(file, ex.line,
                                "example '" + ex.ptr + "' of '" + r.id + "' is answered by " +
                                    (got ? describe(*got) + " first" : "no rule"));
                check_embeds(ex, name, f_.info[i]);
            } else if (own) {
                sink_.error(file, ex.line,
                            "counter-example '" + ex.ptr + "' matches " + describe(r));
            }
            return;
        }
        if (ex.must_match) {
            bool positive =
                got && (got->action == RuleAction::Dynamic || got->action == RuleAction::Allow ||
                        got->action == RuleAction::Cloud);
            if (!positive)
                sink_.error(file, ex.line,
                            "match example '" + ex.ptr + "' is answered by " +
                                (got ? describe(*got) : "no rule"));
            else if (!ex.rule_id.empty() && got->id != ex.rule_id)
                sink_.error(file, ex.line,
                            "match example '" + ex.ptr + "' is answered by " + describe(*got) +
                                ", not '" + ex.rule_id + "'");
        } else if (got && got->action != RuleAction::Exception) {
            sink_.error(file, ex.line,
                        "no_match example '" + ex.ptr + "' is answered by " + describe(*got));
        }
    }

    // The embeds_ip hint must agree with the IP-in-name detector.
    void check_embeds(const RuleExample& ex, const std::string& name, const RuleInfo& info) {
        if (info.embeds_ip.empty()) return;
        const IpAddress* ip = ex.ip ? &*ex.ip : nullptr;
        IpInName found = find_ip_in_name(name, ip);
        if (info.embeds_ip == "none") {
            if (found.evidence == IpEvidence::Equal)
                sink_.warning(f_.path, ex.line,
                              "embeds_ip is \"none\" but '" + ex.ptr + "' " + found.explain());
            return;
        }
        IpEncoding want = *parse_ip_encoding(info.embeds_ip);
        bool ok = false;
        if (ip) {
            for (const EmbeddedIp& e : found.found)
                if (e.encoding == want && (e.equals_client || want == IpEncoding::Partial))
                    ok = true;
        } else if (want == IpEncoding::Partial) {
            ok = true; // nothing to compare the tail with
        } else {
            for (const EmbeddedIp& e : found.found)
                if (forward_of(e.encoding) == forward_of(want)) ok = true;
        }
        if (!ok)
            sink_.error(f_.path, ex.line,
                        "embeds_ip is \"" + info.embeds_ip + "\" but in '" + ex.ptr + "'" +
                            (ip ? " for " + ip->to_string() : std::string()) +
                            " the detector finds: " + found.explain());
    }

    RuleFile& f_;
    Sink& sink_;
    std::vector<std::shared_ptr<const Regex>> regexes_; // per rule; null: did not compile
};

bool overlap_checked(const RuleFile& f) {
    return f.kind != RuleFileKind::Generic;
}

void cross_file(const std::vector<Built>& built, Sink& sink) {
    // Zones claimed twice (the same zone, or one inside the other).
    for (size_t a = 0; a < built.size(); ++a)
        for (size_t b = 0; b < a; ++b) {
            const RuleFile& fa = *built[a].file;
            const RuleFile& fb = *built[b].file;
            // ISP and cloud files speak for zones; no zone belongs to two of them.
            auto zoned = [](const RuleFile& f) {
                return f.kind == RuleFileKind::Isp || f.kind == RuleFileKind::Cloud;
            };
            if (!zoned(fa) || !zoned(fb)) continue;
            for (size_t i = 0; i < fa.meta.domains.size(); ++i)
                for (size_t j = 0; j < fb.meta.domains.size(); ++j) {
                    const std::string& da = fa.meta.domains[i];
                    const std::string& db = fb.meta.domains[j];
                    if (in_domains(da, {db}) || in_domains(db, {da}))
                        sink.error(fa.path, fa.meta.domain_lines[i],
                                   "domain '" + da + "' overlaps '" + db + "' claimed by " +
                                       fb.path + ":" + std::to_string(fb.meta.domain_lines[j]));
                }
        }
    // Examples of one file that another file's rules match.
    for (const Built& a : built) {
        if (!overlap_checked(*a.file)) continue;
        for (const RuleExample& ex : a.file->examples) {
            if (!ex.must_match) continue;
            std::string name = normalize_hostname(ex.ptr);
            const IpAddress* ip = ex.ip ? &*ex.ip : nullptr;
            for (const Built& b : built) {
                if (&b == &a || !b.matcher || !overlap_checked(*b.file)) continue;
                if (auto m = b.matcher->match(name, ip))
                    sink.error(a.file->path, ex.line,
                               "example '" + ex.ptr + "' is also matched by " + b.file->path + ":" +
                                   std::to_string(m->rule->line) + " (" +
                                   (m->rule->action == RuleAction::Exception ? "exception"
                                    : m->rule->action == RuleAction::Allow   ? "allow entry"
                                    : m->rule->action == RuleAction::Cloud   ? "cloud entry"
                                                                             : "rule") +
                                   " '" + m->rule->id + "' of " +
                                   (m->rule->isp.empty() ? b.file->meta.name : m->rule->isp) + ")");
            }
        }
    }
}

} // namespace

std::string LintFinding::to_string() const {
    std::string s = file;
    if (line) {
        s += ':';
        s += std::to_string(line);
    }
    s += ": ";
    if (severity == LintSeverity::Warning) s += "warning: ";
    return s + reason;
}

size_t LintReport::errors() const {
    return size_t(std::count_if(findings.begin(), findings.end(), [](const LintFinding& f) {
        return f.severity == LintSeverity::Error;
    }));
}

size_t LintReport::warnings() const {
    return findings.size() - errors();
}

static void sort_findings(std::vector<LintFinding>& findings) {
    std::stable_sort(findings.begin(), findings.end(),
                     [](const LintFinding& a, const LintFinding& b) {
                         if (a.file != b.file) return a.file < b.file;
                         return a.line < b.line;
                     });
}

LintReport lint_for_loading(const std::vector<RuleFile*>& files) {
    LintReport report;
    Sink sink(report.findings);
    std::vector<Built> built;
    for (RuleFile* f : files) {
        ++report.files;
        report.rules += f->rules.size();
        FileLinter linter(*f, sink);
        built.push_back({f, linter.run(report.examples)});
    }
    cross_file(built, sink);
    sort_findings(report.findings);
    return report;
}

LintReport lint_files(const std::vector<RuleFile>& files) {
    std::vector<RuleFile> copies = files;
    std::vector<RuleFile*> each;
    for (RuleFile& f : copies)
        each.push_back(&f);
    return lint_for_loading(each);
}

std::optional<Error> lint_refusal(const LintReport& report) {
    const size_t errors = report.errors();
    for (const LintFinding& f : report.findings) {
        if (f.severity != LintSeverity::Error) continue;
        std::string more = errors > 1
                               ? " (and " + std::to_string(errors - 1) + " more; see ip25b lint)"
                               : std::string();
        return Error{f.file, f.line, "lint: " + f.reason + more};
    }
    return std::nullopt;
}

LintReport lint_paths(const std::vector<std::string>& paths) {
    std::vector<RuleFile> loaded;
    std::vector<LintFinding> load_errors;
    for (const std::string& p : paths) {
        std::error_code ec;
        std::vector<std::string> files;
        if (std::filesystem::is_directory(p, ec)) {
            auto list = list_rule_files(p, true);
            if (!list) {
                load_errors.push_back(
                    {LintSeverity::Error, list.error().file, 0, list.error().reason});
                continue;
            }
            if (list->empty())
                load_errors.push_back({LintSeverity::Warning, p, 0, "no *.toml rule files"});
            files = std::move(list).value();
        } else if (std::filesystem::exists(p, ec)) {
            files.push_back(p);
        } else {
            load_errors.push_back({LintSeverity::Error, p, 0, "no such file or directory"});
            continue;
        }
        for (const std::string& f : files) {
            auto rf = load_rule_file(f);
            if (!rf) {
                load_errors.push_back(
                    {LintSeverity::Error, rf.error().file, rf.error().line, rf.error().reason});
                continue;
            }
            loaded.push_back(std::move(rf).value());
        }
    }
    std::vector<RuleFile*> each;
    for (RuleFile& f : loaded)
        each.push_back(&f);
    LintReport report = lint_for_loading(each);
    report.findings.insert(report.findings.end(), load_errors.begin(), load_errors.end());
    sort_findings(report.findings);
    return report;
}

} // namespace ip25b
