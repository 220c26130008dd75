// ip25b/lint.hpp — checks a rule file before an ISP publishes it or an operator loads it.
//
// Loading (rule_file.hpp) only says a file is well-formed. Lint says it does
// what it claims: every pattern compiles and cannot blow up, every example is
// answered by its own rule under first-match order, no counter-example
// matches, the `embeds_ip` hints agree with the IP-in-name detector, and no
// two ISP files claim the same names or zones. `ip25b lint` is a thin shell
// over lint_paths(); tests call the functions directly.
#pragma once

#include "ip25b/rule_file.hpp"

#include <cstddef>
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

// The rule files a rule-source list (config `rules.files`, `--rules`) loads,
// exactly as the classifier loads them (a directory: its *.toml files, not
// recursive; pcre:/regexp: tables are Postfix's format and not linted). The
// milter refuses a set with errors here on start and on reload, so what it
// runs is what `ip25b lint` passes.
LintReport lint_rule_sources(const std::vector<std::string>& specs);

} // namespace ip25b
