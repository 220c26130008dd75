// ip25b/lint.hpp — checks a rule file before an ISP publishes it or an operator loads it.
//
// Loading (rule_file.hpp) only says a file is well-formed. Lint says it does
// what it claims: every pattern compiles and cannot blow up, every example is
// answered by its own rule under first-match order, no counter-example
// matches, the `embeds_ip` hints agree with the IP-in-name detector, and no
// two ISP files claim the same names or zones. `ip25b lint` is a thin shell
// over lint_paths(); tests call the functions directly.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/rule_file.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ip25b {

enum class LintSeverity : uint8_t { Warning, Error };

struct LintFinding {
    LintSeverity severity = LintSeverity::Error;
    std::string file;
    unsigned line = 0;
    std::string reason;

    // "file:line: reason" or "file:line: warning: reason".
    std::string to_string() const;
};

struct LintReport {
    std::vector<LintFinding> findings; // sorted by file, then line
    size_t files = 0;                  // rule files loaded
    size_t rules = 0;
    size_t examples = 0; // examples and counter-examples checked

    size_t errors() const;
    size_t warnings() const;
};

// Lints the files and directories named (directories recursively, *.toml),
// including the checks across files. A file that does not load is one error
// finding; the other files are still checked.
LintReport lint_paths(const std::vector<std::string>& paths);

// The same over files already loaded.
LintReport lint_files(const std::vector<RuleFile>& files);

// The same over files about to be loaded (the classifier lints the rule files
// it loads this way): each rule that compiles keeps its regex in
// Rule::compiled, so the matcher built from these rules compiles nothing
// again and runs the very regexes lint checked.
LintReport lint_for_loading(const std::vector<RuleFile*>& files);

// Why a set with lint errors is refused (the milter's start and reload, -n):
// the first error as "file:line: lint: reason (and N more; see ip25b lint)";
// nullopt when the report has no error.
std::optional<Error> lint_refusal(const LintReport& report);

} // namespace ip25b
