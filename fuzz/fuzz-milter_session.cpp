// fuzz-milter_session — the milter session state machine (policy.hpp Session).
//
// The MTA drives a session through callbacks in whatever order and with whatever bytes
// the SMTP client sent; the glue passes them on unchanged. The input is decoded into a
// policy and a sequence of sessions, each a connect followed by helo / mail / rcpt /
// abort / end-of-message steps with their strings, and a classification script the
// ClassifyFn plays back. Checked: nothing crashes, a DNS or internal failure is never
// answered with a permanent reject, a decided session answers later steps as it
// decided, an authenticated one always passes, and every record serialises to JSON
// that parses back.
#include "ip25b/decision_log.hpp"
#include "ip25b/policy.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>

namespace {

class Input {
  public:
    Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
    bool empty() const { return n_ == 0; }
    uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return *d_++;
    }
    uint16_t u16() { return uint16_t(byte() << 8 | byte()); }
    // A length-prefixed string (at most 255 bytes) of raw bytes.
    std::string str() {
        size_t len = byte();
        len = std::min(len, n_);
        std::string s(reinterpret_cast<const char*>(d_), len);
        d_ += len, n_ -= len;
        return s;
    }

  private:
    const uint8_t* d_;
    size_t n_;
};

constexpr ip25b::Action kActions[] = {ip25b::Action::Reject, ip25b::Action::Tempfail,
                                      ip25b::Action::Tag, ip25b::Action::LogOnly,
                                      ip25b::Action::Accept};
ip25b::Action action(uint8_t b) {
    return kActions[b % 5];
}

ip25b::PolicyConfig policy_config(Input& in) {
    ip25b::PolicyConfig c;
    c.stage = static_cast<ip25b::Stage>(in.byte() % 4);
    c.dynamic = action(in.byte());
    c.self_dynamic = action(in.byte());
    c.allowlisted = action(in.byte());
    c.unknown_ptr = action(in.byte());
    c.none = action(in.byte());
    c.dns_failure = in.byte() & 1 ? ip25b::Action::Tempfail : ip25b::Action::Accept;
    c.internal_error = in.byte() & 1 ? ip25b::Action::Tempfail : ip25b::Action::Accept;
    c.dry_run = in.byte() & 1;
    if (in.byte() & 1) c.reply_dynamic = in.str(); // templates with any bytes
    if (in.byte() & 1) {
        ip25b::PolicyOverride o;
        o.isp = "OCN";
        o.action = action(in.byte());
        c.overrides.push_back(o);
    }
    return c;
}

// What the ClassifyFn answers: one byte picks the PTR status and class, strings follow.
ip25b::Classified classification(Input& in) {
    ip25b::Classified c;
    const uint8_t b = in.byte();
    c.ptr.status = static_cast<ip25b::PtrStatus>(b % 5);
    c.ptr.name = in.str();
    c.looked_up = b & 0x08;
    if (b & 0x10) c.internal_error = "fuzz: classification impossible";
    if (ip25b::is_dns_failure(c.ptr.status)) {
        c.verdict.cls = ip25b::ClientClass::UnknownPtr;
        c.verdict.temporary = true;
    } else {
        c.verdict.cls = static_cast<ip25b::ClientClass>((b >> 5) % 5);
    }
    c.verdict.isp = b & 0x80 ? "OCN" : in.str();
    c.verdict.rule = in.str();
    c.verdict.file = "fuzz.toml";
    c.verdict.line = in.byte();
    return c;
}

void check_record(const ip25b::DecisionRecord& r) {
    // accept() validates without building the DOM parse() would build and throw away:
    // the same check at a fraction of the cost (up to 64 records an input).
    if (!nlohmann::json::accept(ip25b::DecisionLog::to_json(r))) abort();
    (void)ip25b::DecisionLog::to_line(r);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    auto policy = std::make_shared<const ip25b::Policy>(policy_config(in));
    std::optional<ip25b::Classified> last;
    const ip25b::ClassifyFn classify = [&] {
        last = classification(in);
        return *last;
    };
    auto failure = [&] {
        return last && (!last->internal_error.empty() || last->verdict.temporary);
    };
    unsigned sessions = 0;
    while (!in.empty() && sessions < 64) {
        ip25b::Session s(policy, "fuzz-" + std::to_string(sessions++));
        ip25b::ConnectInfo info;
        const uint8_t how = in.byte();
        if (how & 1) info.client = ip25b::IpAddress::v4(uint32_t(in.u16()) << 16 | in.u16());
        info.client_port = in.u16();
        info.hostname = in.str();
        info.daemon_name = how & 2 ? "ORIGINATING" : in.str();
        if (how & 4) info.daemon_port = in.u16();
        last.reset();
        ip25b::StepResult first = s.connect(info, classify);
        std::optional<ip25b::Reply> decided_reply;
        bool authenticated = false;
        auto step = [&](const ip25b::StepResult& r) {
            if (r.reply == ip25b::Reply::Reject && failure()) abort();
            // Authenticated sessions always pass, even after a refusal (RSET, AUTH, MAIL).
            if (authenticated && r.reply != ip25b::Reply::Continue) abort();
            if (s.decided()) {
                if (decided_reply && *decided_reply != r.reply && !authenticated) abort();
                decided_reply = r.reply;
            }
        };
        step(first);
        for (bool open = true; open && !in.empty();) {
            switch (in.byte() % 6) {
            case 0:
                step(s.helo(in.str(), classify));
                break;
            case 1: {
                const std::string sender = in.str();
                const uint8_t a = in.byte();
                const std::string auth = in.str();
                if (a & 1 && !auth.empty()) authenticated = true;
                step(s.mail(sender, a & 1 ? std::optional<std::string_view>(auth) : std::nullopt,
                            in.str(), classify));
                break;
            }
            case 2: {
                const std::string rcpt = in.str();
                step(s.rcpt(rcpt, in.str(), classify));
                break;
            }
            case 3:
                s.abort_message();
                break;
            case 4:
                (void)s.header_to_add();
                break;
            case 5:
                open = false;
                break; // close: the record is written
            }
        }
        check_record(s.record());
    }
    return 0;
}
