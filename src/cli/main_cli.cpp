// main_cli.cpp — entry point of the `ip25b` tool: match, check, lint, report, status,
// keygen, publish, update.
#include "ip25b/cli.hpp"

#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"ip25b — classify SMTP clients by their reverse-DNS name (IP25B)"};
    app.set_version_flag("-V,--version", std::string("ip25b ") + IP25B_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    // Subcommands register here as they land (see ip25b/cli.hpp).
    ip25b::cli::add_match_command(app, exit_code);
    ip25b::cli::add_lint_command(app, exit_code);
    ip25b::cli::add_check_command(app, exit_code);
    ip25b::cli::add_report_command(app, exit_code);
    ip25b::cli::add_status_command(app, exit_code);
    ip25b::cli::add_keygen_command(app, exit_code);
    ip25b::cli::add_publish_command(app, exit_code);
    ip25b::cli::add_update_command(app, exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
