// milter_process.cpp — pid file lock, socket probing and permissions, privileges, supervisor.
#include "milter_process.hpp"

#include "ip25b/control.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include <libmilter/mfapi.h>

namespace ip25b::milter {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

Expected<std::unique_ptr<PidFile>> PidFile::acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return Error{path, 0, "cannot open pid file: " + errno_text()};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = "";
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?");
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
            pid.pop_back();
        if (e == EWOULDBLOCK)
            return Error{path, 0,
                         "another instance is running (pid " + pid + ") and holds this pid file"};
        return Error{path, 0, std::string("cannot lock pid file: ") + std::strerror(e)};
    }
    auto p = std::make_unique<PidFile>();
    p->path_ = path;
    p->fd_ = fd;
    return p;
}

void PidFile::write_pid(pid_t pid) {
    owner_ = ::getpid();
    std::string text = std::to_string(pid) + "\n";
    if (::ftruncate(fd_, 0) != 0) return;
    [[maybe_unused]] auto n = ::pwrite(fd_, text.data(), text.size(), 0);
}

void PidFile::remove() {
    if (fd_ < 0) return;
    if (owner_ == ::getpid() || owner_ == -1) ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
}

PidFile::~PidFile() {
    remove();
}

std::string unix_path(const std::string& spec) {
    for (const char* prefix : {"unix:", "local:"})
        if (spec.rfind(prefix, 0) == 0) return spec.substr(std::strlen(prefix));
    return {};
}

Expected<SocketAccess> socket_access(const MilterConfig& m) {
    SocketAccess a;
    a.mode = m.socket_mode;
    if (!m.user.empty()) {
        struct passwd* pw = ::getpwnam(m.user.c_str());
        if (!pw) return Error{"", 0, "unknown user " + m.user};
        a.uid = static_cast<int>(pw->pw_uid);
        a.gid = static_cast<int>(pw->pw_gid);
    }
    if (!m.socket_group.empty()) {
        struct group* gr = ::getgrnam(m.socket_group.c_str());
        if (!gr) return Error{"", 0, "milter.socket_group: unknown group " + m.socket_group};
        a.gid = static_cast<int>(gr->gr_gid);
    }
    return a;
}

std::optional<Error> check_socket_free(const std::string& spec) {
    std::string path = unix_path(spec);
    if (path.empty()) return std::nullopt;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    if (!S_ISSOCK(st.st_mode))
        return Error{path, 0, "exists and is not a socket; not replacing it"};
    if (unix_socket_is_live(path))
        return Error{path, 0, "another instance is listening on this socket"};
    return std::nullopt; // stale: libmilter replaces it
}

std::optional<Error> open_milter_socket(const std::string& spec, const SocketAccess& access) {
    std::string conn = spec;
    if (smfi_setconn(conn.data()) != MI_SUCCESS) return Error{"", 0, "bad socket " + spec};
    errno = 0;
    if (smfi_opensocket(true) != MI_SUCCESS)
        return Error{"", 0,
                     "cannot listen on " + spec + (errno ? ": " + errno_text() : std::string())};
    std::string path = unix_path(spec);
    if (path.empty()) return std::nullopt;
    if ((access.uid >= 0 || access.gid >= 0) &&
        ::chown(path.c_str(), static_cast<uid_t>(access.uid), static_cast<gid_t>(access.gid)) != 0)
        return Error{path, 0, "chown: " + errno_text()};
    if (::chmod(path.c_str(), access.mode) != 0) return Error{path, 0, "chmod: " + errno_text()};
    return std::nullopt;
}

pid_t SocketFile::getpid_now() {
    return ::getpid();
}

SocketFile::~SocketFile() {
    if (!path_.empty() && owner_ == ::getpid()) ::unlink(path_.c_str());
}

bool will_drop_privileges(const std::string& user) {
    if (user.empty()) return false;
    struct passwd* pw = ::getpwnam(user.c_str());
    return pw && ::getuid() == 0 && pw->pw_uid != 0;
}

std::optional<Error> drop_privileges(const std::string& user) {
    if (user.empty()) return std::nullopt;
    struct passwd* pw = ::getpwnam(user.c_str());
    if (!pw) return Error{"", 0, "unknown user " + user};
    if (::getuid() == pw->pw_uid && ::geteuid() == pw->pw_uid) return std::nullopt;
    if (::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
        ::setuid(pw->pw_uid) != 0)
        return Error{"", 0, "cannot become " + user + ": " + errno_text()};
    if (::setuid(0) == 0) return Error{"", 0, "privileges could be regained after dropping them"};
    return std::nullopt;
}

namespace {

// The foreground parent: reads the daemon's word from the ready pipe. A stop
// signal meanwhile (Ctrl-C, SIGTERM to the pid the shell knows) is passed on
// to the daemon, which is still loading and stops at once; the stop signals
// are blocked here (main blocked them before forking), so a signalfd takes them.
std::string wait_for_daemon(int ready_fd, pid_t daemon, int& stop_sig) {
    sigset_t stop;
    sigemptyset(&stop);
    for (int s : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&stop, s);
    int sfd = ::signalfd(-1, &stop, SFD_CLOEXEC);
    pollfd fds[2] = {{ready_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    std::string msg;
    for (;;) {
        if (::poll(fds, sfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        signalfd_siginfo si{};
        if (sfd >= 0 && (fds[1].revents & POLLIN) && ::read(sfd, &si, sizeof si) == sizeof si) {
            stop_sig = static_cast<int>(si.ssi_signo);
            ::kill(daemon, stop_sig);
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[512];
            ssize_t n = ::read(ready_fd, buf, sizeof buf);
            if (n > 0) {
                msg.append(buf, static_cast<size_t>(n));
                if (msg == "ok") break; // serving: the daemon keeps its end open
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            // EOF: every writer is gone. After a refusal that is the daemon's
            // exit and, with -u, the supervisor's clean-up: when the start
            // command returns, no pid file or socket is left behind.
            break;
        }
    }
    if (sfd >= 0) ::close(sfd);
    return msg;
}

} // namespace

bool daemonize(int& ready_fd) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid > 0) {
        ::close(p[1]);
        int stop_sig = 0;
        std::string msg = wait_for_daemon(p[0], pid, stop_sig);
        if (msg == "ok") ::_exit(0);
        if (msg.empty())
            msg = stop_sig ? std::string("start-up stopped by ") + strsignal(stop_sig)
                           : "daemon exited during start-up";
        std::cerr << "ip25b-milter: " << msg << std::endl;
        ::_exit(1);
    }
    ::close(p[0]);
    ready_fd = p[1];
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
    return true;
}

void report_ready(int& fd, const std::string& msg) {
    if (fd < 0) return;
    [[maybe_unused]] auto n = ::write(fd, msg.data(), msg.size());
    // A refusal leaves the descriptor open until the process exits, after its
    // clean-up: the waiting parent returns at EOF, so only then.
    if (msg == "ok") ::close(fd);
    fd = -1;
}

void fork_supervisor(const std::function<void()>& cleanup) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
        sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr); // SIGCHLD must not be lost before sigwait
    pid_t child = ::fork();
    if (child < 0) {
        std::cerr << "ip25b-milter: cannot fork: " << errno_text() << std::endl;
        cleanup();
        ::_exit(1);
    }
    if (child == 0) {
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);
        return;
    }
    // The ready pipe stays open here until the clean-up is done (_exit closes it).
    int status = 0;
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        pid_t r = ::waitpid(child, &status, WNOHANG);
        if (r == child) break;
    }
    cleanup();
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

} // namespace ip25b::milter
