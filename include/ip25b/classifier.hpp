// ip25b/classifier.hpp — from (client address, PTR result) to an explained Verdict.
//
// The classifier owns the loaded rule sets: the allowlist of real MTAs, the
// operator's own dynamic ranges and rule files ("self-ISP"), the published
// per-ISP rule files, Postfix pcre:/regexp: tables, the cloud rule files, the
// IP-in-name detector and the generic tier (generic_detector.hpp). It knows nothing about actions,
// stages or MTAs (that is the policy) and does no I/O after load: classify() is pure and
// thread-safe, so a reload builds a new Classifier and swaps a shared_ptr.
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/error.hpp"
#include "ip25b/ptr_result.hpp"
#include "ip25b/verdict.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ip25b {

struct LintReport;

struct ClassifierConfig {
    // Rule files (*.toml) or directories of them, or Postfix tables given as
    // "pcre:FILE" / "regexp:FILE". Loaded in order; the first matching rule wins.
    std::vector<std::string> rules;
    // The operator's own dynamic pool: address ranges and/or rule files.
    std::vector<Cidr> self_ranges;
    std::vector<std::string> self_rules;
    // Count a name that embeds the client's own address (decimal, padded,
    // hex, reversed) as dynamic when no rule file decided. Off by default:
    // hosting providers name static servers that way too.
    bool ip_in_name_is_dynamic = false;
    // A PTR name is set by the owner of the address block, so a dynamic
    // pool name is evidence even when it does not forward-confirm; by default
    // an unconfirmed name is still matched against the dynamic rules. With
    // require_fcrdns an unconfirmed name is treated like no PTR (S25R's view).
    // Allowlist entries are honoured only for confirmed names either way: a
    // look-alike PTR is exactly what a forger would set.
    bool require_fcrdns = false;
    // Loading no rule at all (no rule in any file, no self range) is an
    // error unless this is set: an empty set passes every client, which is
    // what a wrong path or a missing package looks like.
    bool allow_empty = false;
    // The generic tier: weigh a name no rule decided (tokens, embedded
    // address, vetoes) and call it `generic` at or above the threshold. Its
    // hosting-domain vetoes come from these lists; its cloud-zone and
    // ISP-zone vetoes from the cloud and ISP rule files among `rules`.
    bool generic = false;
    int generic_threshold = 60;
    std::vector<std::string> hosting_domains;
};

class Classifier {
  public:
    // Errors name the file and line of the first problem found. With `lint`,
    // the project's rule files among the rules and self_rules are checked as
    // `ip25b lint` checks them (lint.hpp; each list as one set) while they
    // load, against the very regexes the classifier then runs, so every rule
    // is compiled once: a set with a lint error is refused with
    // lint_refusal()'s error. All findings, warnings included, are added to
    // *lint. Postfix tables and feeds are not linted (feeds were, by `ip25b
    // update`, before they were installed).
    static Expected<std::shared_ptr<const Classifier>> load(const ClassifierConfig& config,
                                                            LintReport* lint = nullptr);

    Verdict classify(const IpAddress& client, const PtrResult& ptr) const;

    // The part of the decision that needs no DNS: the operator's own dynamic
    // ranges. The milter asks this first and skips the lookup when it answers.
    std::optional<Verdict> classify_address(const IpAddress& client) const;

    // Counts for logs and `ip25b check`: files, rules, indexed rules.
    std::string summary() const;
    // Every file read (own rules first, then the rule sources), with its rule count.
    const std::vector<std::pair<std::string, size_t>>& files() const;
    // Lines of Postfix tables skipped as postmap skips them (file:line: reason):
    // the set loads without them, and whoever loaded it must say so.
    const std::vector<Error>& warnings() const;

    ~Classifier();

  private:
    Classifier();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
