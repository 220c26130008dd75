#define BOOST_TEST_MODULE decision_log
#include <boost/test/unit_test.hpp>

#include "ip25b/decision_log.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

using namespace ip25b;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line))
        out.push_back(nlohmann::json::parse(line));
    return out;
}

DecisionRecord sample(const std::string& session) {
    DecisionRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1795000000123456));
    r.session = session;
    r.client_ip = "118.8.132.157";
    r.client_port = 40123;
    r.ptr = "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp";
    r.ptr_status = "confirmed";
    r.cls = "dynamic";
    r.isp = "OCN";
    r.rule = "ocn-ftth";
    r.rule_file = "rules/isp/ocn.toml";
    r.rule_line = 12;
    r.action = Action::Reject;
    r.reason = "class dynamic";
    r.stage = "rcpt";
    r.reply = "550 5.7.1 118.8.132.157 (...) is a dynamic address of OCN";
    r.helo = "bot";
    r.sender = "a@example.net";
    r.recipients = {"b@example.org", "c@example.org"};
    r.queue_id = "4ABCD123";
    r.dns_us = 2500;
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(records_are_written_complete_and_flushed) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    (*log)->write(sample("s1"));
    // Read back while the log is still open: nothing may sit in a buffer.
    auto lines = read_lines(cfg.json_file);
    BOOST_REQUIRE(lines.size() == 1u);
    auto& j = lines[0];
    BOOST_TEST(j["time"] == "2026-11-18T11:06:40.123456Z");
    BOOST_TEST(j["session"] == "s1");
    BOOST_TEST(j["client_ip"] == "118.8.132.157");
    BOOST_TEST(j["client_port"] == 40123);
    BOOST_TEST(j["ptr"] == "p1157-ipbf5204marunouchi.tokyo.ocn.ne.jp");
    BOOST_TEST(j["ptr_status"] == "confirmed");
    BOOST_TEST(j["fcrdns"] == true);
    BOOST_TEST(j["class"] == "dynamic");
    BOOST_TEST(j["isp"] == "OCN");
    BOOST_TEST(j["rule"] == "ocn-ftth");
    BOOST_TEST(j["rule_file"] == "rules/isp/ocn.toml");
    BOOST_TEST(j["rule_line"] == 12);
    BOOST_TEST(j["action"] == "reject");
    BOOST_TEST(j["stage"] == "rcpt");
    BOOST_TEST(j["sender"] == "a@example.net");
    BOOST_TEST(j["recipients"].size() == 2u);
    BOOST_TEST(j["queue_id"] == "4ABCD123");
    BOOST_TEST(j["dns_ms"] == 2.5);
    BOOST_TEST(j["dry_run"] == false);
    BOOST_TEST(j["would"].is_null());
    BOOST_TEST(j["refused_before_auth"].is_null());
    auto none = sample("s2");
    none.dns_us = -1;
    (*log)->write(none);
    lines = read_lines(cfg.json_file);
    BOOST_TEST(lines.size() == 2u);
    BOOST_TEST(lines[1]["dns_ms"].is_null());
}

BOOST_AUTO_TEST_CASE(hostile_bytes_stay_one_valid_line) {
    DecisionRecord r = sample("s3");
    r.sender = std::string("a\n\"b\xff\xfe@x");
    r.helo = "evil\r\nX-Injected: 1";
    std::string json = DecisionLog::to_json(r);
    BOOST_TEST(json.find('\n') == std::string::npos);
    BOOST_TEST(nlohmann::json::parse(json)["helo"] == "evil\r\nX-Injected: 1");
    std::string line = DecisionLog::to_line(r);
    BOOST_TEST(line.find('\n') == std::string::npos);
    BOOST_TEST(line.find("client=118.8.132.157") != std::string::npos);
    BOOST_TEST(line.find("isp=\"OCN\"") != std::string::npos);
    BOOST_TEST(line.find("to=<b@example.org>+1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dry_run_says_would) {
    DecisionRecord r = sample("s4");
    r.action = Action::Accept;
    r.dry_run = true;
    r.would = Action::Reject;
    auto j = nlohmann::json::parse(DecisionLog::to_json(r));
    BOOST_TEST(j["action"] == "accept");
    BOOST_TEST(j["would"] == "reject");
    BOOST_TEST(DecisionLog::to_line(r).find("accept (dry-run: would reject)") != std::string::npos);
    r.dry_run = false;
    r.would.reset();
    r.refused_before_auth = Action::Reject;
    j = nlohmann::json::parse(DecisionLog::to_json(r));
    BOOST_TEST(j["refused_before_auth"] == "reject");
    BOOST_TEST(DecisionLog::to_line(r).find("accept (reject lifted by AUTH)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reopen_follows_rotation) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    (*log)->write(sample("before"));
    fs::rename(cfg.json_file, d.path / "decisions.jsonl.1");
    (*log)->write(sample("rotated")); // still goes to the renamed file
    BOOST_TEST(!(*log)->reopen());
    (*log)->write(sample("after"));
    auto old_lines = read_lines(d.path / "decisions.jsonl.1");
    auto new_lines = read_lines(cfg.json_file);
    BOOST_TEST(old_lines.size() == 2u);
    BOOST_REQUIRE(new_lines.size() == 1u);
    BOOST_TEST(new_lines[0]["session"] == "after");
    // A reopen that fails keeps the old descriptor working.
    fs::remove_all(d.path);
    auto err = (*log)->reopen();
    BOOST_REQUIRE(err);
    BOOST_TEST(err->reason.find("cannot reopen decision log") == 0u);
}

BOOST_AUTO_TEST_CASE(open_errors_name_the_file) {
    DecisionLogConfig cfg;
    cfg.json_file = "/nonexistent-dir-ip25b/x.jsonl";
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(!log.has_value());
    BOOST_TEST(log.error().file == cfg.json_file);
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave) {
    TempDir d;
    DecisionLogConfig cfg;
    cfg.json_file = (d.path / "decisions.jsonl").string();
    cfg.syslog = false;
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i)
                (*log)->write(sample("t" + std::to_string(t) + "-" + std::to_string(i)));
        });
    for (auto& th : threads)
        th.join();
    auto lines = read_lines(cfg.json_file); // parse() throws on a torn line
    BOOST_TEST(lines.size() == 800u);
}

// Issue 10: HELO, MAIL FROM and RCPT TO come from the SMTP client with any bytes; the
// record is still one valid JSON line, invalid UTF-8 replaced by U+FFFD.
BOOST_AUTO_TEST_CASE(invalid_utf8_in_envelope_is_replaced) {
    DecisionRecord r = sample("s4");
    r.helo = "h\xff\xc3";
    r.sender = "<a\xfe@x>";
    r.recipients = {"<b\x80@y>", "<c@\xed\xa0\x80z>"};
    r.ptr = "a.ocn.ne.jp\xff";
    const std::string json = DecisionLog::to_json(r);
    auto j = nlohmann::json::parse(json, nullptr, false);
    BOOST_REQUIRE(!j.is_discarded());
    BOOST_TEST(j["helo"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
    BOOST_TEST(j["sender"] == "<a\xef\xbf\xbd@x>");
    BOOST_TEST(j["recipients"][0] == "<b\xef\xbf\xbd@y>");
    BOOST_TEST(j["ptr"] == "a.ocn.ne.jp\xef\xbf\xbd");
}

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// The sessions of the records in the file, after checking that the file is
// nothing but whole JSON lines: it ends with a newline and every line parses
// (a torn line does not, nor does a record glued onto one).
std::vector<std::string> whole_records(const fs::path& p) {
    std::string text = slurp(p);
    std::vector<std::string> sessions;
    BOOST_TEST((text.empty() || text.back() == '\n'), p << " ends in a partial line");
    std::istringstream in(text);
    std::string line;
    for (unsigned n = 1; std::getline(in, line); ++n) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        BOOST_TEST(!j.is_discarded(), p << ":" << n << ": not one whole JSON record: " << line);
        if (!j.is_discarded()) sessions.push_back(j["session"]);
    }
    return sessions;
}

// Sends fd 2 to a file while alive: what the log said on stderr.
struct StderrCapture {
    fs::path file;
    int saved = -1;
    explicit StderrCapture(fs::path f) : file(std::move(f)) {
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        BOOST_REQUIRE(fd >= 0);
        saved = ::dup(STDERR_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~StderrCapture() { ::dup2(saved, STDERR_FILENO), ::close(saved); }
    std::string text() const { return slurp(file); }
};

// RLIMIT_FSIZE lowered while alive: writes beyond it fail with EFBIG after
// the kernel wrote what fits, a short write like ENOSPC's, without root.
struct FileSizeLimit {
    rlimit saved{};
    explicit FileSizeLimit(rlim_t bytes) {
        BOOST_REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
        rlimit l = saved;
        l.rlim_cur = bytes;
        BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &l) == 0);
    }
    ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved); }
};

DecisionLogConfig quiet_config(const fs::path& file) {
    DecisionLogConfig cfg;
    cfg.json_file = file.string();
    cfg.syslog = false;
    return cfg;
}

} // namespace

// Issue 10: a write cut short (here by a file-size limit, EFBIG) leaves no
// partial record, every dropped record is counted and reported on stderr
// (first at once, then rate-limited), and after the limit is lifted the
// records are whole again and the recovery is said. Without SIGXFSZ ignored
// the runner itself would be killed by the write that crosses the limit.
BOOST_AUTO_TEST_CASE(short_write_leaves_no_partial_record) {
    TempDir d;
    StderrCapture err(d.path / "stderr");
    auto cfg = quiet_config(d.path / "decisions.jsonl");
    cfg.alarm_interval = std::chrono::milliseconds(300);
    auto opened = DecisionLog::open(cfg);
    BOOST_REQUIRE(opened.has_value());
    auto& log = *opened;
    const size_t limit = 5000; // not a multiple of a record: the failing write is cut short
    size_t attempted = 0, written = 0;
    {
        FileSizeLimit fsize(limit);
        while (attempted < 100) {
            ++attempted;
            if (!log->write(sample("a" + std::to_string(attempted)))) break;
            ++written;
        }
        BOOST_REQUIRE(written < attempted);
        // The kernel wrote up to the limit before failing; the log cut it off again.
        BOOST_TEST(fs::file_size(cfg.json_file) < limit);
        for (int i = 0; i < 20; ++i, ++attempted)
            BOOST_TEST(!log->write(sample("b" + std::to_string(i))));
        BOOST_TEST(whole_records(cfg.json_file).size() == written);
        BOOST_TEST(count(err.text(), "cannot write decision log") == 1u);
        BOOST_TEST(err.text().find("File too large") != std::string::npos);
        BOOST_TEST(err.text().find("record of session a" + std::to_string(written + 1) +
                                   " dropped") != std::string::npos);
        BOOST_TEST(count(err.text(), "still not writable") == 0u); // rate-limited
        std::this_thread::sleep_for(std::chrono::milliseconds(350));
        ++attempted;
        BOOST_TEST(!log->write(sample("c")));
        BOOST_TEST(count(err.text(), "still not writable") == 1u);
        BOOST_TEST(err.text().find("21 more records dropped, 22 since it failed") !=
                   std::string::npos);
        auto st = log->stats();
        BOOST_TEST(st.written == written);
        BOOST_TEST(st.dropped == 22u);
        BOOST_TEST(!st.writable);
    }
    // The limit is gone, as space coming back: whole records again, on their own lines.
    for (int i = 0; i < 3; ++i, ++attempted)
        BOOST_TEST(log->write(sample("after" + std::to_string(i))));
    auto sessions = whole_records(cfg.json_file);
    BOOST_REQUIRE(sessions.size() == written + 3);
    BOOST_TEST(sessions[written] == "after0");
    BOOST_TEST(sessions.back() == "after2");
    auto st = log->stats();
    BOOST_TEST(st.writable);
    BOOST_TEST(st.written + st.dropped == attempted);
    BOOST_TEST(count(err.text(), "writable again after 22 dropped records") == 1u);
}

// A file that already ends in a fragment (a crash, an older version) gets the
// next record on a line of its own instead of glued onto the fragment.
BOOST_AUTO_TEST_CASE(record_after_a_fragment_starts_a_new_line) {
    TempDir d;
    auto cfg = quiet_config(d.path / "decisions.jsonl");
    std::string whole = DecisionLog::to_json(sample("old")) + "\n";
    std::string fragment = whole.substr(0, 40);
    d.file("decisions.jsonl", whole + fragment);
    auto log = DecisionLog::open(cfg);
    BOOST_REQUIRE(log.has_value());
    BOOST_TEST((*log)->write(sample("s1")));
    BOOST_TEST((*log)->write(sample("s2")));
    std::string text = slurp(cfg.json_file);
    BOOST_TEST(text == whole + fragment + "\n" + DecisionLog::to_json(sample("s1")) + "\n" +
                           DecisionLog::to_json(sample("s2")) + "\n");
}

namespace {

// Whether this process may mount a tmpfs in a mount namespace of its own
// (root, CAP_SYS_ADMIN): tried in a child, so nothing here changes. Under
// CI=true the answer is yes, so that a runner without the right fails the
// test rather than skipping it.
boost::test_tools::assertion_result can_mount_tmpfs(boost::unit_test::test_unit_id) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") return true;
    pid_t pid = fork();
    if (pid == 0) {
        char dir[] = "/tmp/ip25b-mnt.XXXXXX";
        bool ok = mkdtemp(dir) && unshare(CLONE_NEWNS) == 0 &&
                  mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                  mount("tmpfs", dir, "tmpfs", 0, "size=16k") == 0;
        if (ok) umount2(dir, MNT_DETACH);
        rmdir(dir);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    bool ok =
        pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    boost::test_tools::assertion_result r(ok);
    if (!ok) r.message() << "SKIP: cannot mount a tmpfs (needs root / CAP_SYS_ADMIN)";
    return r;
}

// A tmpfs of `size` on `dir`, in a mount namespace private to this process
// (so it vanishes with the runner whatever happens), unmounted at the end.
struct TinyTmpfs {
    fs::path dir;
    TinyTmpfs(fs::path d, const char* size) : dir(std::move(d)) {
        fs::create_directories(dir);
        BOOST_REQUIRE_MESSAGE(unshare(CLONE_NEWNS) == 0, "unshare: " << std::strerror(errno));
        BOOST_REQUIRE(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
        std::string opts = std::string("size=") + size;
        BOOST_REQUIRE_MESSAGE(mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0,
                              "mount tmpfs: " << std::strerror(errno));
    }
    ~TinyTmpfs() { umount2(dir.c_str(), MNT_DETACH); }
};

} // namespace

// Issue 10, the real thing: a 64 KiB tmpfs filled by the log until ENOSPC.
// Every line stays one whole record, written + dropped == attempted, and when
// space comes back (a filler file deleted) the next records are whole and the
// recovery is reported.
BOOST_AUTO_TEST_CASE(full_tmpfs_drops_whole_records_and_recovers,
                     *boost::unit_test::precondition(can_mount_tmpfs)) {
    TempDir d;
    TinyTmpfs disk(d.path / "mnt", "64k");
    StderrCapture err(d.path / "stderr");
    const fs::path filler = disk.dir / "filler";
    std::ofstream(filler, std::ios::binary) << std::string(16384, 'x');
    BOOST_REQUIRE(fs::file_size(filler) == 16384u);
    auto cfg = quiet_config(disk.dir / "decisions.jsonl");
    auto opened = DecisionLog::open(cfg);
    BOOST_REQUIRE(opened.has_value());
    auto& log = *opened;
    size_t attempted = 0, written = 0, failed_in_a_row = 0;
    while (attempted < 2000 && failed_in_a_row < 50) {
        ++attempted;
        if (log->write(sample("full" + std::to_string(attempted)))) {
            ++written, failed_in_a_row = 0;
        } else {
            ++failed_in_a_row;
        }
    }
    BOOST_REQUIRE(failed_in_a_row == 50u); // the disk did fill up
    auto st = log->stats();
    BOOST_TEST(st.written == written);
    BOOST_TEST(st.written + st.dropped == attempted);
    BOOST_TEST(!st.writable);
    BOOST_TEST(whole_records(cfg.json_file).size() == written);
    BOOST_TEST(count(err.text(), "cannot write decision log") == 1u);
    BOOST_TEST(err.text().find("No space left on device") != std::string::npos);

    fs::remove(filler);
    for (int i = 0; i < 5; ++i, ++attempted)
        BOOST_TEST(log->write(sample("back" + std::to_string(i))));
    auto sessions = whole_records(cfg.json_file);
    BOOST_REQUIRE(sessions.size() == written + 5);
    BOOST_TEST(sessions[written] == "back0");
    st = log->stats();
    BOOST_TEST(st.writable);
    BOOST_TEST(st.written + st.dropped == attempted);
    BOOST_TEST(count(err.text(), "writable again after " + std::to_string(st.dropped) +
                                     " dropped records") == 1u);
}
