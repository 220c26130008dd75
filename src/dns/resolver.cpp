// resolver.cpp — PTR lookups through one c-ares channel owned by one thread; see resolver.hpp.
//
// Threads: callers touch only the cache, the atomic counters and the request queue (under
// `qmu`); everything else — the channel, the jobs, the deadlines — belongs to the loop
// thread. A Job is one address being resolved; it lives until its last DNS query has
// answered (so c-ares callbacks never see a dead job), while its waiters may leave earlier
// at their deadlines.
#include "ip25b/resolver.hpp"

#include "ip25b/dns_name.hpp"
#include "ip25b/dns_wire.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <system_error>
#include <thread>

namespace ip25b {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kNoTtl = std::numeric_limits<uint32_t>::max();

struct Request {
    IpAddress addr;
    Resolver::Callback done;
    Clock::time_point start, deadline;
    bool blocking = false; // lookup(): the caller keeps its own deadline
};

struct Waiter {
    uint64_t id;
    Clock::time_point start;
    Resolver::Callback done;
    bool blocking;
};

// The forward check of one PTR name.
struct NameCheck {
    enum State : uint8_t { Pending, Confirmed, NotConfirmed, Failed };
    std::string name;
    State state = Pending;
    unsigned hops = 0;
    uint32_t ttl = kNoTtl;
    std::string why;
};

struct Job {
    IpAddress addr;
    std::vector<Waiter> waiters;
    unsigned pending = 0; // DNS queries sent and not yet answered
    unsigned ptr_hops = 0;
    uint32_t ttl = kNoTtl;
    std::vector<std::string> names;
    std::vector<NameCheck> checks;
    std::string rejected;            // why a PTR name was not used, when others were
    std::optional<PtrResult> result; // set when the outcome is known before the checks
};

struct Deadline {
    Clock::time_point when;
    uint64_t id;
    IpAddress addr;
    bool operator>(const Deadline& o) const { return when > o.when; }
};

std::string describe(int status) {
    switch (status) {
    case ARES_ETIMEOUT:
        return "timeout";
    case ARES_ESERVFAIL:
        return "SERVFAIL";
    case ARES_EREFUSED:
        return "REFUSED";
    case ARES_EFORMERR:
        return "FORMERR";
    case ARES_ENOTIMP:
        return "NOTIMP";
    case ARES_ECONNREFUSED:
        return "connection refused";
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return "resolver shut down";
    case ARES_ENOTFOUND:
        return "NXDOMAIN";
    case ARES_ENODATA:
        return "NODATA";
    default:
        return ares_strerror(status);
    }
}

PtrResult make_result(PtrStatus status, std::string detail, uint32_t ttl = 0) {
    PtrResult r;
    r.status = status;
    r.detail = std::move(detail);
    r.ttl = ttl;
    return r;
}

// Runs a caller's callback on the loop thread; an exception from it must not take the
// loop (and every other caller) down, so it is dropped.
void deliver(Resolver::Callback& done, PtrResult r) {
    try {
        done(std::move(r));
    } catch (...) {
    }
}

// A name we can hand back to ares_query: printable ASCII, no spaces or NULs.
bool queryable(const std::string& name) {
    if (name.empty() || name.size() > 1024) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7F; });
}

} // namespace

struct Resolver::Impl {
    ResolverOptions opt;
    PtrCache cache;
    ares_channel channel = nullptr;
    int efd = -1;
    std::thread thread;

    std::mutex qmu;
    std::vector<Request> queue; // guarded by qmu
    bool stopping = false;      // guarded by qmu

    // Loop thread only.
    std::map<IpAddress, std::unique_ptr<Job>> jobs;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
    std::vector<pollfd> socks;
    bool shutting_down = false;
    uint64_t next_id = 1;

    std::atomic<uint64_t> n_lookups{0}, n_hits{0}, n_misses{0}, n_joins{0}, n_queries{0},
        n_timeouts{0}, n_failures{0}, n_malformed{0}, n_in_flight{0};

    explicit Impl(const ResolverOptions& o)
        : opt(o), cache(PtrCacheOptions{o.cache_max_entries, o.cache_min_ttl, o.cache_max_ttl,
                                        o.tempfail_ttl}) {}

    ~Impl() {
        if (channel) ares_destroy(channel);
        if (efd >= 0) close(efd);
    }

    // ---- callers' side ----

    void submit(Request req) {
        {
            std::lock_guard lock(qmu);
            if (!stopping) {
                queue.push_back(std::move(req));
                uint64_t one = 1;
                ssize_t n = write(efd, &one, sizeof one);
                (void)n; // the counter cannot overflow at our rates; a failed write means a
                         // wake-up is already pending
                return;
            }
        }
        req.done(make_result(PtrStatus::TempFail, "resolver shut down"));
    }

    // ---- loop thread ----

    static void sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<Impl*>(data);
        auto it = std::find_if(self->socks.begin(), self->socks.end(),
                               [fd](const pollfd& p) { return p.fd == fd; });
        if (!readable && !writable) {
            if (it != self->socks.end()) self->socks.erase(it);
            return;
        }
        short ev = short((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
        if (it != self->socks.end())
            it->events = ev;
        else
            self->socks.push_back(pollfd{fd, ev, 0});
    }

    struct QueryCtx {
        Impl* self;
        Job* job;
        int check; // -1: the PTR query; else index into job->checks
        std::string qname;
    };

    // Queries wait in `backlog` while `max_outstanding` are on the wire: a burst of a
    // thousand new clients must not overflow the UDP receive buffers (ours or the
    // server's) and turn into timeouts.
    struct Pending {
        QueryCtx* ctx;
        int type;
    };
    std::deque<Pending> backlog;
    unsigned outstanding = 0;

    void send(Job* job, int check, const std::string& qname, int type) {
        ++job->pending;
        auto* ctx = new QueryCtx{this, job, check, qname};
        if (outstanding >= opt.max_outstanding && !shutting_down) {
            backlog.push_back(Pending{ctx, type});
            return;
        }
        dispatch(ctx, type);
    }

    void dispatch(QueryCtx* ctx, int type) {
        ++outstanding;
        ++n_queries;
        ares_query(channel, ctx->qname.c_str(), ns_c_in, type, &Impl::on_answer, ctx);
    }

    void drain_backlog() {
        while (!backlog.empty() && outstanding < opt.max_outstanding) {
            Pending p = backlog.front();
            backlog.pop_front();
            dispatch(p.ctx, p.type);
        }
    }

    static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
        std::unique_ptr<QueryCtx> ctx(static_cast<QueryCtx*>(arg));
        Job* job = ctx->job;
        --ctx->self->outstanding;
        // This query stays counted while its answer is handled: a follow-up query that
        // fails synchronously (ares_query calls back at once) must not finish the job
        // under our feet.
        if (ctx->check < 0)
            ctx->self->ptr_answer(job, ctx->qname, status, abuf, alen);
        else
            ctx->self->forward_answer(job, size_t(ctx->check), ctx->qname, status, abuf, alen);
        --job->pending;
        ctx->self->maybe_finish(job);
    }

    void start(Request& req) {
        auto job = std::make_unique<Job>();
        job->addr = req.addr;
        Job* j = job.get();
        jobs.emplace(req.addr, std::move(job));
        n_in_flight = jobs.size();
        add_waiter(j, req);
        send(j, -1, req.addr.reverse_name(), ns_t_ptr);
    }

    void add_waiter(Job* job, Request& req) {
        uint64_t id = next_id++;
        job->waiters.push_back(Waiter{id, req.start, std::move(req.done), req.blocking});
        deadlines.push(Deadline{req.deadline, id, req.addr});
    }

    void handle(Request& req) {
        if (auto hit = cache.get(req.addr, Clock::now(), false)) { // filled while queued
            deliver(req.done, std::move(*hit));
            return;
        }
        auto it = jobs.find(req.addr);
        if (it != jobs.end()) {
            ++n_joins;
            add_waiter(it->second.get(), req);
            return;
        }
        start(req);
    }

    // The answer to a PTR query (the first, or one that follows an RFC 2317
    // CNAME): the job's result when it is known now, else the forward
    // queries that confirm its names.
    void ptr_answer(Job* job, const std::string& qname, int status, unsigned char* abuf, int alen) {
        const std::string what = "PTR " + dns::printable(qname) + ": ";
        auto msg = ptr_message(job, what, status, abuf, alen);
        if (!msg) return;
        std::string end = qname;
        std::vector<const dns::Record*> ptrs;
        bool matched = false;
        if (!follow_ptr_cnames(job, *msg, what, end, ptrs, matched)) return;
        if (ptrs.empty()) {
            answer_without_ptr(job, *msg, what, qname, end, matched);
            return;
        }
        if (!take_ptr_names(job, ptrs)) return;
        send_forward_checks(job);
    }

    // The parsed answer when it is a NOERROR answer; otherwise sets the job's
    // result (no PTR, a DNS failure, garbage) and returns nothing.
    std::optional<dns::Message> ptr_message(Job* job, const std::string& what, int status,
                                            unsigned char* abuf, int alen) {
        bool has_answer =
            abuf && alen > 0 &&
            (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND);
        if (!has_answer) {
            if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
                job->result =
                    make_result(PtrStatus::NoPtr, what + describe(status), opt.negative_ttl);
            else
                job->result = make_result(PtrStatus::TempFail, what + describe(status));
            return std::nullopt;
        }
        std::string why;
        auto msg = dns::parse_message(abuf, size_t(alen), &why);
        if (!msg) {
            job->result = make_result(PtrStatus::Malformed, what + why, opt.negative_ttl);
            return std::nullopt;
        }
        if (msg->rcode == dns::NxDomain) {
            job->result = make_result(PtrStatus::NoPtr, what + "NXDOMAIN",
                                      msg->negative_ttl.value_or(opt.negative_ttl));
            return std::nullopt;
        }
        if (msg->rcode != dns::NoError) {
            job->result =
                make_result(PtrStatus::TempFail, what + "RCODE " + std::to_string(msg->rcode));
            return std::nullopt;
        }
        return msg;
    }

    // Follows the CNAME chain inside this answer from `end` and collects the
    // PTRs at its end; `end` becomes the last name of the chain, `matched`
    // whether any record belonged to it. False (result set) when the chain is
    // too long.
    bool follow_ptr_cnames(Job* job, const dns::Message& msg, const std::string& what,
                           std::string& end, std::vector<const dns::Record*>& ptrs, bool& matched) {
        for (;;) {
            const dns::Record* cname = nullptr;
            for (const auto& rec : msg.answers) {
                if (!dns::same_name(rec.owner, end)) continue;
                matched = true;
                if (rec.type == dns::PTR) ptrs.push_back(&rec);
                if (rec.type == dns::CNAME && !cname) cname = &rec;
            }
            if (!ptrs.empty() || !cname) return true;
            if (++job->ptr_hops > opt.max_cname_hops) {
                job->result = make_result(PtrStatus::Malformed,
                                          what + "CNAME chain longer than " +
                                              std::to_string(opt.max_cname_hops),
                                          opt.negative_ttl);
                return false;
            }
            job->ttl = std::min(job->ttl, cname->ttl);
            end = cname->target;
        }
    }

    // No PTR at the end of the chain: an answer about another name
    // (malformed), a CNAME into another zone (RFC 2317: ask there), or NODATA.
    void answer_without_ptr(Job* job, const dns::Message& msg, const std::string& what,
                            const std::string& qname, const std::string& end, bool matched) {
        if (!matched && !msg.answers.empty()) {
            job->result =
                make_result(PtrStatus::Malformed, what + "answer does not match the question",
                            opt.negative_ttl);
        } else if (!dns::same_name(end, qname)) {
            // RFC 2317: the CNAME target lives in another zone; ask for it.
            if (!queryable(end)) {
                job->result = make_result(
                    PtrStatus::Malformed,
                    what + "CNAME target " + dns::printable(end) + " unusable", opt.negative_ttl);
            } else if (shutting_down) {
                job->result = make_result(PtrStatus::TempFail, "resolver shut down");
            } else {
                send(job, -1, end, ns_t_ptr);
            }
        } else {
            job->result = make_result(PtrStatus::NoPtr, what + "NODATA",
                                      msg.negative_ttl.value_or(opt.negative_ttl));
        }
    }

    // The usable, distinct PTR names into job->names (the first refusal kept
    // in job->rejected). False (result set) when none is usable or the
    // resolver is shutting down.
    bool take_ptr_names(Job* job, const std::vector<const dns::Record*>& ptrs) {
        std::string rejected;
        for (const auto* rec : ptrs) {
            job->ttl = std::min(job->ttl, rec->ttl);
            if (auto problem = hostname_problem(rec->target)) {
                if (rejected.empty())
                    rejected = "PTR name \"" + dns::printable(rec->target, 80) +
                               "\" rejected: " + *problem;
                continue;
            }
            std::string n = normalize_hostname(rec->target);
            if (std::find(job->names.begin(), job->names.end(), n) == job->names.end())
                job->names.push_back(std::move(n));
        }
        if (job->names.empty()) {
            job->result = make_result(PtrStatus::Malformed, rejected, opt.negative_ttl);
            return false;
        }
        job->rejected = std::move(rejected);
        if (shutting_down) {
            job->result = make_result(PtrStatus::TempFail, "resolver shut down");
            return false;
        }
        return true;
    }

    // One A or AAAA query per PTR name (at most max_ptr_names): does it lead back?
    void send_forward_checks(Job* job) {
        size_t n = std::min<size_t>(job->names.size(), std::max(1u, opt.max_ptr_names));
        job->checks.resize(n);
        for (size_t i = 0; i < n; ++i)
            job->checks[i].name = job->names[i];
        int type = job->addr.is_v4() ? ns_t_a : ns_t_aaaa;
        for (size_t i = 0; i < n; ++i)
            send(job, int(i), job->checks[i].name, type);
    }

    void forward_answer(Job* job, size_t index, const std::string& qname, int status,
                        unsigned char* abuf, int alen) {
        NameCheck& c = job->checks[index];
        const char* rr = job->addr.is_v4() ? "A" : "AAAA";
        bool has_answer =
            abuf && alen > 0 &&
            (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND);
        if (!has_answer) {
            if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
                c.state = NameCheck::NotConfirmed;
                c.ttl = std::min(c.ttl, opt.negative_ttl);
            } else {
                c.state = NameCheck::Failed;
            }
            c.why = c.name + " " + rr + ": " + describe(status);
            return;
        }
        std::string why;
        auto msg = dns::parse_message(abuf, size_t(alen), &why);
        if (!msg) { // garbage is a DNS failure, not "no address" (is_dns_failure)
            c.state = NameCheck::Failed;
            c.why = c.name + " " + rr + ": malformed answer: " + why;
            return;
        }
        uint32_t neg = msg->negative_ttl.value_or(opt.negative_ttl);
        if (msg->rcode == dns::NxDomain || msg->rcode != dns::NoError) {
            bool nx = msg->rcode == dns::NxDomain;
            c.state = nx ? NameCheck::NotConfirmed : NameCheck::Failed;
            if (nx) c.ttl = std::min(c.ttl, neg);
            c.why = c.name + " " + rr + ": " +
                    (nx ? "NXDOMAIN" : "RCODE " + std::to_string(msg->rcode));
            return;
        }
        uint16_t want = job->addr.is_v4() ? dns::A : dns::AAAA;
        size_t width = job->addr.is_v4() ? 4 : 16;
        std::string cur = qname;
        bool any = false;
        uint32_t ttl = kNoTtl;
        for (;;) {
            const dns::Record* cname = nullptr;
            for (const auto& rec : msg->answers) {
                if (!dns::same_name(rec.owner, cur)) continue;
                if (rec.type == want) {
                    any = true;
                    ttl = std::min(ttl, rec.ttl);
                    if (std::memcmp(rec.addr.data(), job->addr.bytes().data(), width) == 0) {
                        c.state = NameCheck::Confirmed;
                    }
                }
                if (rec.type == dns::CNAME && !cname) cname = &rec;
            }
            if (any || !cname) break;
            if (++c.hops > opt.max_cname_hops) {
                c.state = NameCheck::Failed;
                c.why = c.name + " " + rr + ": CNAME chain too long";
                return;
            }
            ttl = std::min(ttl, cname->ttl);
            cur = cname->target;
        }
        if (!any && !dns::same_name(cur, qname) && queryable(cur) && !shutting_down) {
            send(job, int(index), cur, want); // the alias points out of this answer
            return;
        }
        c.ttl = std::min(c.ttl, any ? ttl : std::min(ttl, neg));
        if (c.state != NameCheck::Confirmed) {
            c.state = NameCheck::NotConfirmed;
            c.why = c.name + ": " +
                    (any ? std::string("no ") + rr + " record is " + job->addr.to_string()
                         : std::string("no ") + rr + " record");
        }
    }

    void maybe_finish(Job* job) {
        if (job->pending > 0) return;
        PtrResult r;
        if (job->result) {
            r = std::move(*job->result);
        } else {
            r.names = job->names;
            const NameCheck* confirmed = nullptr;
            const NameCheck* failed = nullptr;
            uint32_t ttl = job->ttl;
            for (const auto& c : job->checks) {
                if (c.state == NameCheck::Confirmed && !confirmed) confirmed = &c;
                if (c.state == NameCheck::Failed && !failed) failed = &c;
            }
            if (confirmed) {
                r.status = PtrStatus::Confirmed;
                r.name = confirmed->name;
                ttl = std::min(ttl, confirmed->ttl);
            } else {
                r.name = job->names.front();
                for (const auto& c : job->checks)
                    ttl = std::min(ttl, c.ttl);
                if (failed) {
                    r.status = PtrStatus::TempFail;
                    r.detail = "forward lookup of " + failed->why;
                } else {
                    r.status = PtrStatus::Unconfirmed;
                    for (const auto& c : job->checks) {
                        if (!r.detail.empty()) r.detail += "; ";
                        r.detail += c.why;
                    }
                }
            }
            r.ttl = ttl == kNoTtl ? 0 : ttl;
            if (!job->rejected.empty())
                r.detail += (r.detail.empty() ? "" : "; ") + job->rejected + " (ignored)";
        }
        complete(job, std::move(r));
    }

    void complete(Job* job, PtrResult r) {
        if (r.status == PtrStatus::TempFail) ++n_failures;
        if (r.status == PtrStatus::Malformed) ++n_malformed;
        if (!shutting_down) cache.put(job->addr, r, Clock::now());
        auto node = jobs.extract(job->addr);
        n_in_flight = jobs.size();
        auto now = Clock::now();
        for (auto& w : node.mapped()->waiters) {
            PtrResult copy = r;
            copy.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - w.start);
            deliver(w.done, std::move(copy));
        }
    }

    void expire_deadlines(Clock::time_point now) {
        while (!deadlines.empty() && deadlines.top().when <= now) {
            Deadline d = deadlines.top();
            deadlines.pop();
            auto it = jobs.find(d.addr);
            if (it == jobs.end()) continue;
            auto& ws = it->second->waiters;
            auto w =
                std::find_if(ws.begin(), ws.end(), [&](const Waiter& x) { return x.id == d.id; });
            if (w == ws.end()) continue;
            Waiter gone = std::move(*w);
            ws.erase(w);
            if (gone.blocking) continue; // it has stopped waiting and counted itself
            ++n_timeouts;
            PtrResult r =
                make_result(PtrStatus::TempFail,
                            "deadline of " + std::to_string(opt.deadline_ms) + " ms reached");
            r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - gone.start);
            deliver(gone.done, std::move(r));
        }
    }

    void loop() {
        std::vector<pollfd> pfds;
        std::vector<Request> batch;
        for (;;) {
            int timeout_ms = 1000;
            timeval maxtv{1, 0}, tv{};
            if (timeval* t = ares_timeout(channel, &maxtv, &tv))
                timeout_ms = int(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
            if (!deadlines.empty()) {
                auto left = std::chrono::ceil<std::chrono::milliseconds>(deadlines.top().when -
                                                                         Clock::now());
                timeout_ms = std::clamp<int>(int(left.count()), 0, timeout_ms);
            }
            pfds.clear();
            pfds.push_back(pollfd{efd, POLLIN, 0});
            pfds.insert(pfds.end(), socks.begin(), socks.end());
            int n = poll(pfds.data(), pfds.size(), timeout_ms);
            if (n < 0 && errno != EINTR) break; // cannot happen with valid fds; leave cleanly

            bool stop = false;
            if (n > 0 && (pfds[0].revents & POLLIN)) {
                uint64_t v;
                ssize_t r = read(efd, &v, sizeof v);
                (void)r;
            }
            {
                std::lock_guard lock(qmu);
                batch.swap(queue);
                stop = stopping;
            }
            for (auto& req : batch)
                handle(req);
            batch.clear();
            for (size_t i = 1; n > 0 && i < pfds.size(); ++i) {
                short re = pfds[i].revents;
                if (!re) continue;
                ares_socket_t rfd =
                    (re & (POLLIN | POLLERR | POLLHUP)) ? pfds[i].fd : ARES_SOCKET_BAD;
                ares_socket_t wfd =
                    (re & (POLLOUT | POLLERR | POLLHUP)) ? pfds[i].fd : ARES_SOCKET_BAD;
                ares_process_fd(channel, rfd, wfd);
            }
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD); // timeouts
            drain_backlog();
            expire_deadlines(Clock::now());
            if (stop) break;
        }
        shut_down();
    }

    void shut_down() {
        shutting_down = true;
        ares_cancel(channel);      // every query answers ECANCELLED; no new ones are sent
        while (!backlog.empty()) { // never sent: answer them the same way
            Pending p = backlog.front();
            backlog.pop_front();
            ++outstanding; // on_answer counts it off
            on_answer(p.ctx, ARES_ECANCELLED, 0, nullptr, 0);
        }
        while (!jobs.empty()) { // only if a job had no query outstanding (cannot happen)
            Job* j = jobs.begin()->second.get();
            complete(j, make_result(PtrStatus::TempFail, "resolver shut down"));
        }
        std::vector<Request> rest;
        {
            std::lock_guard lock(qmu);
            rest.swap(queue);
        }
        for (auto& req : rest)
            req.done(make_result(PtrStatus::TempFail, "resolver shut down"));
    }
};

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Expected<std::unique_ptr<Resolver>> Resolver::create(const ResolverOptions& options) {
    static std::once_flag lib_once;
    static int lib_status = ARES_SUCCESS;
    std::call_once(lib_once, [] { lib_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (lib_status != ARES_SUCCESS)
        return Error{"", 0,
                     std::string("c-ares initialisation failed: ") + ares_strerror(lib_status)};
    if (options.timeout_ms == 0 || options.tries == 0 || options.deadline_ms == 0 ||
        options.max_outstanding == 0)
        return Error{"", 0,
                     "resolver timeout, tries, deadline and max_outstanding must be positive"};

    auto impl = std::make_unique<Impl>(options);
    ares_options ao{};
    // NOCHECKRESP: c-ares 1.18 would try the next server on SERVFAIL/REFUSED but then
    // report every such failure as "connection refused"; an operator needs the real
    // RCODE in the log more than a second opinion (timeouts still fail over).
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    ao.timeout = int(std::min(options.timeout_ms, 600000u));
    ao.tries = int(std::min(options.tries, 20u));
    ao.sock_state_cb = &Impl::sock_state;
    ao.sock_state_cb_data = impl.get();
    // A larger receive buffer absorbs a burst of answers while the loop is busy (the kernel
    // caps it at net.core.rmem_max); max_outstanding bounds the burst in the first place.
    ao.socket_receive_buffer_size = 1 << 20;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
               ARES_OPT_SOCK_RCVBUF;
    int rc = ares_init_options(&impl->channel, &ao, mask);
    if (rc != ARES_SUCCESS) {
        impl->channel = nullptr;
        return Error{"", 0, std::string("cannot create a DNS channel: ") + ares_strerror(rc)};
    }
    if (!options.servers.empty()) {
        std::string csv;
        for (const auto& s : options.servers) {
            if (s.empty() || s.find(',') != std::string::npos)
                return Error{"", 0,
                             "DNS server \"" + s + "\": expected ADDR, ADDR:PORT or [ADDR]:PORT"};
            if (!csv.empty()) csv += ',';
            csv += s;
        }
        rc = ares_set_servers_ports_csv(impl->channel, csv.c_str());
        if (rc != ARES_SUCCESS)
            return Error{"", 0, "DNS servers \"" + csv + "\": " + ares_strerror(rc)};
    }
    impl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (impl->efd < 0) return Error{"", 0, std::string("eventfd: ") + std::strerror(errno)};
    Impl* raw = impl.get();
    try {
        impl->thread = std::thread([raw] {
            // Named, so that ps, the soak and the reload test can count resolvers.
            pthread_setname_np(pthread_self(), "ip25b-resolver");
            raw->loop();
        });
    } catch (const std::system_error& e) {
        return Error{"", 0, std::string("cannot start the resolver thread: ") + e.what()};
    }
    return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::~Resolver() {
    {
        std::lock_guard lock(impl_->qmu);
        impl_->stopping = true;
        uint64_t one = 1;
        ssize_t n = write(impl_->efd, &one, sizeof one);
        (void)n;
    }
    if (impl_->thread.joinable()) impl_->thread.join();
}

void Resolver::lookup_async(const IpAddress& addr, Callback done) {
    auto now = Clock::now();
    ++impl_->n_lookups;
    if (auto hit = impl_->cache.get(addr, now)) {
        ++impl_->n_hits;
        done(std::move(*hit));
        return;
    }
    ++impl_->n_misses;
    impl_->submit(Request{addr, std::move(done), now,
                          now + std::chrono::milliseconds(impl_->opt.deadline_ms)});
}

PtrResult Resolver::lookup(const IpAddress& addr) {
    auto now = Clock::now();
    ++impl_->n_lookups;
    if (auto hit = impl_->cache.get(addr, now)) {
        ++impl_->n_hits;
        return std::move(*hit);
    }
    ++impl_->n_misses;
    struct Slot {
        std::mutex mu;
        std::condition_variable cv;
        std::optional<PtrResult> result;
    };
    auto slot = std::make_shared<Slot>();
    auto deadline = now + std::chrono::milliseconds(impl_->opt.deadline_ms);
    impl_->submit(Request{addr,
                          [slot](PtrResult r) {
                              std::lock_guard lock(slot->mu);
                              slot->result = std::move(r);
                              slot->cv.notify_all();
                          },
                          now, deadline, true});
    std::unique_lock lock(slot->mu);
    if (slot->cv.wait_until(lock, deadline, [&] { return slot->result.has_value(); }))
        return std::move(*slot->result);
    // The loop thread drops this waiter at the same instant without answering it.
    ++impl_->n_timeouts;
    PtrResult r =
        make_result(PtrStatus::TempFail,
                    "deadline of " + std::to_string(impl_->opt.deadline_ms) + " ms reached");
    r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - now);
    return r;
}

ResolverStats Resolver::stats() const {
    ResolverStats s;
    s.lookups = impl_->n_lookups;
    s.cache_hits = impl_->n_hits;
    s.cache_misses = impl_->n_misses;
    s.joins = impl_->n_joins;
    s.queries = impl_->n_queries;
    s.timeouts = impl_->n_timeouts;
    s.failures = impl_->n_failures;
    s.malformed = impl_->n_malformed;
    s.in_flight = impl_->n_in_flight;
    s.cache = impl_->cache.stats();
    return s;
}

std::optional<PtrResult> Resolver::cached(const IpAddress& addr) const {
    return impl_->cache.get(addr, Clock::now(), false);
}

const ResolverOptions& Resolver::options() const {
    return impl_->opt;
}

} // namespace ip25b
