// rule_source.cpp — dispatch of a rule-source string to the right reader.
#include "ip25b/rule_source.hpp"

#include "ip25b/rule_file.hpp"

#include <filesystem>

namespace ip25b {

Expected<RuleSource> load_rule_source(std::string_view spec, TableStrictness strictness) {
    RuleSource out;
    out.spec = std::string(spec);
    if (spec.starts_with("pcre:") || spec.starts_with("regexp:")) {
        auto table = load_table_spec(spec, strictness);
        if (!table) return table.error();
        out.rules = std::move(table->rules);
        out.warnings = std::move(table->warnings);
        out.files.push_back(std::string(spec.substr(spec.find(':') + 1)));
        return out;
    }
    std::error_code ec;
    const std::string path(spec);
    if (std::filesystem::is_directory(path, ec)) {
        auto files = load_rule_directory(path);
        if (!files) return files.error();
        if (files->empty()) return Error{path, 0, "directory holds no *.toml rule file"};
        for (auto& f : *files) {
            out.files.push_back(f.path);
            if (f.kind == RuleFileKind::Cloud)
                out.cloud_domains.insert(out.cloud_domains.end(), f.meta.domains.begin(),
                                         f.meta.domains.end());
            if (f.kind == RuleFileKind::Isp)
                out.isp_domains.insert(out.isp_domains.end(), f.meta.domains.begin(),
                                       f.meta.domains.end());
            for (auto& r : f.rules)
                out.rules.push_back(std::move(r));
        }
        return out;
    }
    if (path.ends_with(".toml")) {
        auto file = load_rule_file(path);
        if (!file) return file.error();
        out.files.push_back(file->path);
        if (file->kind == RuleFileKind::Cloud) out.cloud_domains = file->meta.domains;
        if (file->kind == RuleFileKind::Isp) out.isp_domains = file->meta.domains;
        out.rules = std::move(file->rules);
        return out;
    }
    return Error{path, 0,
                 "not a rule source: expected pcre:FILE, regexp:FILE, a *.toml rule file "
                 "or a directory of them"};
}

} // namespace ip25b
