// feed_store.cpp — atomic writes and the symlink swap of a feed's directory.
#include "ip25b/feed_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace ip25b {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

std::optional<Error> fsync_path(const std::string& path, bool directory) {
    int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Error{path, 0, "cannot open for fsync: " + errno_text()};
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) return Error{path, 0, std::string("fsync: ") + std::strerror(saved)};
    return std::nullopt;
}

// Writes a new file (must not exist) and fsyncs it.
std::optional<Error> write_new_file(const std::string& path, std::string_view bytes,
                                    unsigned mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return Error{path, 0, "cannot create: " + errno_text()};
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            ::close(fd);
            return Error{path, 0, std::string("write: ") + std::strerror(saved)};
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int saved = errno;
        ::close(fd);
        return Error{path, 0, std::string("fsync: ") + std::strerror(saved)};
    }
    if (::close(fd) != 0) return Error{path, 0, "close: " + errno_text()};
    return std::nullopt;
}

std::chrono::sys_seconds from_epoch(int64_t s) {
    return std::chrono::sys_seconds{std::chrono::seconds{s}};
}
int64_t to_epoch(std::chrono::sys_seconds t) {
    return t.time_since_epoch().count();
}

} // namespace

std::string feed_directory(const std::string& state_dir, const std::string& name) {
    return (fs::path(state_dir) / name).string();
}

std::string feed_rules_directory(const std::string& feed_dir) {
    return (fs::path(feed_dir) / "current" / "rules").string();
}

std::optional<Error> write_file_atomic(const std::string& path, std::string_view bytes,
                                       unsigned mode) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    if (auto e = write_new_file(tmp, bytes, mode)) return e;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto e = Error{path, 0, "rename: " + errno_text()};
        ::unlink(tmp.c_str());
        return e;
    }
    auto dir = fs::path(path).parent_path().string();
    return fsync_path(dir.empty() ? "." : dir, true);
}

Expected<FeedState> load_feed_state(const std::string& feed_dir) {
    std::string path = (fs::path(feed_dir) / "state.json").string();
    std::ifstream in(path, std::ios::binary);
    FeedState s;
    if (!in) return s;
    try {
        auto j = nlohmann::json::parse(in);
        s.serial = j.value("serial", uint64_t{0});
        s.publisher = j.value("publisher", "");
        s.published = from_epoch(j.value("published", int64_t{0}));
        s.expires = from_epoch(j.value("expires", int64_t{0}));
        s.installed_at = from_epoch(j.value("installed_at", int64_t{0}));
        s.checked_at = from_epoch(j.value("checked_at", int64_t{0}));
        s.last_error = j.value("last_error", "");
        s.last_error_at = from_epoch(j.value("last_error_at", int64_t{0}));
        s.etag = j.value("etag", "");
        s.last_modified = j.value("last_modified", "");
    } catch (const std::exception& e) {
        return Error{path, 0, std::string("damaged state file: ") + e.what()};
    }
    return s;
}

std::optional<Error> save_feed_state(const std::string& feed_dir, const FeedState& s) {
    nlohmann::json j;
    j["serial"] = s.serial;
    j["publisher"] = s.publisher;
    j["published"] = to_epoch(s.published);
    j["expires"] = to_epoch(s.expires);
    j["installed_at"] = to_epoch(s.installed_at);
    j["checked_at"] = to_epoch(s.checked_at);
    j["last_error"] = s.last_error;
    j["last_error_at"] = to_epoch(s.last_error_at);
    j["etag"] = s.etag;
    j["last_modified"] = s.last_modified;
    std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return write_file_atomic((fs::path(feed_dir) / "state.json").string(), text);
}

std::string installed_feed_document(const std::string& feed_dir) {
    std::ifstream in(fs::path(feed_dir) / "current" / "feed.toml", std::ios::binary);
    if (!in) return {};
    std::ostringstream b;
    b << in.rdbuf();
    return b.str();
}

Expected<std::string> stage_feed(const std::string& feed_dir, const Feed& feed,
                                 std::string_view document, std::string_view signature) {
    std::error_code ec;
    fs::path staging = fs::path(feed_dir) / fmt::format(".staging-{}", feed.header.serial);
    fs::remove_all(staging, ec);
    fs::create_directories(staging / "rules", ec);
    if (ec) return Error{staging.string(), 0, "cannot create: " + ec.message()};
    if (auto e = write_new_file((staging / "feed.toml").string(), document, 0644)) return *e;
    if (auto e = write_new_file((staging / "feed.toml.minisig").string(), signature, 0644))
        return *e;
    for (const auto& f : feed.files)
        if (auto e = write_new_file((staging / "rules" / f.name).string(), f.content, 0644))
            return *e;
    if (auto e = fsync_path((staging / "rules").string(), true)) return *e;
    if (auto e = fsync_path(staging.string(), true)) return *e;
    return staging.string();
}

std::optional<Error> commit_feed(const std::string& feed_dir, const std::string& staging,
                                 uint64_t serial) {
    std::error_code ec;
    const fs::path dir(feed_dir);
    const std::string target = fmt::format("serial-{}", serial);
    fs::path previous;
    if (fs::is_symlink(dir / "current", ec)) previous = fs::read_symlink(dir / "current", ec);
    fs::remove_all(dir / target, ec); // a leftover of an interrupted run, never the current one
    if (::rename(staging.c_str(), (dir / target).c_str()) != 0)
        return Error{staging, 0, "rename to " + target + ": " + errno_text()};
    const std::string link_tmp = (dir / "current.tmp").string();
    ::unlink(link_tmp.c_str());
    if (::symlink(target.c_str(), link_tmp.c_str()) != 0)
        return Error{link_tmp, 0, "symlink: " + errno_text()};
    if (::rename(link_tmp.c_str(), (dir / "current").c_str()) != 0)
        return Error{(dir / "current").string(), 0, "rename: " + errno_text()};
    if (auto e = fsync_path(feed_dir, true)) return e;
    // Keep the new and the previous serial; a reload that started before the
    // swap may still be reading the previous one.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        auto name = entry.path().filename().string();
        if (name.starts_with("serial-") && name != target && name != previous.string())
            fs::remove_all(entry.path(), ec);
    }
    return std::nullopt;
}

void discard_staging(const std::string& staging) {
    std::error_code ec;
    fs::remove_all(staging, ec);
}

} // namespace ip25b
