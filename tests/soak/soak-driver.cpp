// soak-driver.cpp — the MTA side of the milter protocol at soak volume (ip25b-soak).
//
// Drives up to --sessions milter sessions (bounded by --time-limit) against
// ip25b-milter on 127.0.0.1, CONC at a time, from one epoll loop, while it
//   - sends the milter SIGUSR1 every --reload-every seconds,
//   - runs --dns-restart-cmd (kill NSD, wait, start it again) every --dns-restart-every s,
//   - drops some clients mid-session (socket closed after CONNECT or after MAIL),
//   - holds --idle connections open (negotiated, CONNECT sent, then silent) for a window,
//   - samples the milter's RSS, FDs and threads from /proc every second,
// then reads the decision log and checks one whole JSON record per judged session.
//
// Client addresses are 127.<10+class>.X.Y, class 0 dynamic PTR (rejected: 5xx is right),
// 1 static PTR, 2 no PTR, 3 PTR whose lookup fails (SERVFAIL): tests/soak/gen-soak-zones.py
// writes the zones with the same plan. A 5xx for any class but dynamic is a fault; its
// cause is read from the record (ptr_status tempfail: DNS; anything else: internal).
// The addresses are only data inside milter messages: all traffic stays on loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t SMFIP_NOCONNECT = 0x1, SMFIP_NOHELO = 0x2, SMFIP_NOMAIL = 0x4,
                   SMFIP_NORCPT = 0x8, SMFIP_NR_CONN = 0x1000, SMFIP_NR_HELO = 0x2000,
                   SMFIP_NR_MAIL = 0x4000, SMFIP_NR_RCPT = 0x8000;
constexpr int n_classes = 4;
const char* class_names[n_classes] = {"dynamic", "static", "no-ptr", "dns-failure"};

struct Options {
    int port = 0;
    uint64_t sessions = 1000000;
    double time_limit = 3600;
    int concurrency = 32;
    pid_t pid = 0;
    double reload_every = 3;
    std::string dns_restart_cmd;
    double dns_restart_every = 30;
    int idle = 2000;
    double idle_at = 20, idle_hold = 60;
    double drop_connect = 0.01, drop_mail = 0.01;
    unsigned hosts = 4096; // addresses per class (must match the zones)
    std::string log;
    double warmup = 10;
    double session_timeout = 30;
    double max_latency = 10; // a session slower than this (s) is starved, not just slow DNS
    double rate = 0;         // sessions started per second at most; 0: as fast as the milter goes
    std::string samples_csv;
};

// One session's outcome, kept for the record check: 1M of these is 4 MB.
struct Outcome {
    uint8_t cls = 0;
    char code = 0;     // last reply code ('a', 'y', 't', 'r', 'c'); 0 = not finished
    uint8_t first = 0; // 'y': first digit of the SMTP code
    uint8_t flags = 0; // 1 dropped, 2 failed (error/timeout), 4 judged at RCPT
};

enum class Step { Connecting, Optneg, Connect, Helo, Mail, Rcpt, Quit, Idle };

struct Conn {
    int fd = -1;
    bool idle = false;
    uint64_t serial = 0;
    Step step = Step::Connecting;
    uint32_t proto = 0;
    std::string in, out;
    Clock::time_point started;
    int drop_after = 0; // 1: after CONNECT, 2: after MAIL
};

uint64_t mix(uint64_t x) { // splitmix64: a reproducible spread of classes and hosts
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// 40% dynamic, 30% static, 20% no PTR, 10% failing lookup.
int class_of(uint64_t serial) {
    unsigned r = mix(serial) % 10;
    return r < 4 ? 0 : r < 7 ? 1 : r < 9 ? 2 : 3;
}

std::string address_of(uint64_t serial, unsigned hosts) {
    unsigned h = static_cast<unsigned>(mix(serial ^ 0xabcdef) % hosts) + 1;
    return "127." + std::to_string(10 + class_of(serial)) + "." + std::to_string(h >> 8) + "." +
           std::to_string(h & 0xff);
}

void put_u32(std::string& s, uint32_t v) {
    uint32_t n = htonl(v);
    s.append(reinterpret_cast<const char*>(&n), 4);
}

void packet(std::string& out, char cmd, const std::string& data = {}) {
    put_u32(out, static_cast<uint32_t>(data.size() + 1));
    out.push_back(cmd);
    out += data;
}

void macros(std::string& out, char stage,
            std::initializer_list<std::pair<const char*, std::string>> kv) {
    std::string d(1, stage);
    for (auto& [k, v] : kv) {
        d += k;
        d.push_back('\0');
        d += v;
        d.push_back('\0');
    }
    packet(out, 'D', d);
}

struct Sample {
    double t;
    long rss_kb, fds, threads;
    int idle_open;
    uint64_t done;
};

bool sample_proc(pid_t pid, long& rss, long& threads, long& fds) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    if (!st) return false;
    std::string line;
    rss = threads = fds = -1;
    while (std::getline(st, line)) {
        if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
        if (line.rfind("Threads:", 0) == 0) threads = std::atol(line.c_str() + 8);
    }
    std::error_code ec;
    long n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    fds = ec ? -1 : n;
    return true;
}

// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
    size_t n = x.size();
    if (n < 2) return 0;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; ++i) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    return sxx > 0 ? sxy / sxx : 0;
}

double arg_num(const char* s, const char* name) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (!s[0] || *end) {
        std::cerr << "ip25b-soak: " << name << ": not a number: " << s << "\n";
        std::exit(2);
    }
    return v;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::cerr << "ip25b-soak: " << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--port")
            o.port = static_cast<int>(arg_num(val(), "--port"));
        else if (a == "--sessions")
            o.sessions = static_cast<uint64_t>(arg_num(val(), "--sessions"));
        else if (a == "--time-limit")
            o.time_limit = arg_num(val(), "--time-limit");
        else if (a == "--concurrency")
            o.concurrency = static_cast<int>(arg_num(val(), "--concurrency"));
        else if (a == "--pid")
            o.pid = static_cast<pid_t>(arg_num(val(), "--pid"));
        else if (a == "--reload-every")
            o.reload_every = arg_num(val(), "--reload-every");
        else if (a == "--dns-restart-cmd")
            o.dns_restart_cmd = val();
        else if (a == "--dns-restart-every")
            o.dns_restart_every = arg_num(val(), "--dns-restart-every");
        else if (a == "--idle")
            o.idle = static_cast<int>(arg_num(val(), "--idle"));
        else if (a == "--idle-at")
            o.idle_at = arg_num(val(), "--idle-at");
        else if (a == "--idle-hold")
            o.idle_hold = arg_num(val(), "--idle-hold");
        else if (a == "--drop-connect")
            o.drop_connect = arg_num(val(), "--drop-connect");
        else if (a == "--drop-mail")
            o.drop_mail = arg_num(val(), "--drop-mail");
        else if (a == "--hosts")
            o.hosts = static_cast<unsigned>(arg_num(val(), "--hosts"));
        else if (a == "--log")
            o.log = val();
        else if (a == "--warmup")
            o.warmup = arg_num(val(), "--warmup");
        else if (a == "--session-timeout")
            o.session_timeout = arg_num(val(), "--session-timeout");
        else if (a == "--samples")
            o.samples_csv = val();
        else if (a == "--rate")
            o.rate = arg_num(val(), "--rate");
        else if (a == "--max-latency")
            o.max_latency = arg_num(val(), "--max-latency");
        else {
            std::cerr
                << "usage: ip25b-soak --port P --pid PID --log DECISIONS.jsonl [--sessions N]\n"
                   "  [--time-limit S] [--concurrency C] [--reload-every S]\n"
                   "  [--dns-restart-cmd CMD --dns-restart-every S] [--idle N --idle-at S\n"
                   "  --idle-hold S] [--drop-connect F] [--drop-mail F] [--hosts N]\n"
                   "  [--warmup S] [--session-timeout S] [--samples FILE.csv] [--rate N]\n"
                   "  [--max-latency S]\n";
            std::exit(2);
        }
    }
    if (o.port <= 0 || o.pid <= 0 || o.log.empty() || o.hosts < 1 || o.hosts > 65535) {
        std::cerr << "ip25b-soak: --port, --pid and --log are required; --hosts is 1..65535\n";
        std::exit(2);
    }
    return o;
}

class Driver {
  public:
    explicit Driver(const Options& o) : o_(o), outcomes_(o.sessions) {}

    int run();

  private:
    const Options& o_;
    std::vector<Outcome> outcomes_;
    std::unordered_map<int, Conn> conns_;
    int ep_ = -1;
    uint64_t next_ = 0, finished_ = 0, active_ = 0;
    uint64_t quit_unclosed_ = 0; // answered, but the milter did not close after QUIT
    uint64_t dropped_connect_ = 0, dropped_mail_ = 0, errors_ = 0, timeouts_ = 0;
    std::vector<std::string> error_samples_;
    int idle_open_ = 0, idle_max_ = 0, idle_opened_ = 0, idle_closed_by_milter_ = 0;
    int idle_failed_ = 0;
    double idle_first_close_ = -1;
    bool idle_phase_done_ = false;
    Clock::time_point t0_, idle_started_;
    // Session latency (ms) outside and during the idle window.
    std::vector<uint32_t> lat_normal_, lat_idle_;
    std::atomic<bool> stop_{false};
    std::atomic<int> reloads_{0}, dns_restarts_{0}, dns_restart_failures_{0};
    std::atomic<uint64_t> done_shared_{0};
    std::atomic<int> idle_shared_{0};
    std::mutex samples_m_;
    std::vector<Sample> samples_;
    bool milter_gone_ = false;
    double elapsed_ = 0;
    bool stopped_by_time_ = false;

    double now() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
    bool open_conn(Conn& c);
    void start_session();
    void start_idle();
    void end_idle();
    void on_event(int fd, uint32_t events);
    bool advance(Conn& c); // false: the connection is finished (closed)
    void finish(Conn& c, char code, uint8_t first, uint8_t flags);
    void fail(Conn& c, const std::string& why, bool timeout = false);
    void close_conn(Conn& c);
    bool flush(Conn& c);
    void send_step(Conn& c);
    void background();
    int report();
};

bool Driver::open_conn(Conn& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(o_.port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        ::close(c.fd);
        c.fd = -1;
        return false;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c.fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.step = Step::Connecting;
    c.started = Clock::now();
    std::string opt;
    put_u32(opt, 6);
    put_u32(opt, 0x1FF);
    put_u32(opt, 0x1FFFFF);
    packet(c.out, 'O', opt);
    return true;
}

void Driver::start_session() {
    Conn c;
    c.serial = next_++;
    double r = (mix(c.serial ^ 0x5555) % 1000000) / 1e6;
    c.drop_after = r < o_.drop_connect ? 1 : r < o_.drop_connect + o_.drop_mail ? 2 : 0;
    outcomes_[c.serial].cls = static_cast<uint8_t>(class_of(c.serial));
    if (!open_conn(c)) {
        ++errors_;
        outcomes_[c.serial].flags |= 2;
        ++finished_;
        if (error_samples_.size() < 5)
            error_samples_.push_back("socket/connect: " + std::string(std::strerror(errno)));
        return;
    }
    ++active_;
    conns_.emplace(c.fd, std::move(c));
}

void Driver::start_idle() {
    idle_started_ = Clock::now();
    for (int i = 0; i < o_.idle; ++i) {
        Conn c;
        c.idle = true;
        c.serial = i;
        if (!open_conn(c)) {
            ++idle_failed_;
            continue;
        }
        ++idle_open_;
        ++idle_opened_;
        conns_.emplace(c.fd, std::move(c));
    }
    idle_max_ = std::max(idle_max_, idle_open_);
}

void Driver::end_idle() {
    std::vector<int> fds;
    for (auto& [fd, c] : conns_)
        if (c.idle) fds.push_back(fd);
    for (int fd : fds) {
        Conn& c = conns_.at(fd);
        std::string q;
        packet(q, 'Q');
        [[maybe_unused]] auto n = ::send(fd, q.data(), q.size(), MSG_NOSIGNAL);
        close_conn(c);
    }
    idle_phase_done_ = true;
}

void Driver::close_conn(Conn& c) {
    int fd = c.fd;
    if (c.idle)
        --idle_open_;
    else
        --active_;
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
}

void Driver::finish(Conn& c, char code, uint8_t first, uint8_t flags) {
    Outcome& out = outcomes_[c.serial];
    out.code = code;
    out.first = first;
    out.flags |= flags;
    ++finished_;
    auto ms = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - c.started).count());
    (idle_open_ > 0 ? lat_idle_ : lat_normal_).push_back(ms);
}

void Driver::fail(Conn& c, const std::string& why, bool timeout) {
    if (c.idle) {
        if (idle_first_close_ < 0)
            idle_first_close_ = std::chrono::duration<double>(Clock::now() - idle_started_).count();
        ++idle_closed_by_milter_;
        close_conn(c);
        // Keep the count held for the whole window: a new idle connection
        // replaces each one the milter timed out.
        if (!idle_phase_done_) {
            Conn n;
            n.idle = true;
            n.serial = static_cast<uint64_t>(idle_opened_);
            if (open_conn(n)) {
                ++idle_open_;
                ++idle_opened_;
                conns_.emplace(n.fd, std::move(n));
            } else {
                ++idle_failed_;
            }
        }
        return;
    }
    (timeout ? timeouts_ : errors_)++;
    if (error_samples_.size() < 8)
        error_samples_.push_back("session " + std::to_string(c.serial) + ": " + why);
    finish(c, 0, 0, 2);
    close_conn(c);
}

bool Driver::flush(Conn& c) {
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return false;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : EPOLLOUT);
    ev.data.fd = c.fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    return true;
}

// Queues the next stage's macros and command for c.step (already set to the
// stage awaiting its answer); skips stages the milter negotiated away.
void Driver::send_step(Conn& c) {
    for (;;) {
        // Appended, not "lit" + std::string: GCC 12 warns falsely (-Wrestrict) on that at -O3.
        std::string ip = c.idle
                             ? std::string("127.11.0.").append(std::to_string(1 + c.serial % 200))
                             : address_of(c.serial, o_.hosts);
        std::string qid = std::string("S").append(std::to_string(c.serial));
        uint32_t skip = 0, nr = 0;
        switch (c.step) {
        case Step::Connect: {
            skip = SMFIP_NOCONNECT;
            nr = SMFIP_NR_CONN;
            if (c.proto & skip) break;
            uint16_t port = htons(static_cast<uint16_t>(20000 + c.serial % 40000));
            macros(c.out, 'C',
                   {{"j", "mx.soak.test"},
                    {"{daemon_name}", "smtpd"},
                    {"{daemon_port}", "25"},
                    {"{client_addr}", ip},
                    {"{client_port}", std::to_string(ntohs(port))},
                    {"{client_ptr}", ""},
                    {"_", "unknown [" + ip + "]"}});
            std::string d = "[" + ip + "]";
            d.push_back('\0');
            d.push_back('4');
            d.append(reinterpret_cast<const char*>(&port), 2);
            d += ip;
            d.push_back('\0');
            packet(c.out, 'C', d);
            break;
        }
        case Step::Helo:
            skip = SMFIP_NOHELO;
            nr = SMFIP_NR_HELO;
            if (c.proto & skip) break;
            packet(c.out, 'H', std::string("client.soak.test") + '\0');
            break;
        case Step::Mail:
            skip = SMFIP_NOMAIL;
            nr = SMFIP_NR_MAIL;
            if (c.proto & skip) break;
            macros(c.out, 'M', {{"i", qid}, {"{mail_addr}", "soak@example.net"}});
            packet(c.out, 'M', std::string("<soak@example.net>") + '\0');
            break;
        case Step::Rcpt:
            skip = SMFIP_NORCPT;
            nr = SMFIP_NR_RCPT;
            if (c.proto & skip) break;
            macros(c.out, 'R', {{"i", qid}, {"{rcpt_addr}", "rcpt@soak.test"}});
            packet(c.out, 'R', std::string("<rcpt@soak.test>") + '\0');
            break;
        default:
            return;
        }
        // Waiting for an answer unless the stage was skipped or has none.
        if (!(c.proto & skip) && !(c.proto & nr)) return;
        c.step = static_cast<Step>(static_cast<int>(c.step) + 1);
        if (c.step == Step::Quit) return;
    }
}

bool Driver::advance(Conn& c) {
    // Complete packets only; progress notes ('p') are skipped.
    for (;;) {
        if (c.in.size() < 4) return true;
        uint32_t len;
        std::memcpy(&len, c.in.data(), 4);
        len = ntohl(len);
        if (len < 1 || len > (1u << 20)) {
            fail(c, "bad reply length " + std::to_string(len));
            return false;
        }
        if (c.in.size() < 4 + len) return true;
        char code = c.in[4];
        std::string data = c.in.substr(5, len - 1);
        c.in.erase(0, 4 + len);
        if (code == 'p') continue;
        if (c.step == Step::Optneg) {
            if (code != 'O' || data.size() < 12) {
                fail(c, std::string("negotiation answered '") + code + "'");
                return false;
            }
            uint32_t p;
            std::memcpy(&p, data.data() + 8, 4);
            c.proto = ntohl(p);
            c.step = Step::Connect;
            send_step(c);
            if (!flush(c)) {
                fail(c, "send failed");
                return false;
            }
            if (c.idle) c.step = Step::Idle;
            continue;
        }
        if (c.idle) continue; // the CONNECT answer of an idle connection
        uint8_t first = 0;
        if (code == 'y' && !data.empty()) first = static_cast<uint8_t>(data[0] - '0');
        bool judged = c.step == Step::Rcpt || code != 'c';
        if (code != 'c' || c.step == Step::Rcpt) {
            // The session's answer (or an earlier refusal): ABORT, QUIT, and
            // let the milter close first so TIME_WAIT stays on its side.
            finish(c, code, first, judged ? 4 : 0);
            packet(c.out, 'A');
            packet(c.out, 'Q');
            c.step = Step::Quit;
            if (!flush(c)) {
                close_conn(c);
                return false;
            }
            continue;
        }
        if ((c.step == Step::Connect && c.drop_after == 1) ||
            (c.step == Step::Mail && c.drop_after == 2)) {
            (c.drop_after == 1 ? dropped_connect_ : dropped_mail_)++;
            finish(c, 'c', 0, 1);
            close_conn(c);
            return false;
        }
        c.step = static_cast<Step>(static_cast<int>(c.step) + 1);
        send_step(c);
        if (!flush(c)) {
            fail(c, "send failed");
            return false;
        }
    }
}

void Driver::on_event(int fd, uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.step == Step::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            fail(c, std::string("connect: ") + std::strerror(err));
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLIN))) return;
        c.step = Step::Optneg;
    }
    if (!flush(c)) {
        if (c.step == Step::Quit)
            close_conn(c);
        else
            fail(c, std::string("send: ") + std::strerror(errno));
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        char buf[16384];
        for (;;) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.in.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            // EOF or error: normal after QUIT, otherwise the milter dropped us.
            if (!advance(c)) return;
            if (c.step == Step::Quit)
                close_conn(c);
            else
                fail(c, n == 0 ? "milter closed the connection" : std::strerror(errno));
            return;
        }
        advance(c);
    }
}

void Driver::background() {
    auto next_reload = Clock::now() + std::chrono::duration<double>(o_.reload_every);
    auto next_dns = Clock::now() + std::chrono::duration<double>(o_.dns_restart_every);
    auto next_sample = Clock::now();
    std::thread dns_thread;
    std::atomic<bool> dns_busy{false};
    while (!stop_) {
        auto t = Clock::now();
        if (t >= next_sample) {
            long rss, thr, fds;
            if (sample_proc(o_.pid, rss, thr, fds)) {
                std::lock_guard lock(samples_m_);
                samples_.push_back({std::chrono::duration<double>(t - t0_).count(), rss, fds, thr,
                                    idle_shared_.load(), done_shared_.load()});
            }
            next_sample += std::chrono::seconds(1);
        }
        if (o_.reload_every > 0 && t >= next_reload) {
            if (kill(o_.pid, SIGUSR1) == 0) ++reloads_;
            next_reload += std::chrono::duration<double>(o_.reload_every);
        }
        if (!o_.dns_restart_cmd.empty() && o_.dns_restart_every > 0 && t >= next_dns && !dns_busy) {
            if (dns_thread.joinable()) dns_thread.join();
            dns_busy = true;
            dns_thread = std::thread([this, &dns_busy] {
                int rc = std::system(o_.dns_restart_cmd.c_str());
                (rc == 0 ? dns_restarts_ : dns_restart_failures_)++;
                dns_busy = false;
            });
            next_dns = t + std::chrono::duration<double>(o_.dns_restart_every);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (dns_thread.joinable()) dns_thread.join();
}

int Driver::run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    t0_ = Clock::now();
    std::thread bg([this] { background(); });
    const auto limit = t0_ + std::chrono::duration<double>(o_.time_limit);
    const auto sess_timeout = std::chrono::duration<double>(o_.session_timeout);
    epoll_event evs[256];
    auto last_sweep = Clock::now();
    auto last_progress = Clock::now();
    bool stopped_by_time = false;
    while (true) {
        auto t = Clock::now();
        if (t >= limit && !stopped_by_time) stopped_by_time = true;
        if (kill(o_.pid, 0) != 0 && errno == ESRCH) {
            milter_gone_ = true;
            break;
        }
        if (o_.idle > 0 && !idle_phase_done_ && idle_opened_ == 0 && now() >= o_.idle_at)
            start_idle();
        if (idle_opened_ > 0 && !idle_phase_done_ &&
            (o_.idle_hold > 0 &&
             std::chrono::duration<double>(t - idle_started_).count() >= o_.idle_hold))
            end_idle();
        const double allowed = o_.rate > 0 ? o_.rate * now() + 1 : 1e300;
        while (!stopped_by_time && next_ < o_.sessions &&
               active_ < static_cast<uint64_t>(o_.concurrency) &&
               static_cast<double>(next_) < allowed)
            start_session();
        if (active_ == 0 && (stopped_by_time || next_ >= o_.sessions)) break;
        int n = epoll_wait(ep_, evs, 256, 100);
        for (int i = 0; i < n; ++i)
            on_event(evs[i].data.fd, evs[i].events);
        if (t - last_sweep > std::chrono::seconds(1)) {
            last_sweep = t;
            std::vector<int> late;
            for (auto& [fd, c] : conns_)
                if (!c.idle && t - c.started > sess_timeout) late.push_back(fd);
            for (int fd : late) {
                Conn& c = conns_.at(fd);
                // Answered already, only the milter's close is missing.
                if (c.step == Step::Quit) {
                    ++quit_unclosed_;
                    close_conn(c);
                    continue;
                }
                fail(c,
                     "no answer within the session timeout (step " +
                         std::to_string(static_cast<int>(conns_.at(fd).step)) + ")",
                     true);
            }
        }
        done_shared_ = finished_;
        idle_shared_ = idle_open_;
        if (t - last_progress > std::chrono::seconds(30)) {
            last_progress = t;
            std::fprintf(stderr, "ip25b-soak: %.0f s: %llu sessions done, %d idle held\n", now(),
                         static_cast<unsigned long long>(finished_), idle_open_);
        }
    }
    if (!idle_phase_done_ && idle_opened_ > 0) end_idle();
    elapsed_ = now();
    stopped_by_time_ = stopped_by_time;
    // Records are written at xxfi_close, a moment after our QUIT: wait until
    // the log stops growing (bounded).
    uintmax_t last = 0;
    for (int i = 0; i < 50; ++i) {
        std::error_code ec;
        uintmax_t size = std::filesystem::file_size(o_.log, ec);
        if (i > 3 && size == last) break;
        last = size;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    stop_ = true;
    bg.join();
    ::close(ep_);
    return report();
}

} // namespace

namespace {

std::string pct(std::vector<uint32_t> v, double q) {
    if (v.empty()) return "-";
    size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1)));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return std::to_string(v[k]) + " ms";
}

int Driver::report() {
    // Decision records: every line one whole JSON object; one per judged session.
    std::vector<uint8_t> seen(o_.sessions, 0);
    std::unordered_map<uint64_t, std::string> ptr_status_of; // for the 5xx causes
    uint64_t lines = 0, torn = 0, foreign = 0, mismatch = 0;
    std::vector<std::string> torn_samples, mismatch_samples;
    {
        std::ifstream in(o_.log, std::ios::binary);
        std::string line;
        while (std::getline(in, line)) {
            ++lines;
            bool last_unterminated = in.eof();
            nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
            if (last_unterminated || j.is_discarded() || !j.is_object() ||
                !j.contains("queue_id") || !j.contains("action")) {
                ++torn;
                if (torn_samples.size() < 3) torn_samples.push_back(line.substr(0, 200));
                continue;
            }
            std::string q = j.value("queue_id", "");
            char* end = nullptr;
            uint64_t n = q.size() > 1 && q[0] == 'S' ? std::strtoull(q.c_str() + 1, &end, 10) : 0;
            if (!end || *end || n >= o_.sessions) {
                ++foreign;
                continue;
            }
            if (seen[n] < 255) ++seen[n];
            const Outcome& out = outcomes_[n];
            std::string action = j.value("action", "");
            bool five = (out.code == 'y' && out.first == 5) || out.code == 'r';
            bool four = (out.code == 'y' && out.first == 4) || out.code == 't';
            bool ok = (action == "reject" && five) || (action == "tempfail" && four) ||
                      (action == "accept" && out.code == 'a') ||
                      ((action == "tag" || action == "log-only") && out.code == 'c');
            if (out.code && !ok) {
                ++mismatch;
                if (mismatch_samples.size() < 3)
                    mismatch_samples.push_back(q + ": wire '" + std::string(1, out.code) +
                                               "' record " + action);
            }
            if (five && out.cls != 0) ptr_status_of[n] = j.value("ptr_status", "");
        }
    }
    uint64_t judged = 0, lost = 0, dup = 0, dropped_with_record = 0;
    uint64_t by_class[n_classes][5] = {}; // accept, 4xx, 5xx, continue, failed
    uint64_t five_ok = 0, five_dns = 0, five_internal = 0;
    std::vector<std::string> lost_samples, fault_samples;
    for (uint64_t i = 0; i < next_; ++i) {
        const Outcome& out = outcomes_[i];
        if (out.flags & 1) {
            if (seen[i]) ++dropped_with_record;
            continue;
        }
        bool five = (out.code == 'y' && out.first == 5) || out.code == 'r';
        bool four = (out.code == 'y' && out.first == 4) || out.code == 't';
        int col = out.flags & 2 ? 4 : out.code == 'a' ? 0 : four ? 1 : five ? 2 : 3;
        ++by_class[out.cls][col];
        if (!(out.flags & 4)) continue;
        ++judged;
        if (!seen[i]) {
            ++lost;
            if (lost_samples.size() < 3) lost_samples.push_back("S" + std::to_string(i));
        }
        if (seen[i] > 1) ++dup;
        if (five) {
            if (out.cls == 0) {
                ++five_ok;
            } else {
                const std::string& ps = ptr_status_of[i];
                bool dns = ps == "tempfail" || ps == "timeout" || ps.empty();
                (dns ? five_dns : five_internal)++;
                if (fault_samples.size() < 5)
                    fault_samples.push_back("S" + std::to_string(i) + " class " +
                                            class_names[out.cls] + " ptr_status '" + ps + "'");
            }
        }
    }

    std::printf("== ip25b soak report ==\n");
    std::printf("sessions:     %llu of %llu started, %llu finished in %.1f s (%.0f sessions/s)%s\n",
                static_cast<unsigned long long>(next_),
                static_cast<unsigned long long>(o_.sessions),
                static_cast<unsigned long long>(finished_), elapsed_,
                elapsed_ > 0 ? finished_ / elapsed_ : 0.0,
                stopped_by_time_ ? "  [stopped at the time limit]" : "");
    std::printf("concurrency:  %d; reloads sent: %d; DNS restarts: %d (%d failed)\n",
                o_.concurrency, reloads_.load(), dns_restarts_.load(),
                dns_restart_failures_.load());
    std::printf("drops:        %llu after CONNECT, %llu after MAIL (%llu left a record)\n",
                static_cast<unsigned long long>(dropped_connect_),
                static_cast<unsigned long long>(dropped_mail_),
                static_cast<unsigned long long>(dropped_with_record));
    std::printf(
        "idle conns:   %d opened (%d failed to open), max %d held; %d closed by the milter"
        "%s\n",
        idle_opened_, idle_failed_, idle_max_, idle_closed_by_milter_,
        idle_first_close_ >= 0
            ? (" (first after " + std::to_string(static_cast<int>(idle_first_close_)) + " s)")
                  .c_str()
            : "");
    std::printf("latency:      idle not held: p50 %s p99 %s max %s; idle held: p50 %s p99 %s max "
                "%s (%zu sessions)\n",
                pct(lat_normal_, 0.5).c_str(), pct(lat_normal_, 0.99).c_str(),
                pct(lat_normal_, 1).c_str(), pct(lat_idle_, 0.5).c_str(),
                pct(lat_idle_, 0.99).c_str(), pct(lat_idle_, 1).c_str(), lat_idle_.size());
    std::printf(
        "failures:     %llu errors, %llu timeouts (> %.0f s), %llu not closed after QUIT%s\n",
        static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(timeouts_),
        o_.session_timeout, static_cast<unsigned long long>(quit_unclosed_),
        milter_gone_ ? "; THE MILTER EXITED" : "");
    for (auto& e : error_samples_)
        std::printf("              e.g. %s\n", e.c_str());
    std::printf("answers:      %-12s %9s %9s %9s %9s %9s\n", "class", "accept", "4xx", "5xx",
                "continue", "failed");
    for (int k = 0; k < n_classes; ++k)
        std::printf("              %-12s %9llu %9llu %9llu %9llu %9llu\n", class_names[k],
                    static_cast<unsigned long long>(by_class[k][0]),
                    static_cast<unsigned long long>(by_class[k][1]),
                    static_cast<unsigned long long>(by_class[k][2]),
                    static_cast<unsigned long long>(by_class[k][3]),
                    static_cast<unsigned long long>(by_class[k][4]));
    std::printf("5xx:          %llu dynamic (correct), %llu caused by DNS, %llu internal/other\n",
                static_cast<unsigned long long>(five_ok), static_cast<unsigned long long>(five_dns),
                static_cast<unsigned long long>(five_internal));
    for (auto& e : fault_samples)
        std::printf("              e.g. %s\n", e.c_str());
    std::printf("records:      %llu lines; %llu judged sessions; lost %llu, duplicated %llu, torn "
                "%llu, reply/record mismatch %llu, foreign %llu\n",
                static_cast<unsigned long long>(lines), static_cast<unsigned long long>(judged),
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dup),
                static_cast<unsigned long long>(torn), static_cast<unsigned long long>(mismatch),
                static_cast<unsigned long long>(foreign));
    for (auto& e : lost_samples)
        std::printf("              lost e.g. %s\n", e.c_str());
    for (auto& e : torn_samples)
        std::printf("              torn e.g. %s\n", e.c_str());
    for (auto& e : mismatch_samples)
        std::printf("              mismatch e.g. %s\n", e.c_str());

    // Resources: warm-up and end are taken with no idle connection held, so
    // the slope shows growth, not the idle window.
    std::vector<Sample> s;
    {
        std::lock_guard lock(samples_m_);
        s = samples_;
    }
    // The idle window, and 10 s after it while the milter closes those FDs,
    // are left out of warm-up, end and slope.
    double idle_from = -1, idle_to = -1;
    for (auto& x : s)
        if (x.idle_open > 0) {
            if (idle_from < 0) idle_from = x.t;
            idle_to = x.t + 10;
        }
    std::vector<Sample> calm;
    for (auto& x : s)
        if (x.t >= o_.warmup && !(idle_from >= 0 && x.t >= idle_from - 1 && x.t <= idle_to))
            calm.push_back(x);
    long idle_fds = 0, idle_thr = 0, max_rss = 0;
    for (auto& x : s) {
        max_rss = std::max(max_rss, x.rss_kb);
        if (x.idle_open > 0) {
            idle_fds = std::max(idle_fds, x.fds);
            idle_thr = std::max(idle_thr, x.threads);
        }
    }
    if (calm.size() >= 2) {
        std::vector<double> xs, rss, fds, thr;
        for (auto& x : calm) {
            xs.push_back(static_cast<double>(x.done) / 100000.0);
            rss.push_back(static_cast<double>(x.rss_kb));
            fds.push_back(static_cast<double>(x.fds));
            thr.push_back(static_cast<double>(x.threads));
        }
        const Sample &a = calm.front(), &b = calm.back();
        std::printf("resources:    %-8s %12s %12s %14s   (%zu samples, 1/s; warm-up %.0f s; "
                    "%llu sessions between)\n",
                    "", "warm-up", "end", "slope/100k", s.size(), o_.warmup,
                    static_cast<unsigned long long>(b.done - a.done));
        std::printf("              %-8s %9ld KB %9ld KB %11.0f KB   max %ld KB\n", "RSS", a.rss_kb,
                    b.rss_kb, slope(xs, rss), max_rss);
        std::printf("              %-8s %12ld %12ld %14.2f   max %ld with idle held\n", "FDs",
                    a.fds, b.fds, slope(xs, fds), idle_fds);
        std::printf("              %-8s %12ld %12ld %14.2f   max %ld with idle held\n", "threads",
                    a.threads, b.threads, slope(xs, thr), idle_thr);
    } else {
        std::printf("resources:    too few samples after warm-up (%zu)\n", calm.size());
    }
    if (!o_.samples_csv.empty()) {
        std::ofstream csv(o_.samples_csv);
        csv << "t,rss_kb,fds,threads,idle_open,sessions_done\n";
        for (auto& x : s)
            csv << x.t << ',' << x.rss_kb << ',' << x.fds << ',' << x.threads << ',' << x.idle_open
                << ',' << x.done << '\n';
    }

    std::vector<std::string> bad;
    if (milter_gone_) bad.push_back("the milter exited");
    if (lost) bad.push_back("lost records");
    if (dup) bad.push_back("duplicated records");
    if (torn) bad.push_back("torn records");
    if (mismatch) bad.push_back("records disagree with replies");
    if (five_dns || five_internal) bad.push_back("5xx not caused by a dynamic PTR");
    if (errors_ || timeouts_) bad.push_back("sessions failed or timed out");
    if (quit_unclosed_) bad.push_back("the milter kept connections open after QUIT");
    // DNS trouble costs a session at most the DNS deadline; far more than that
    // is starvation (issue 10: idle connections under a 1,024-FD limit).
    uint64_t starved = 0;
    for (auto* v : {&lat_normal_, &lat_idle_})
        for (uint32_t ms : *v)
            starved += ms > o_.max_latency * 1000 ? 1 : 0;
    if (starved)
        bad.push_back(std::to_string(starved) + " sessions slower than " +
                      std::to_string(static_cast<int>(o_.max_latency)) + " s");
    if (finished_ == 0) bad.push_back("no session finished");
    // A run too short for its disturbances proves nothing about them.
    if (o_.reload_every > 0 && reloads_ == 0) bad.push_back("no reload happened");
    if (!o_.dns_restart_cmd.empty() && o_.dns_restart_every > 0 && dns_restarts_ == 0)
        bad.push_back("no DNS restart happened");
    if (dns_restart_failures_) bad.push_back("a DNS restart failed");
    if (o_.idle > 0 && idle_opened_ == 0) bad.push_back("no idle connection was held");
    if (dropped_connect_ + dropped_mail_ == 0 && o_.drop_connect + o_.drop_mail > 0)
        bad.push_back("no client dropped");
    std::printf("verdict:      %s", bad.empty() ? "PASS" : "FAIL:");
    for (auto& b : bad)
        std::printf(" %s;", b.c_str());
    std::printf("\n");
    return bad.empty() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    // Idle connections plus sessions: lift our own soft FD limit to the hard one.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (static_cast<long>(rl.rlim_cur) < o.idle + o.concurrency + 64) {
            std::cerr << "ip25b-soak: RLIMIT_NOFILE hard limit " << rl.rlim_cur << " is below "
                      << o.idle + o.concurrency + 64 << " (idle + concurrency)\n";
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    Driver d(o);
    return d.run();
}
