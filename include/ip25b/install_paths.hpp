// ip25b/install_paths.hpp — where the programs find the shipped rules and
// the default configuration file.
//
// The paths are configured at build time (GNUInstallDirs: DATADIR/ip25b/rules
// and SYSCONFDIR/ip25b/ip25b.conf) but never taken blindly, so one binary
// works in three places:
//   - a build tree: CMake writes "ip25b-build-tree.paths" next to the
//     programs (never installed), naming the source tree's rules/ and
//     contrib/ip25b.conf, so tests and `contrib/dev.sh run` use those;
//   - a staged install (DESTDIR, a package being built, a chroot seen from
//     outside): the executable sits in ROOT + the configured bindir or
//     sbindir, so the data is looked up under the same ROOT;
//   - the installed system: the configured absolute paths.
// A config names the shipped rules as "{rules}/...", expanded with
// rules_dir(), so the same file works in all three.
#pragma once

#include <string>

namespace ip25b {

struct InstallPaths {
    std::string rules_dir;   // the shipped rules
    std::string config_file; // read when no -c is given
    std::string origin;      // "build tree", "staged under ROOT" or "installed": for messages
};

// Computed once, for the running executable (/proc/self/exe).
const InstallPaths& install_paths();

// The same for an executable at `exe` (absolute path); for tests.
InstallPaths install_paths_for(const std::string& exe);

// "{rules}/isp" -> rules_dir + "/isp"; other paths are returned unchanged.
std::string expand_rules_dir(const std::string& path, const std::string& rules_dir);

} // namespace ip25b
