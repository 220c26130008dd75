// file_reader.cpp — bounded reads of regular files; see file_reader.hpp for why.
#include "ip25b/file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ip25b {

namespace {

// Closes the descriptor on every path out.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

std::string size_text(uint64_t bytes) {
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        return std::to_string(bytes / (1024 * 1024)) + " MiB";
    return std::to_string(bytes) + " bytes";
}

// Opens without blocking (a FIFO with no writer would block open(2) itself) and
// checks the type and size on the open descriptor, so the file checked is the file read.
Expected<int> open_checked(const std::string& path, uint64_t max_bytes, const std::string& what,
                           Fd& fd) {
    fd.fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd.fd < 0) return Error{path, 0, "cannot open " + what + ": " + std::strerror(errno)};
    struct stat st {};
    if (fstat(fd.fd, &st) != 0)
        return Error{path, 0, "cannot stat " + what + ": " + std::strerror(errno)};
    if (S_ISDIR(st.st_mode)) return Error{path, 0, what + " is a directory"};
    if (!S_ISREG(st.st_mode)) return Error{path, 0, what + " is not a regular file"};
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return Error{path, 0, what + " is over " + size_text(max_bytes)};
    // Regular files never block; clear O_NONBLOCK anyway so reads behave as usual.
    fcntl(fd.fd, F_SETFL, fcntl(fd.fd, F_GETFL) & ~O_NONBLOCK);
    return fd.fd;
}

} // namespace

Expected<std::string> read_regular_file(const std::string& path, uint64_t max_bytes,
                                        const std::string& what) {
    Fd fd;
    auto opened = open_checked(path, max_bytes, what, fd);
    if (!opened) return opened.error();
    std::string text;
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = read(fd.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error{path, 0, "cannot read " + what + ": " + std::strerror(errno)};
        }
        if (n == 0) break;
        if (text.size() + static_cast<size_t>(n) > max_bytes)
            return Error{path, 0, what + " is over " + size_text(max_bytes)};
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

Expected<std::unique_ptr<std::ifstream>>
open_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
    Fd fd;
    auto opened = open_checked(path, max_bytes, what, fd);
    if (!opened) return opened.error();
    // The stream reads the descriptor just checked, not the path again (which could
    // have been replaced by a FIFO meanwhile).
    auto in =
        std::make_unique<std::ifstream>("/proc/self/fd/" + std::to_string(fd.fd), std::ios::binary);
    if (!*in) {
        in = std::make_unique<std::ifstream>(path, std::ios::binary); // no /proc
        if (!*in) return Error{path, 0, "cannot open " + what + ": " + std::strerror(errno)};
    }
    return in;
}

} // namespace ip25b
