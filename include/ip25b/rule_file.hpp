// ip25b/rule_file.hpp — the project's rule files: one TOML file per ISP.
//
// An ISP publishes which reverse-DNS names are its dynamic (end-user) pool:
// metadata (who, which domains, contact, when, where from), ordered patterns
// with ids, optional address ranges that scope a pattern, exceptions for
// static/business sub-zones, and examples that must and must not match. The
// same format carries the allowlist of real MTAs with generic-looking names,
// the provider-generated names of public clouds and VM hosts (kind "cloud"),
// and opt-in generic rules such as S25R. rules/README.md is the spec.
//
// Loading turns a file into the neutral ordered vector<Rule> the matcher
// takes (exceptions first, then the dynamic patterns, each in file order) and
// keeps the examples so `ip25b lint` can check them. Every rule and every
// error names its file and line; anything the loader does not know is an
// error, because a typo must never silently disable a rule.
#pragma once

#include "ip25b/address.hpp"
#include "ip25b/error.hpp"
#include "ip25b/rule.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class RuleFileKind : uint8_t {
    Isp,       // one ISP's dynamic pool: [[exception]] and [[dynamic]] entries
    Allowlist, // real MTAs whose names look generic: [[allow]] entries
    Generic,   // shapes not tied to an ISP (S25R): [[dynamic]] (and [[exception]])
    Cloud,     // one cloud/VM provider's generated names: [[cloud]] (and [[exception]])
};

std::string_view to_string(RuleFileKind k);

struct RuleFileMeta {
    std::string name;                 // "OCN (NTT Communications)"
    std::vector<std::string> domains; // zones the file speaks for; required for "isp" and "cloud"
    std::string contact;              // where to report a wrong rule
    std::string updated;              // YYYY-MM-DD
    std::string source;               // URL or description of where the shapes come from
    std::string country;              // ISO 3166 alpha-2, optional
    std::vector<uint32_t> asn;        // optional
    std::string evidence;             // default evidence of the rules ("observed", ...)
    std::string notes;
    unsigned line = 0;                  // line of the [meta] table
    std::vector<unsigned> domain_lines; // line of each domains[] entry
};

// What a rule file says about a rule beyond what the matcher needs.
struct RuleInfo {
    std::string embeds_ip; // "" (not said), "none", or an IpEncoding name ("hex", ...)
    std::string evidence;  // "token" | "observed" | "inferred" | "published" ("" = meta's)
    std::string note;
    unsigned entry_line = 0; // line of the [[dynamic]]/[[exception]]/[[allow]] header
};

// A name (optionally with the client address) the file must answer in a
// given way. Rule-level examples belong to one rule; file-level ones ([examples])
// may name the rule that must answer them.
struct RuleExample {
    std::string ptr;
    std::optional<IpAddress> ip;
    bool must_match = true;  // example (true) or counter-example (false)
    bool file_level = false; // from [examples] rather than from a rule
    std::string rule_id;     // owning rule (rule-level) or expected rule (file-level, optional)
    unsigned line = 0;
};

struct RuleFile {
    std::string path;
    int format = 1;
    RuleFileKind kind = RuleFileKind::Isp;
    RuleFileMeta meta;
    std::vector<Rule> rules;           // evaluation order: exceptions, then dynamic / allow
    std::vector<RuleInfo> info;        // info[i] describes rules[i]
    std::vector<RuleExample> examples; // in file order
};

// Limits on what the loader reads at all (rule files are small and typed by people).
inline constexpr size_t kMaxRuleFileBytes = 1024 * 1024;
inline constexpr size_t kMaxRuleFileLineBytes = 8 * 1024;

// Reads and validates one file. Errors are "file:line: reason".
Expected<RuleFile> load_rule_file(const std::string& path);
// The same from text already in memory; `path` is used in errors and rules.
Expected<RuleFile> parse_rule_file(std::string_view text, const std::string& path);

// The *.toml files directly in `dir`, sorted by name (byte order). With
// `recursive`, files in subdirectories too (sorted by path). Errors name the dir.
Expected<std::vector<std::string>> list_rule_files(const std::string& dir, bool recursive = false);

// Loads every file list_rule_files(dir, true) names (subdirectories too, so
// rules/isp/ brings every per-country directory rules/isp/<cc>/), in sorted path
// order; the first error stops. Files of kind "generic" (S25R) are opt-in: only
// those directly in `dir` are loaded, never those of a subdirectory.
Expected<std::vector<RuleFile>> load_rule_directory(const std::string& dir);

} // namespace ip25b
