// classifier.cpp — the order in which evidence is weighed:
//   1. the operator's own dynamic ranges (address only, no DNS);
//   2. what DNS said: temporary failure, no PTR, malformed, not confirmed;
//   3. the operator's own rule files (self-ISP names);
//   4. the configured rule sources, first match wins (allowlist, ISP files
//      with their exceptions, Postfix tables, cloud files, generic rules), in
//      config order;
//   5. the IP-in-name detector, as evidence or, when configured, as a verdict;
//   6. the generic tier, when enabled: tokens, embedded address and vetoes
//      weighed into a score (generic_detector.hpp).
#include "ip25b/classifier.hpp"

#include "ip25b/ascii.hpp"
#include "ip25b/dns_name.hpp"
#include "ip25b/generic_detector.hpp"
#include "ip25b/ip_in_name.hpp"
#include "ip25b/lint.hpp"
#include "ip25b/matcher.hpp"
#include "ip25b/rule_source.hpp"

#include <fmt/format.h>

#include <optional>

namespace ip25b {

struct Classifier::Impl {
    ClassifierConfig config;
    std::optional<Matcher> self_rules;
    std::optional<Matcher> rules;
    std::optional<GenericDetector> generic;
    size_t files = 0;
    std::vector<std::pair<std::string, size_t>> file_rules;
    std::vector<Error> warnings;
};

Classifier::Classifier() : impl_(std::make_unique<Impl>()) {}
Classifier::~Classifier() = default;

// Loads the sources in order into one rule list and compiles it. With
// `lint`, the rule files among them are linted first, as one set (as `ip25b
// lint` checks the files it is given), and lint's compiled regexes are the
// ones the matcher runs.
static Expected<std::optional<Matcher>>
build_matcher(const std::vector<std::string>& specs, size_t& files,
              std::vector<std::pair<std::string, size_t>>& file_rules, std::vector<Error>& warnings,
              GenericDetectorConfig* zones, LintReport* lint) {
    if (specs.empty()) return std::optional<Matcher>();
    std::vector<RuleSource> sources;
    for (const auto& spec : specs) {
        auto source = read_rule_source(spec);
        if (!source) return source.error();
        warnings.insert(warnings.end(), source->warnings.begin(), source->warnings.end());
        sources.push_back(std::move(source).value());
    }
    if (lint) {
        std::vector<RuleFile*> linted;
        for (auto& source : sources)
            for (auto& f : source.rule_files)
                linted.push_back(&f);
        LintReport report = lint_for_loading(linted);
        lint->files += report.files;
        lint->rules += report.rules;
        lint->examples += report.examples;
        lint->findings.insert(lint->findings.end(), report.findings.begin(), report.findings.end());
        if (auto refused = lint_refusal(report)) return *refused;
    }
    std::vector<Rule> all;
    for (auto& source : sources) {
        take_file_rules(source);
        files += source.files.size();
        for (const auto& f : source.files) {
            size_t n = 0;
            for (const auto& r : source.rules)
                n += r.file == f ? 1 : 0;
            file_rules.emplace_back(f, n);
        }
        if (zones) {
            zones->cloud_domains.insert(zones->cloud_domains.end(), source.cloud_domains.begin(),
                                        source.cloud_domains.end());
            zones->isp_domains.insert(zones->isp_domains.end(), source.isp_domains.begin(),
                                      source.isp_domains.end());
        }
        for (auto& r : source.rules)
            all.push_back(std::move(r));
    }
    auto matcher = Matcher::build(std::move(all));
    if (!matcher) return matcher.error();
    return std::optional<Matcher>(std::move(matcher.value()));
}

Expected<std::shared_ptr<const Classifier>> Classifier::load(const ClassifierConfig& config,
                                                             LintReport* lint) {
    std::shared_ptr<Classifier> c(new Classifier());
    c->impl_->config = config;
    auto self = build_matcher(config.self_rules, c->impl_->files, c->impl_->file_rules,
                              c->impl_->warnings, nullptr, lint);
    if (!self) return self.error();
    c->impl_->self_rules = std::move(self.value());
    GenericDetectorConfig gc;
    gc.threshold = config.generic_threshold;
    gc.hosting_files = config.hosting_domains;
    auto rules = build_matcher(config.rules, c->impl_->files, c->impl_->file_rules,
                               c->impl_->warnings, &gc, lint);
    if (!rules) return rules.error();
    size_t count = 0;
    for (const auto& [file, n] : c->impl_->file_rules)
        count += n;
    if (count == 0 && config.self_ranges.empty() && !config.allow_empty) {
        std::string where = config.rules.empty() ? std::string("rules.files is empty")
                                                 : "no rule in " + config.rules.front() +
                                                       (config.rules.size() > 1 ? " ..." : "");
        return Error{"", 0,
                     "no rules loaded (" + where +
                         "); every client would pass. Set rules.allow_empty = true "
                         "to run without rules"};
    }
    c->impl_->rules = std::move(rules.value());
    if (config.generic) {
        auto g = GenericDetector::load(gc);
        if (!g) return g.error();
        c->impl_->generic.emplace(std::move(g).value());
    }
    return std::shared_ptr<const Classifier>(std::move(c));
}

static Verdict from_rule(ClientClass cls, const Match& m, std::string evidence) {
    Verdict v;
    v.cls = cls;
    v.isp = m.rule->isp;
    v.feed = m.rule->feed;
    v.rule = m.rule->id;
    v.file = m.rule->file;
    v.line = m.rule->line;
    v.result = m.result;
    v.evidence = std::move(evidence);
    return v;
}

// A Postfix table answers with an access(5) result; its first word says
// whether the table meant "this client is fine" or "refuse it".
static ClientClass class_of_table_result(std::string_view result) {
    auto word = result.substr(0, result.find_first_of(" \t"));
    auto is = [&](std::string_view w) { return ascii_iequals(word, w); };
    if (is("ok") || is("permit")) return ClientClass::Allowlisted;
    if (is("dunno")) return ClientClass::None;
    return ClientClass::Dynamic;
}

std::optional<Verdict> Classifier::classify_address(const IpAddress& client) const {
    const Cidr* range = nullptr;
    for (const auto& c : impl_->config.self_ranges)
        if (c.contains(client)) {
            range = &c;
            break;
        }
    if (!range) return std::nullopt;
    Verdict v;
    v.cls = ClientClass::SelfDynamic;
    v.rule = "self-range " + range->to_string();
    v.evidence = fmt::format("{} is inside the operator's own dynamic range {}", client.to_string(),
                             range->to_string());
    return v;
}

Verdict Classifier::classify(const IpAddress& client, const PtrResult& ptr) const {
    if (auto v = classify_address(client)) return *v;

    Verdict v;
    auto unknown = [&](std::string why, bool temporary = false) {
        v.cls = ClientClass::UnknownPtr;
        v.evidence = std::move(why);
        v.temporary = temporary;
        return v;
    };
    switch (ptr.status) {
    case PtrStatus::TempFail:
        return unknown("DNS temporary failure: " + (ptr.detail.empty() ? "no answer" : ptr.detail),
                       true);
    case PtrStatus::NoPtr:
        return unknown("no PTR record");
    case PtrStatus::Malformed:
        return unknown("malformed PTR answer" + (ptr.detail.empty() ? "" : ": " + ptr.detail),
                       true);
    case PtrStatus::Unconfirmed:
        if (impl_->config.require_fcrdns || ptr.name.empty())
            return unknown("PTR " + ptr.name + " does not forward-confirm");
        break;
    case PtrStatus::Confirmed:
        break;
    }
    // The resolver validates names; a caller such as `ip25b check --ptr`
    // may not have, and nothing unchecked reaches the matcher or a log.
    if (auto problem = hostname_problem(ptr.name)) return unknown("unusable PTR: " + *problem);
    const std::string name = normalize_hostname(ptr.name);
    const bool confirmed = ptr.status == PtrStatus::Confirmed;
    const std::string unconfirmed_note = confirmed ? "" : " (PTR not forward-confirmed)";

    if (impl_->self_rules)
        if (auto m = impl_->self_rules->match(name, &client))
            if (m->rule->action != RuleAction::Exception && m->rule->action != RuleAction::Allow)
                return from_rule(ClientClass::SelfDynamic, *m,
                                 "PTR " + name + " matches the operator's own dynamic rule /" +
                                     m->rule->pattern + "/" + unconfirmed_note);

    if (impl_->rules)
        if (auto m = impl_->rules->match(name, &client)) {
            const Rule& r = *m->rule;
            ClientClass cls = ClientClass::None;
            switch (r.action) {
            case RuleAction::Allow:
                cls = ClientClass::Allowlisted;
                break;
            case RuleAction::Exception:
                cls = ClientClass::None;
                break;
            case RuleAction::Dynamic:
                cls = ClientClass::Dynamic;
                break;
            case RuleAction::Cloud:
                cls = ClientClass::Cloud;
                break;
            case RuleAction::Result:
                cls = class_of_table_result(m->result);
                break;
            case RuleAction::IfBegin:
            case RuleAction::IfEnd:
                break; // never returned by the matcher
            }
            if (cls == ClientClass::Allowlisted && !confirmed)
                return unknown("PTR " + name + " looks like an allowlisted MTA (" + r.file + ":" +
                               std::to_string(r.line) + ") but does not forward-confirm");
            std::string what = r.action == RuleAction::Exception
                                   ? "matches a non-dynamic (exception) rule /"
                               : r.action == RuleAction::Cloud
                                   ? "is a provider-generated cloud host name: matches /"
                                   : "matches /";
            return from_rule(cls, *m,
                             "PTR " + name + " " + what + r.pattern + "/" + unconfirmed_note);
        }

    IpInName embedded = find_ip_in_name(name, &client);
    if (embedded.evidence == IpEvidence::Equal && impl_->config.ip_in_name_is_dynamic) {
        v.cls = ClientClass::Dynamic;
        v.rule = "ip-in-name";
        v.evidence = "PTR " + name + ": " + embedded.explain() + unconfirmed_note;
        return v;
    }
    if (impl_->generic) {
        GenericResult g;
        impl_->generic->detect(name, &client, g);
        v.weighed = GenericDetector::evidence(g);
        v.score = g.score;
        if (g.generic) {
            v.cls = ClientClass::Generic;
            v.rule = "generic";
            v.evidence = fmt::format("PTR {} matches no rule; the generic tier weighs it as an "
                                     "end-user address: {} (threshold {}){}",
                                     name, GenericDetector::summary(g), impl_->generic->threshold(),
                                     unconfirmed_note);
            return v;
        }
        if (!confirmed)
            return unknown("PTR " + name + " does not forward-confirm and matches no rule");
        v.cls = ClientClass::None;
        v.evidence = fmt::format("PTR {} matches no rule; generic tier: {} (threshold {}{})", name,
                                 GenericDetector::summary(g), impl_->generic->threshold(),
                                 g.vetoed ? ", vetoed" : "");
        return v;
    }
    if (!confirmed) return unknown("PTR " + name + " does not forward-confirm and matches no rule");
    v.cls = ClientClass::None;
    v.evidence = "PTR " + name + " matches no rule";
    if (embedded.evidence != IpEvidence::None) v.evidence += "; " + embedded.explain();
    return v;
}

const std::vector<std::pair<std::string, size_t>>& Classifier::files() const {
    return impl_->file_rules;
}

const std::vector<Error>& Classifier::warnings() const {
    return impl_->warnings;
}

std::string Classifier::summary() const {
    size_t rules = 0, indexed = 0;
    for (const auto* m : {&impl_->self_rules, &impl_->rules})
        if (*m) {
            auto s = (*m)->stats();
            rules += s.rules;
            indexed += s.indexed;
        }
    std::string out = fmt::format("{} files, {} rules ({} indexed by domain suffix), {} own ranges",
                                  impl_->files, rules, indexed, impl_->config.self_ranges.size());
    if (impl_->generic)
        out += fmt::format(", generic tier on (threshold {}, {} hosting, cloud and ISP zones)",
                           impl_->generic->threshold(), impl_->generic->domain_count());
    return out;
}

} // namespace ip25b
