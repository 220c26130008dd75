#define BOOST_TEST_MODULE file_reader
#include <boost/test/unit_test.hpp>

#include "ip25b/config.hpp"
#include "ip25b/file_reader.hpp"
#include "ip25b/postfix_table.hpp"
#include "ip25b/rule_file.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

// A FIFO in `d`: the readers must refuse it without blocking.
std::string make_fifo(const TempDir& d, const std::string& name) {
    const std::string p = (d.path / name).string();
    BOOST_REQUIRE(mkfifo(p.c_str(), 0600) == 0);
    return p;
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_a_regular_file_whole) {
    TempDir d;
    const std::string p = d.file("a.conf", std::string("x\0y\n", 4));
    auto text = read_regular_file(p, 4, "config file");
    BOOST_REQUIRE(text);
    BOOST_TEST(*text == std::string("x\0y\n", 4));
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_regular_file_or_too_big) {
    TempDir d;
    const std::string big = d.file("big", std::string(17, 'x'));
    BOOST_TEST(read_regular_file(big, 16, "table").error().to_string() ==
               big + ": table is over 16 bytes");
    BOOST_TEST(read_regular_file("/dev/zero", 16, "table").error().to_string() ==
               "/dev/zero: table is not a regular file");
    BOOST_TEST(contains(read_regular_file(d.path.string(), 16, "table").error().to_string(),
                        "is a directory"));
    BOOST_TEST(
        contains(read_regular_file((d.path / "none").string(), 16, "table").error().to_string(),
                 "cannot open table: No such file"));
    // A sparse file of 2 GiB is refused from its size, without reading it.
    const std::string sparse = d.file("sparse", "");
    BOOST_REQUIRE(truncate(sparse.c_str(), off_t{2} << 30) == 0);
    BOOST_TEST(
        contains(read_regular_file(sparse, kMaxTableBytes, "table").error().reason, "over 64 MiB"));
    auto in = open_regular_file("/dev/zero", kMaxLogBytes, "log");
    BOOST_TEST(in.error().to_string() == "/dev/zero: log is not a regular file");
    auto ok = open_regular_file(big, kMaxLogBytes, "log");
    BOOST_REQUIRE(ok);
    std::string line;
    BOOST_TEST(static_cast<bool>(std::getline(**ok, line)));
    BOOST_TEST(line == std::string(17, 'x'));
}

// Issue 10: a FIFO hung every loader forever, /dev/zero aborted it with bad_alloc. Now
// each loader answers at once with "file: reason".
BOOST_AUTO_TEST_CASE(loaders_refuse_fifos_and_devices_at_once) {
    TempDir d;
    const std::string fifo = make_fifo(d, "pipe");
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& p : {fifo, std::string("/dev/zero")}) {
        auto c = load_config(p);
        BOOST_REQUIRE(!c);
        BOOST_TEST(c.error().to_string() == p + ": config file is not a regular file");
        auto t = load_postfix_table(p, RuleSyntax::Pcre);
        BOOST_REQUIRE(!t);
        BOOST_TEST(t.error().to_string() == p + ": table is not a regular file");
        auto r = load_rule_file(p);
        BOOST_REQUIRE(!r);
        BOOST_TEST(r.error().to_string() == p + ": rule file is not a regular file");
    }
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)));
    const std::string huge = d.file("huge.conf", "");
    BOOST_REQUIRE(truncate(huge.c_str(), off_t(kMaxConfigBytes) + 1) == 0);
    BOOST_TEST(load_config(huge).error().to_string() == huge + ": config file is over 1 MiB");
}
