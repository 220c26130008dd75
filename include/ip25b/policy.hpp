// ip25b/policy.hpp — what the milter does with a classified client, and when.
//
// The classifier says what a client is (dynamic, self-dynamic, ...); this
// module says what to do about it: exemptions that need no lookup, the
// authenticated-session pass, the stage at which the verdict is enforced,
// the action per class with per-rule/per-ISP overrides, the failure policy
// (a DNS or internal failure is never a permanent reject), the reply text,
// and the dry-run switch. It knows nothing of libmilter: the milter glue
// feeds a Session the events of one SMTP connection and does what each step
// answers, so every decision is unit-testable without an MTA.
#pragma once

#include "ip25b/action.hpp"
#include "ip25b/address.hpp"
#include "ip25b/decision_log.hpp"
#include "ip25b/ptr_result.hpp"
#include "ip25b/verdict.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

enum class Stage : uint8_t { Connect, Helo, Mail, Rcpt };

std::string_view to_string(Stage s);
std::optional<Stage> parse_stage(std::string_view text); // "connect", ..., "rcpt"

// An operator's exception to the per-class action, e.g. tag instead of
// reject for one ISP during roll-out. Rule overrides win over ISP overrides.
struct PolicyOverride {
    std::string rule; // rule id ("ocn-dynamic", "line 12"); empty: any rule
    std::string file; // with rule: the rule's file, whole path or base name; empty: any
    std::string isp;  // ISP name as in the rule file; empty: any
    Action action = Action::Accept;
    std::string where; // config file:line, for logs
};

// The loopback, private, shared, link-local and unique-local ranges that are
// exempt unless the operator configures `local_ranges`.
std::vector<Cidr> default_local_ranges();

struct PolicyConfig {
    Stage stage = Stage::Rcpt;
    Action dynamic = Action::Reject;
    Action self_dynamic = Action::Reject;
    Action allowlisted = Action::Accept;
    Action unknown_ptr = Action::Accept;
    Action none = Action::Accept;
    Action cloud = Action::Accept;       // provider-generated cloud/VM names: a server, not a pool
    Action generic = Action::Tempfail;   // the generic tier's guess: a real MTA misjudged retries
    Action dns_failure = Action::Accept; // only accept or tempfail
    Action internal_error = Action::Accept; // only accept or tempfail
    bool dry_run = false;
    std::vector<Cidr> allowlist; // partners, own MSAs
    std::vector<Cidr> local_ranges = default_local_ranges();
    std::vector<std::string> submission_daemon_names = {"ORIGINATING", "MSA"};
    std::vector<uint16_t> submission_ports = {465, 587};
    std::vector<PolicyOverride> overrides;
    std::string reject_code = "550 5.7.1";
    std::string tempfail_code = "450 4.7.1";
    std::string dns_failure_code = "451 4.4.3";
    std::string reply_dynamic = "{ip} ({ptr}) is a dynamic address of {isp}; send through your "
                                "provider's mail server (port 587, SMTP AUTH)";
    std::string reply_self_dynamic = "{ip} ({ptr}) is one of our own dynamic addresses; send "
                                     "through our mail server (port 587, SMTP AUTH)";
    std::string reply_unknown_ptr = "{ip} has no forward-confirmed reverse DNS name; send through "
                                    "your provider's mail server (port 587, SMTP AUTH)";
    std::string reply_dns_failure = "cannot verify the reverse DNS name of {ip}; try again later";
    std::string reply_generic = "{ip} ({ptr}) looks like an end-user address ({reason}); send "
                                "through your provider's mail server (port 587, SMTP AUTH)";
    std::string reply_cloud = "{ip} ({ptr}) has a provider-generated name of {isp}; give your "
                              "mail server a name of its own, or send through your mail "
                              "provider (port 587, SMTP AUTH)";
    std::string reply_other = "{ip} ({ptr}) is refused by local policy ({class})";
    std::string tag_header = "X-IP25B";
};

// What the MTA is told at one step.
enum class Reply : uint8_t { Continue, Reject, Tempfail };

struct StepResult {
    Reply reply = Reply::Continue;
    // For Reject/Tempfail: "550", "5.7.1" and the text, already escaped for
    // libmilter's smfi_setreply ('%' doubled, no control characters).
    std::string rcode, xcode, text;
    std::string plain_text;    // the same text unescaped, for logs
    bool start_lookup = false; // connect only: begin the PTR lookup now
};

// What the glue must supply when the session needs the verdict: the PTR
// lookup result (waited for with the deadline) and the classification.
struct Classified {
    PtrResult ptr;
    Verdict verdict;
    bool looked_up = false;     // a lookup was made (dns_us valid)
    std::string internal_error; // non-empty: classification impossible (why)
};
using ClassifyFn = std::function<Classified()>;

struct ConnectInfo {
    std::optional<IpAddress> client; // nullopt: no address or a family we do not judge
    uint16_t client_port = 0;
    std::string hostname;    // as the MTA passed it ("[1.2.3.4]" when unresolved)
    std::string daemon_name; // {daemon_name}
    std::optional<uint16_t> daemon_port;
};

class Policy {
  public:
    explicit Policy(PolicyConfig config);
    const PolicyConfig& config() const { return c_; }

    // Why this connection needs no judgement ("local range 127.0.0.0/8"), or nullopt.
    std::optional<std::string> exemption(const ConnectInfo& info) const;
    // The action for a classified client, after overrides and the failure
    // policy (never Reject for a temporary or internal failure). `why` says
    // which setting decided ("class dynamic", "override isp=OCN at f:3").
    Action action_for(const Classified& c, std::string* why = nullptr) const;
    // The reply for a Reject or Tempfail of this client.
    StepResult reply_for(Action action, const Classified& c, const IpAddress* client) const;
    // The value of the tag header: class, ISP, rule, file:line.
    std::string tag_value(const Classified& c) const;

  private:
    PolicyConfig c_;
};

// Fills a template: {ip} {ptr} {isp} {rule} {class} {file} {feed} {reason}; unknown
// placeholders stay as written. {reason} is, for a generic verdict, the
// evidence that counted ("generic name: dyn, pool, client-address"), else the
// class. Exposed for tests.
std::string render_template(std::string_view tmpl, const Classified& c, const IpAddress* client);
// libmilter reply text: '%' doubled, control characters replaced, bounded length.
std::string escape_reply(std::string_view text);

// One SMTP connection as the policy sees it. The glue calls the step for each
// milter callback it receives and does what the result says; the session
// decides once, at the configured stage (or earlier when exempt, later when
// the MTA skipped the stage), and then answers every later step the same.
class Session {
  public:
    Session(std::shared_ptr<const Policy> policy, std::string id);

    StepResult connect(const ConnectInfo& info, const ClassifyFn& classify);
    StepResult helo(std::string_view name, const ClassifyFn& classify);
    // auth: {auth_authen} when present (absent, not empty, when unauthenticated).
    StepResult mail(std::string_view sender, std::optional<std::string_view> auth,
                    std::string_view queue_id, const ClassifyFn& classify);
    StepResult rcpt(std::string_view recipient, std::string_view queue_id,
                    const ClassifyFn& classify);
    // The MTA's queue id when it becomes known later (Postfix: at DATA).
    void note_queue_id(std::string_view queue_id);
    // End of message: the header to add (name, value) when the action is Tag.
    std::optional<std::pair<std::string, std::string>> header_to_add() const;
    // The message was aborted (RSET, client gone): the next MAIL starts afresh,
    // but a decision already taken stays.
    void abort_message();

    bool decided() const { return decided_; }
    const DecisionRecord& record() const { return record_; }
    const Policy& policy() const { return *policy_; }

  private:
    StepResult decide(Stage at, const ClassifyFn& classify);
    StepResult decide_exempt(Stage at, const std::string& reason, const char* cls);
    StepResult enforce() const;
    bool at_or_after_stage(Stage s) const;

    std::shared_ptr<const Policy> policy_;
    ConnectInfo info_;
    bool decided_ = false;
    bool authenticated_ = false;
    Action action_ = Action::Accept;
    StepResult outcome_; // the decision's reply, repeated at later steps
    std::string header_value_;
    DecisionRecord record_;
};

} // namespace ip25b
