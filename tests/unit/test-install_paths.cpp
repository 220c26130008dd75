#define BOOST_TEST_MODULE install_paths
#include <boost/test/unit_test.hpp>

#include "ip25b/classifier.hpp"
#include "ip25b/config.hpp"
#include "ip25b/install_paths.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {} // namespace

BOOST_AUTO_TEST_CASE(rules_placeholder_expands_only_as_a_leading_directory) {
    BOOST_TEST(expand_rules_dir("{rules}/isp", "/usr/share/ip25b/rules") ==
               "/usr/share/ip25b/rules/isp");
    BOOST_TEST(expand_rules_dir("{rules}", "/r") == "/r");
    BOOST_TEST(expand_rules_dir("{rules}x/isp", "/r") == "{rules}x/isp");
    BOOST_TEST(expand_rules_dir("/etc/{rules}/isp", "/r") == "/etc/{rules}/isp");
    BOOST_TEST(expand_rules_dir("../rules/isp", "/r") == "../rules/isp");
}

BOOST_AUTO_TEST_CASE(installed_programs_use_the_configured_paths) {
    auto p = install_paths_for(std::string(IP25B_TEST_INSTALL_BINDIR) + "/ip25b");
    BOOST_TEST(p.rules_dir == std::string(IP25B_TEST_INSTALL_DATADIR) + "/ip25b/rules");
    BOOST_TEST(p.config_file == std::string(IP25B_TEST_INSTALL_SYSCONFDIR) + "/ip25b/ip25b.conf");
    BOOST_TEST(p.origin == "installed");
}

BOOST_AUTO_TEST_CASE(a_staged_install_finds_its_own_data) {
    TempDir t;
    std::string root = t.path.string();
    fs::create_directories(root + IP25B_TEST_INSTALL_DATADIR "/ip25b/rules");
    auto p = install_paths_for(root + IP25B_TEST_INSTALL_SBINDIR "/ip25b-milter");
    BOOST_TEST(p.rules_dir == root + IP25B_TEST_INSTALL_DATADIR "/ip25b/rules");
    BOOST_TEST(p.config_file == root + IP25B_TEST_INSTALL_SYSCONFDIR "/ip25b/ip25b.conf");
    BOOST_TEST(p.origin == "staged under " + root);
    // Without the staged rules it is just a directory that happens to end in sbin.
    auto q = install_paths_for(root + "/elsewhere" IP25B_TEST_INSTALL_SBINDIR "/ip25b-milter");
    BOOST_TEST(q.origin == "installed");
}

BOOST_AUTO_TEST_CASE(a_build_tree_names_the_source_tree) {
    TempDir t;
    std::ofstream(t.path / "ip25b-build-tree.paths")
        << "rules_dir=/src/rules\nconfig_file=/src/c.conf\n";
    auto p = install_paths_for((t.path / "ip25b").string());
    BOOST_TEST(p.rules_dir == "/src/rules");
    BOOST_TEST(p.config_file == "/src/c.conf");
    BOOST_TEST(p.origin == "build tree");
    // This runner is in a build tree too: "{rules}" is the source tree's rules.
    BOOST_TEST(install_paths().rules_dir == std::string(IP25B_SOURCE_DIR) + "/rules");
}

BOOST_AUTO_TEST_CASE(config_rule_paths_expand_rules_anywhere) {
    auto c = parse_config("[rules]\nfiles = [\"{rules}/isp\", \"pcre:{rules}/x.pcre\", \"own\"]\n"
                          "self_rules = [\"{rules}/allowlist\"]\n",
                          "t.conf", "/etc/ip25b");
    BOOST_REQUIRE(c);
    const std::string r = install_paths().rules_dir;
    BOOST_TEST(c->rules.rules.at(0) == r + "/isp");
    BOOST_TEST(c->rules.rules.at(1) == "pcre:" + r + "/x.pcre");
    BOOST_TEST(c->rules.rules.at(2) == "/etc/ip25b/own");
    BOOST_TEST(c->rules.self_rules.at(0) == r + "/allowlist");
}

BOOST_AUTO_TEST_CASE(the_shipped_config_works_when_copied_elsewhere) {
    TempDir t;
    fs::copy_file(std::string(IP25B_SOURCE_DIR) + "/contrib/ip25b.conf", t.path / "ip25b.conf");
    auto c = load_config((t.path / "ip25b.conf").string());
    BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().to_string()));
    auto cl = Classifier::load(c->rules);
    BOOST_REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().to_string()));
    BOOST_TEST(cl.value()->summary().find(" 0 rules") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_rules_at_all_is_an_error_unless_allowed) {
    auto empty = parse_config("", "t.conf", "/etc/ip25b");
    BOOST_REQUIRE(empty);
    auto r = Classifier::load(empty->rules);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().reason.find("rules.allow_empty") != std::string::npos);

    TempDir t;
    auto no_files = parse_config("[rules]\nfiles = [\"" + t.path.string() + "\"]\n", "t.conf", "/");
    BOOST_REQUIRE(no_files);
    BOOST_TEST(!Classifier::load(no_files->rules));

    auto allowed = parse_config("[rules]\nallow_empty = true\n", "t.conf", "/etc/ip25b");
    BOOST_REQUIRE(allowed);
    BOOST_TEST(Classifier::load(allowed->rules).has_value());

    auto ranges = parse_config("[rules]\nself_ranges = [\"192.0.2.0/24\"]\n", "t.conf", "/");
    BOOST_REQUIRE(ranges);
    BOOST_TEST(Classifier::load(ranges->rules).has_value());
}
