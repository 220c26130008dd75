// install_paths.cpp — build tree, staged install or installed system.
#include "ip25b/install_paths.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace ip25b {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view rules_placeholder = "{rules}";

bool ends_with_dir(const std::string& dir, const std::string& suffix, std::string& root) {
    if (suffix.empty() || dir.size() < suffix.size()) return false;
    if (dir.compare(dir.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    root = dir.substr(0, dir.size() - suffix.size());
    return true;
}

// "key=value" lines; CMake writes the file, so anything else is ignored.
bool read_build_tree_file(const fs::path& file, InstallPaths& p) {
    std::ifstream in(file);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        auto key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "rules_dir") p.rules_dir = value;
        if (key == "config_file") p.config_file = value;
    }
    p.origin = "build tree";
    return !p.rules_dir.empty() && !p.config_file.empty();
}

} // namespace

InstallPaths install_paths_for(const std::string& exe) {
    InstallPaths p;
    const std::string rules = IP25B_INSTALL_DATADIR "/ip25b/rules";
    const std::string config = IP25B_INSTALL_SYSCONFDIR "/ip25b/ip25b.conf";
    std::string dir = fs::path(exe).parent_path().string();
    if (!dir.empty() && read_build_tree_file(fs::path(dir) / "ip25b-build-tree.paths", p)) return p;
    std::string root;
    if (!dir.empty() &&
        (ends_with_dir(dir, IP25B_INSTALL_BINDIR, root) ||
         ends_with_dir(dir, IP25B_INSTALL_SBINDIR, root)) &&
        !root.empty()) {
        std::error_code ec;
        if (fs::is_directory(root + rules, ec)) {
            p.rules_dir = root + rules;
            p.config_file = root + config;
            p.origin = "staged under " + root;
            return p;
        }
    }
    p.rules_dir = rules;
    p.config_file = config;
    p.origin = "installed";
    return p;
}

const InstallPaths& install_paths() {
    static const InstallPaths paths = [] {
        std::error_code ec;
        auto exe = fs::read_symlink("/proc/self/exe", ec);
        return install_paths_for(ec ? std::string() : exe.string());
    }();
    return paths;
}

std::string expand_rules_dir(const std::string& path, const std::string& rules_dir) {
    if (path.compare(0, rules_placeholder.size(), rules_placeholder) != 0) return path;
    auto rest = path.substr(rules_placeholder.size());
    if (!rest.empty() && rest.front() != '/') return path;
    return rules_dir + rest;
}

} // namespace ip25b
