// cli_lint.cpp — `ip25b lint FILE|DIR...`: check rule files before publishing or loading them.
//
// Prints one `file:line: reason` (or `file:line: warning: reason`) per finding
// on stdout and a summary on stderr. Exit status: 0 clean (warnings allowed
// unless --strict), 1 when any error (or, with --strict, any warning) was found.
#include "ip25b/cli.hpp"
#include "ip25b/lint.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace ip25b::cli {

void add_lint_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::vector<std::string> paths;
        bool strict = false;
        bool quiet = false;
    };
    auto opt = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "lint", "Check rule files: syntax, patterns, examples, backtracking, overlaps");
    cmd->add_option("paths", opt->paths,
                    "rule files (*.toml) or directories (searched recursively)")
        ->required();
    cmd->add_flag("--strict", opt->strict, "treat warnings as errors");
    cmd->add_flag("-q,--quiet", opt->quiet, "no summary line on stderr");
    cmd->callback([opt, &exit_code] {
        LintReport report = lint_paths(opt->paths);
        for (const LintFinding& f : report.findings)
            std::printf("%s\n", f.to_string().c_str());
        std::fflush(stdout);
        if (!opt->quiet)
            std::fprintf(stderr,
                         "ip25b lint: %zu files, %zu rules, %zu examples: %zu errors, %zu "
                         "warnings\n",
                         report.files, report.rules, report.examples, report.errors(),
                         report.warnings());
        bool failed = report.errors() > 0 || (opt->strict && report.warnings() > 0);
        exit_code = failed ? 1 : 0;
    });
}

} // namespace ip25b::cli
