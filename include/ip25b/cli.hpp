// ip25b/cli.hpp — the subcommands of the `ip25b` tool.
//
// Each subcommand lives in its own src/cli/cli_<name>.cpp and registers itself on
// the CLI11 app; main_cli.cpp only wires them together. The commands are thin:
// they parse arguments, call the library and print.
#pragma once

#include <CLI/CLI.hpp>

namespace ip25b::cli {

// Each adds a subcommand to `app`; the callback sets `exit_code`.
void add_match_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_lint_command(CLI::App& app, int& exit_code);
void add_report_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_keygen_command(CLI::App& app, int& exit_code);
void add_publish_command(CLI::App& app, int& exit_code);
void add_update_command(CLI::App& app, int& exit_code);

} // namespace ip25b::cli
