#include "ip25b/client_decision.hpp"

#include <stdexcept>

namespace ip25b {

Classified classify_client(const Classifier& classifier, const std::optional<IpAddress>& client,
                           const std::optional<Verdict>& by_address, const PtrLookupFn& lookup) {
    // The policy turns this into its internal_error action, never a reject.
    if (!client) throw std::runtime_error("no client address to classify");
    Classified out;
    if (by_address) {
        out.ptr.status = PtrStatus::NoPtr;
        out.ptr.detail = "not looked up: decided by address";
        out.verdict = *by_address;
        return out;
    }
    out.ptr = lookup();
    out.looked_up = true;
    out.verdict = classifier.classify(*client, out.ptr);
    return out;
}

ClientDecision decide_client(std::shared_ptr<const Policy> policy, const Classifier& classifier,
                             const ClientFacts& facts, const PtrLookupFn& lookup,
                             std::string session_id) {
    ClientDecision d;
    Session session(std::move(policy), std::move(session_id));
    const auto& client = facts.connect.client;
    const std::optional<Verdict> by_address =
        client ? classifier.classify_address(*client) : std::nullopt;
    const ClassifyFn classify = [&] {
        d.classified = classify_client(classifier, client, by_address, lookup);
        return *d.classified;
    };
    // Each step as the milter glue calls it; the first refusal ends the
    // session, as the MTA would end it.
    auto answered = [&](Stage at, StepResult r) {
        d.stage = at;
        d.reply = std::move(r);
        return d.reply.reply != Reply::Continue;
    };
    [&] {
        if (answered(Stage::Connect, session.connect(facts.connect, classify))) return;
        if (answered(Stage::Helo, session.helo(facts.helo, classify))) return;
        if (answered(Stage::Mail, session.mail(facts.sender, facts.auth, facts.queue_id, classify)))
            return;
        for (const auto& r : facts.recipients)
            if (answered(Stage::Rcpt, session.rcpt(r, facts.queue_id, classify))) return;
    }();
    d.reply.start_lookup = false;
    d.decided = session.decided();
    d.record = session.record();
    return d;
}

} // namespace ip25b
