// ip25b/control.hpp — the milter's local control socket and its protocol.
//
// `ip25b status` must see inside a running milter (counters, the rule set in
// force, what the PTR cache holds for one address) without a network port
// and without signals. The milter listens on a unix socket (same mode and
// group as the milter socket, so the operator's group may read it). The
// protocol is one request line, one JSON answer, then the server closes:
//
//   status            counters and the rule-set summary
//   rules             the same plus every loaded file with its rule count
//   cache ADDRESS     the cached PTR answer for ADDRESS (no DNS query)
//
// Answers are JSON objects; a refused request is {"error": "..."}.
// Requests are at most kMaxControlRequest bytes and must arrive within a
// second, so a stuck client cannot hold the (single) server thread.
#pragma once

#include "ip25b/error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ip25b {

inline constexpr size_t kMaxControlRequest = 512;

struct ControlRequest {
    enum class Kind : uint8_t { Status, Rules, Cache } kind = Kind::Status;
    std::string address; // Cache: the address as given (validated by the handler)
};

// Parses one request line (without its newline); nullopt and `error` when unknown.
std::optional<ControlRequest> parse_control_request(std::string_view line, std::string& error);
std::string format_control_request(const ControlRequest& r);

// Client side: sends `request`, returns the whole answer. Errors carry errno
// text and the path ("connect /run/ip25b/control.sock: No such file or directory").
Expected<std::string> control_query(const std::string& socket_path, const ControlRequest& request,
                                    std::chrono::milliseconds timeout);

// Server side. listen() binds the socket (as root, before the privilege drop,
// like the milter socket): a live server already on the path is an error, a
// stale socket file is replaced, anything else on the path is left alone and
// refused. serve() starts the thread; the destructor stops it and removes the
// socket file when it can.
class ControlServer {
  public:
    using Handler = std::function<std::string(const ControlRequest&)>;

    static Expected<std::unique_ptr<ControlServer>> listen(const std::string& path);
    // Applies the same ownership and mode as the milter socket.
    std::optional<Error> set_access(unsigned mode, int uid, int gid) const;
    void serve(Handler handler);
    const std::string& path() const { return path_; }
    ~ControlServer();

  private:
    ControlServer() = default;
    void run();
    void answer(int fd);

    std::string path_;
    int listen_fd_ = -1;
    int stop_fd_ = -1; // eventfd: wakes the thread's poll() at shutdown
    Handler handler_;
    struct Thread;
    std::unique_ptr<Thread> thread_;
};

// Whether something accepts connections on the unix socket `path` now (a live
// instance), as opposed to a stale socket file left by a crash.
bool unix_socket_is_live(const std::string& path);

} // namespace ip25b
