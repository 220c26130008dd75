// fuzz-rule_file — the rule-file loader (rule_file.hpp) on arbitrary text.
//
// Rule files are published by ISPs and fetched by operators: parse_rule_file must turn
// any bytes into a RuleFile or a file:line error. A loaded file keeps its invariants:
// one RuleInfo per rule, and every rule names the file.
#include "ip25b/rule_file.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto f = ip25b::parse_rule_file(text, "fuzz.toml");
    if (!f) {
        if (f.error().file != "fuzz.toml" || f.error().reason.empty()) abort();
        return 0;
    }
    if (f->info.size() != f->rules.size()) abort();
    for (const auto& r : f->rules)
        if (r.file != "fuzz.toml") abort();
    return 0;
}
