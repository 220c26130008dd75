// control.cpp — the control socket: one request line in, one JSON document out.
#include "ip25b/control.hpp"

#include "ip25b/metrics.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace ip25b {

namespace {

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

bool make_address(const std::string& path, sockaddr_un& sa) {
    std::memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof sa.sun_path) return false;
    std::memcpy(sa.sun_path, path.data(), path.size());
    return true;
}

// Waits until fd is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point until) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        return n > 0;
    }
}

bool send_all(int fd, std::string_view data, std::chrono::steady_clock::time_point until) {
    while (!data.empty()) {
        if (!wait_fd(fd, POLLOUT, until)) return false;
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

} // namespace

struct ControlServer::Thread {
    std::thread t;
};

std::optional<ControlRequest> parse_control_request(std::string_view line, std::string& error) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.remove_suffix(1);
    ControlRequest r;
    if (line == "status") return r;
    if (line == "rules") {
        r.kind = ControlRequest::Kind::Rules;
        return r;
    }
    if (line.starts_with("cache ")) {
        r.kind = ControlRequest::Kind::Cache;
        r.address = std::string(line.substr(6));
        if (r.address.empty() || r.address.size() > 64) {
            error = "cache needs one address";
            return std::nullopt;
        }
        return r;
    }
    error = "unknown request (status, rules, cache ADDRESS)";
    return std::nullopt;
}

std::string format_control_request(const ControlRequest& r) {
    switch (r.kind) {
    case ControlRequest::Kind::Status:
        return "status\n";
    case ControlRequest::Kind::Rules:
        return "rules\n";
    case ControlRequest::Kind::Cache:
        return "cache " + r.address + "\n";
    }
    return "status\n";
}

Expected<std::string> control_query(const std::string& path, const ControlRequest& request,
                                    std::chrono::milliseconds timeout) {
    sockaddr_un sa;
    if (!make_address(path, sa)) return Error{path, 0, "not a usable unix socket path"};
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{path, 0, errno_text("socket")};
    auto until = std::chrono::steady_clock::now() + timeout;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        Error e{"", 0, errno_text("connect " + path)};
        ::close(fd);
        return e;
    }
    if (!send_all(fd, format_control_request(request), until)) {
        Error e{"", 0, "cannot send the request to " + path};
        ::close(fd);
        return e;
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    char buf[4096];
    for (;;) {
        if (!wait_fd(fd, POLLIN, until)) {
            ::close(fd);
            return Error{"", 0, "no answer from " + path + " in time"};
        }
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            Error e{"", 0, errno_text("read " + path)};
            ::close(fd);
            return e;
        }
        if (n == 0) break;
        answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return answer;
}

bool unix_socket_is_live(const std::string& path) {
    sockaddr_un sa;
    if (!make_address(path, sa)) return false;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return live;
}

Expected<std::unique_ptr<ControlServer>> ControlServer::listen(const std::string& path) {
    sockaddr_un sa;
    if (!make_address(path, sa)) return Error{path, 0, "not a usable unix socket path"};
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error{path, 0, "exists and is not a socket"};
        if (unix_socket_is_live(path))
            return Error{path, 0, "another instance answers on this control socket"};
        ::unlink(path.c_str()); // stale: left by a process that died
    }
    std::unique_ptr<ControlServer> s(new ControlServer());
    s->path_ = path;
    s->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd_ < 0) return Error{path, 0, errno_text("socket")};
    if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return Error{path, 0, errno_text("bind")};
    if (::listen(s->listen_fd_, 16) != 0) return Error{path, 0, errno_text("listen")};
    s->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stop_fd_ < 0) return Error{path, 0, errno_text("eventfd")};
    return s;
}

std::optional<Error> ControlServer::set_access(unsigned mode, int uid, int gid) const {
    if ((uid >= 0 || gid >= 0) &&
        ::chown(path_.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
        return Error{path_, 0, errno_text("chown")};
    if (::chmod(path_.c_str(), mode) != 0) return Error{path_, 0, errno_text("chmod")};
    return std::nullopt;
}

void ControlServer::serve(Handler handler) {
    handler_ = std::move(handler);
    thread_ = std::make_unique<Thread>();
    thread_->t = std::thread([this] { run(); });
}

void ControlServer::run() {
    for (;;) {
        pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (p[1].revents) return;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) continue;
        answer(fd);
        ::close(fd);
    }
}

void ControlServer::answer(int fd) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::string line;
    char buf[256];
    while (line.find('\n') == std::string::npos && line.size() <= kMaxControlRequest) {
        if (!wait_fd(fd, POLLIN, until)) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
    }
    std::string error;
    std::optional<ControlRequest> req;
    if (line.size() > kMaxControlRequest)
        error = "request too long";
    else
        req = parse_control_request(line.substr(0, line.find('\n')), error);
    std::string reply;
    if (req) {
        try {
            reply = handler_(*req);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (!req || reply.empty()) {
        metrics().error(MetricError::ControlRequest);
        std::string escaped;
        for (char c : error)
            escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
        reply = "{\"error\": \"" + escaped + "\"}\n";
    }
    send_all(fd, reply, until + std::chrono::seconds(1));
}

ControlServer::~ControlServer() {
    if (thread_ && thread_->t.joinable()) {
        uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
        thread_->t.join();
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str()); // may fail after a privilege drop; the supervisor removes it
    }
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

} // namespace ip25b
