// milter_process.hpp — the daemon's process hygiene: pid file, sockets, users.
//
// A second instance must not take over a running one's socket or pid file;
// files a crash left behind must not stop the next start; the MTA (another
// user) must be able to connect to a unix socket; and the pid file and
// sockets must be gone after every exit. These helpers keep main() to the
// order of steps.
//
// When the milter drops privileges (-u), it can no longer remove files in
// root-owned directories (/run, the pid file's directory), so a small root
// supervisor stays behind: it forwards signals to the milter, waits for it,
// then removes the pid file and sockets and exits with the milter's status.
#pragma once

#include "ip25b/config.hpp"
#include "ip25b/error.hpp"

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ip25b::milter {

// The pid file, locked with flock(2) for the life of the process: a live
// instance holds the lock, a stale file has none and is reused. The lock
// survives fork (it belongs to the open file), so it covers daemonizing.
class PidFile {
  public:
    static Expected<std::unique_ptr<PidFile>> acquire(const std::string& path);
    void write_pid(pid_t pid); // also makes this process the one that removes it
    void remove();             // unlink and close; only in the owning process
    ~PidFile();

  private:
    std::string path_;
    int fd_ = -1;
    pid_t owner_ = -1;
};

// The path of a unix:/local: socket spec, or "" for inet sockets.
std::string unix_path(const std::string& spec);

// Owner, group and mode for unix sockets. uid/gid -1: unchanged.
struct SocketAccess {
    unsigned mode = 0660;
    int uid = -1, gid = -1;
};
// From [milter] user, socket_group, socket_mode; errors name the unknown user/group.
Expected<SocketAccess> socket_access(const MilterConfig& m);

// Refuses a unix socket path that a live instance answers on, or that is not
// a socket; a stale socket is left for libmilter to replace.
std::optional<Error> check_socket_free(const std::string& spec);

// smfi_setconn + smfi_opensocket, then owner and mode for a unix socket.
// Errors carry errno text.
std::optional<Error> open_milter_socket(const std::string& spec, const SocketAccess& access);

// Removes a unix socket file at scope exit (every exit path of main).
class SocketFile {
  public:
    explicit SocketFile(std::string path) : path_(std::move(path)), owner_(getpid_now()) {}
    ~SocketFile();
    SocketFile(const SocketFile&) = delete;
    SocketFile& operator=(const SocketFile&) = delete;

  private:
    static pid_t getpid_now();
    std::string path_;
    pid_t owner_;
};

// Whether -u would change the user (we are root and the user is another one).
bool will_drop_privileges(const std::string& user);
// setgid/initgroups/setuid to `user`; verifies root cannot be regained.
std::optional<Error> drop_privileges(const std::string& user);

// Forks into the background; the parent waits for the child's word on the
// ready pipe ("ok" or the reason it failed) and exits 0/1 accordingly; a
// stop signal to it meanwhile is passed on to the daemon.
// Returns false (errno set) when fork fails; in the child, ready_fd is set.
bool daemonize(int& ready_fd);
void report_ready(int& ready_fd, const std::string& message);

// Forks the milter off a root supervisor. Returns in the child only. The
// supervisor forwards `forwarded` signals, waits for the child, runs `cleanup`
// and exits with the child's status. The supervisor keeps its copy of the
// ready pipe (daemonize) open until then, so the daemonizing parent, which
// waits for EOF after a refusal, returns only once the clean-up is done.
void fork_supervisor(const std::function<void()>& cleanup);

} // namespace ip25b::milter
