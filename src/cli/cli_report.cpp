// cli_report.cpp — `ip25b report LOG...`: totals and false-positive candidates
// from the milter's decision log (JSON lines; "-" reads stdin).
#include "ip25b/cli.hpp"
#include "ip25b/file_reader.hpp"
#include "ip25b/report.hpp"

#include <fstream>
#include <iostream>
#include <memory>

namespace ip25b::cli {

void add_report_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::vector<std::string> files;
        bool json = false;
        size_t top = 10;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "report", "Summarise decision logs: totals per action, class, ISP, rule and day, and "
                  "refused clients that look like real MTAs");
    cmd->add_option("log", o->files, "Decision log files (JSON lines); - for stdin")->required();
    cmd->add_flag("--json", o->json, "JSON instead of text");
    cmd->add_option("--top", o->top, "Rows per table (default 10)");
    cmd->callback([o, &exit_code] {
        std::vector<std::unique_ptr<std::ifstream>> opened;
        std::vector<std::istream*> inputs;
        for (const auto& f : o->files) {
            if (f == "-") {
                inputs.push_back(&std::cin);
                continue;
            }
            auto in = open_regular_file(f, kMaxLogBytes, "log");
            if (!in) {
                std::cerr << "ip25b report: " << in.error().to_string() << "\n";
                exit_code = 2;
                return;
            }
            inputs.push_back(in->get());
            opened.push_back(std::move(*in));
        }
        Report r = build_report(inputs);
        std::cout << (o->json ? report_json(r) : report_text(r, o->top));
    });
}

} // namespace ip25b::cli
