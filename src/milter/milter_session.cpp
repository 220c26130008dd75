// milter_session.cpp — the xxfi_* callbacks.
//
// Postfix XCLIENT: one SMTP connection shows up as two milter sessions, first
// the proxy's own address, then (after an xxfi_close) the overridden client. The first must not be
// judged as the client. With the default enforcement stage (rcpt; also mail) that holds by
// construction: the proxy's session ends before MAIL FROM, so it is never
// decided, and only the real client's session reaches the stage. Records of
// sessions that were only exempted (no MAIL, no reply) are not written, so a
// proxy's session leaves no misleading record either. With stage connect or
// helo the proxy's session is judged like any client: allowlist the proxy.
#include "milter_session.hpp"

#include "milter_runtime.hpp"

#include "ip25b/client_decision.hpp"
#include "ip25b/metrics.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include <spdlog/spdlog.h>

namespace ip25b::milter {

namespace {

struct Lookup {
    std::mutex m;
    std::condition_variable cv;
    std::optional<PtrResult> result;
};

struct Conn {
    Conn(std::shared_ptr<const Runtime> r, std::string id)
        : rt(std::move(r)), session(rt->policy, std::move(id)) {}
    std::shared_ptr<const Runtime> rt; // the snapshot this session started with
    Session session;
    std::mutex m; // callbacks of one connection are serial; this guards against the shutdown flush
    std::optional<IpAddress> client;
    std::optional<Verdict> address_verdict; // decided by address alone (own ranges): no DNS
    std::shared_ptr<Lookup> lookup;
    std::chrono::steady_clock::time_point lookup_started;
    bool reached_mail = false;
    bool written = false;
};

std::mutex registry_m;
std::condition_variable registry_cv;
std::unordered_set<Conn*> registry;
std::atomic<uint64_t> session_counter{0};
std::atomic<bool> drain{false};

std::string next_session_id() {
    static const auto prefix =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() %
                       100000000);
    return prefix + "-" + std::to_string(++session_counter);
}

Conn* conn_of(SMFICTX* ctx) {
    return static_cast<Conn*>(smfi_getpriv(ctx));
}

std::string macro(SMFICTX* ctx, const char* name) {
    const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
    return v ? std::string(v) : std::string();
}

std::optional<uint16_t> parse_port(const std::string& s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return std::nullopt;
    return static_cast<uint16_t>(v);
}

uint16_t port_of(const sockaddr* sa) {
    if (!sa) return 0;
    if (sa->sa_family == AF_INET) {
        sockaddr_in sin;
        std::memcpy(&sin, sa, sizeof sin);
        return ntohs(sin.sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, sa, sizeof sin6);
        return ntohs(sin6.sin6_port);
    }
    return 0;
}

// "<a@b>" -> "a@b"; the MTA passes the address as the client wrote it.
std::string strip_brackets(const char* arg) {
    std::string s = arg ? arg : "";
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

void start_lookup(Conn& c) {
    if (c.lookup || !c.client || c.address_verdict) return;
    c.lookup = std::make_shared<Lookup>();
    c.lookup_started = std::chrono::steady_clock::now();
    // The callback may run on the resolver thread after this session is gone,
    // so it holds only the Lookup, never the Conn.
    c.rt->resolver->lookup_async(*c.client, [l = c.lookup](PtrResult r) {
        {
            std::lock_guard lock(l->m);
            l->result = std::move(r);
        }
        l->cv.notify_all();
    });
}

PtrResult wait_lookup(Conn& c) {
    start_lookup(c);
    // The resolver answers by its own deadline; the grace only guards against
    // a callback that never comes, so a session can never hang here.
    auto until = c.lookup_started + c.rt->config.dns.deadline + std::chrono::milliseconds(500);
    std::unique_lock lock(c.lookup->m);
    if (!c.lookup->cv.wait_until(lock, until, [&] { return c.lookup->result.has_value(); })) {
        PtrResult r;
        r.status = PtrStatus::TempFail;
        r.detail = "no answer from the resolver within the deadline";
        r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - c.lookup_started);
        return r;
    }
    return *c.lookup->result;
}

ClassifyFn classify_for(Conn& c) {
    return [&c]() {
        return classify_client(*c.rt->classifier, c.client, c.address_verdict,
                               [&c] { return wait_lookup(c); });
    };
}

// At connect libmilter does not allow smfi_setreply(); the MTA uses its own
// text there anyway (Postfix: "554 ... not accepting connections").
sfsistat apply(SMFICTX* ctx, const StepResult& r, bool at_connect = false) {
    if (r.reply == Reply::Continue) return SMFIS_CONTINUE;
    if (at_connect) return r.reply == Reply::Reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
    std::string rcode = r.rcode, xcode = r.xcode, text = r.text;
    if (smfi_setreply(ctx, rcode.data(), xcode.empty() ? nullptr : xcode.data(), text.data()) !=
        MI_SUCCESS) {
        metrics().error(MetricError::ReplyRefused);
        spdlog::warn("smfi_setreply refused {} {} {}", rcode, xcode, text);
    }
    return r.reply == Reply::Reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

// Called with c.m held.
void write_record(Conn& c) {
    if (c.written || !c.session.decided()) return;
    const auto& rec = c.session.record();
    bool replied = is_refusal(rec.action);
    if (!c.reached_mail && !replied) return; // exempted probes and XCLIENT proxy sessions
    c.written = true;
    metrics().decision(rec);
    metrics().decision_log_write(c.rt->log->write(rec));
}

void finish(SMFICTX* ctx, Conn* c) {
    {
        std::lock_guard lock(c->m);
        write_record(*c);
    }
    smfi_setpriv(ctx, nullptr);
    {
        std::lock_guard lock(registry_m);
        registry.erase(c);
    }
    registry_cv.notify_all();
    delete c;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long,
                      unsigned long, unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                      unsigned long* pf3) {
    // Actions: add headers (tag) and choose our macros. Steps: everything
    // after RCPT except DATA (where Postfix first knows the queue id) and
    // end-of-message (where the tag header is added) is skipped.
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
    *pf1 = f1 & (SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN);
    *pf2 = 0;
    *pf3 = 0;
    if (f0 & SMFIF_SETSYMLIST) {
        // Postfix sends none of {client_addr} {client_port} {daemon_port} at
        // connect unless asked, and a list here replaces its defaults.
        static char connect_macros[] = "{client_addr} {client_port} {client_ptr} {daemon_name} "
                                       "{daemon_port} j _";
        static char mail_macros[] = "{auth_authen} {auth_type} {mail_addr} i";
        // The queue id ("i") is asked for wherever a record may be completed:
        // Sendmail knows it from MAIL FROM; Postfix (which opens the queue
        // file after the first accepted recipient) from DATA on.
        static char rcpt_macros[] = "{rcpt_addr} i";
        static char data_macros[] = "i";
        static char eom_macros[] = "i";
        smfi_setsymlist(ctx, SMFIM_CONNECT, connect_macros);
        smfi_setsymlist(ctx, SMFIM_ENVFROM, mail_macros);
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, rcpt_macros);
        smfi_setsymlist(ctx, SMFIM_DATA, data_macros);
        smfi_setsymlist(ctx, SMFIM_EOM, eom_macros);
    }
    return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) {
    if (Conn* old = conn_of(ctx)) finish(ctx, old); // a connect without close before it
    auto rt = current_runtime().get();
    if (!rt) return SMFIS_ACCEPT;
    if (drain.load())
        return rt->policy->config().internal_error == Action::Tempfail ? SMFIS_TEMPFAIL
                                                                       : SMFIS_ACCEPT;
    metrics().session_opened();
    auto* c = new Conn(rt, next_session_id());
    {
        std::lock_guard lock(registry_m);
        registry.insert(c);
    }
    smfi_setpriv(ctx, c);
    std::lock_guard lock(c->m);
    ConnectInfo info;
    // The address comes from the socket address, never from strings: Postfix
    // writes IPv6 as "IPv6:..." and an unknown family has no usable text.
    info.client = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(hostaddr));
    info.client_port = port_of(reinterpret_cast<const sockaddr*>(hostaddr));
    if (!info.client_port) info.client_port = parse_port(macro(ctx, "{client_port}")).value_or(0);
    info.hostname = hostname ? std::string(hostname).substr(0, 255) : std::string();
    info.daemon_name = macro(ctx, "{daemon_name}").substr(0, 255);
    info.daemon_port = parse_port(macro(ctx, "{daemon_port}"));
    c->client = info.client;
    if (info.client) c->address_verdict = rt->classifier->classify_address(*info.client);
    StepResult r = c->session.connect(info, classify_for(*c));
    if (r.start_lookup) start_lookup(*c);
    spdlog::debug("{}: connect {} port {} daemon {} generation {}", c->session.record().session,
                  info.client ? info.client->to_string() : "(none)", info.client_port,
                  info.daemon_name, rt->generation);
    return apply(ctx, r, true);
}

sfsistat on_helo(SMFICTX* ctx, char* name) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    return apply(ctx, c->session.helo(name ? name : "", classify_for(*c)));
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    c->reached_mail = true;
    std::string auth_value;
    std::optional<std::string_view> auth;
    // Absent (not empty) when the session did not authenticate.
    if (const char* a = smfi_getsymval(ctx, const_cast<char*>("{auth_authen}"))) {
        auth_value = a;
        auth = auth_value;
    }
    std::string sender = strip_brackets(argv ? argv[0] : nullptr);
    return apply(ctx, c->session.mail(sender, auth, macro(ctx, "i"), classify_for(*c)));
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    std::string rcpt = strip_brackets(argv ? argv[0] : nullptr);
    const StepResult r = c->session.rcpt(rcpt, macro(ctx, "i"), classify_for(*c));
    // Accepted with nothing left to add: tell the MTA it may skip this milter
    // for the rest of the message. Every milter command costs libmilter a
    // round of thread hand-offs, and end-of-message is one of the few left.
    // The record keeps the recipients seen up to here. Without a queue id
    // yet (Postfix), the DATA step is still needed to learn it.
    if (r.reply == Reply::Continue && c->session.decided() && !c->session.header_to_add() &&
        !c->session.record().queue_id.empty())
        return SMFIS_ACCEPT;
    return apply(ctx, r);
}

sfsistat on_data(SMFICTX* ctx) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    c->session.note_queue_id(macro(ctx, "i"));
    // Nothing more to learn or add for this message: skip end-of-message.
    if (c->session.decided() && !c->session.header_to_add()) return SMFIS_ACCEPT;
    return SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    c->session.note_queue_id(macro(ctx, "i"));
    if (auto h = c->session.header_to_add()) {
        std::string name = h->first, value = h->second;
        if (smfi_addheader(ctx, name.data(), value.data()) != MI_SUCCESS)
            spdlog::warn("{}: smfi_addheader failed (MTA did not allow adding headers)",
                         c->session.record().session);
    }
    return SMFIS_CONTINUE;
}

sfsistat on_abort(SMFICTX* ctx) {
    Conn* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    std::lock_guard lock(c->m);
    c->session.abort_message();
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
    // xxfi_close also comes for connections that never reached xxfi_connect.
    if (Conn* c = conn_of(ctx)) finish(ctx, c);
    return SMFIS_CONTINUE;
}

} // namespace

smfiDesc& filter_description() {
    static smfiDesc desc = {
        const_cast<char*>("ip25b"),
        SMFI_VERSION,
        SMFIF_ADDHDRS | SMFIF_SETSYMLIST,
        on_connect,
        on_helo,
        on_envfrom,
        on_envrcpt,
        nullptr, // headers
        nullptr, // end of headers
        nullptr, // body
        on_eom,
        on_abort,
        on_close,
        nullptr, // unknown commands
        on_data,
        on_negotiate,
    };
    return desc;
}

void start_draining() {
    drain = true;
}
bool draining() {
    return drain.load();
}

size_t live_sessions() {
    std::lock_guard lock(registry_m);
    return registry.size();
}

size_t wait_for_sessions(std::chrono::milliseconds limit) {
    std::unique_lock lock(registry_m);
    registry_cv.wait_for(lock, limit, [] { return registry.empty(); });
    return registry.size();
}

size_t flush_live_records() {
    std::lock_guard lock(registry_m);
    size_t n = 0;
    for (Conn* c : registry) {
        std::lock_guard cl(c->m);
        bool before = c->written;
        write_record(*c);
        n += (!before && c->written) ? 1 : 0;
    }
    return n;
}

} // namespace ip25b::milter
