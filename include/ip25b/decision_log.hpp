// ip25b/decision_log.hpp — one structured record per decided SMTP session.
//
// A postmaster must be able to answer "why was this client refused, by which
// rule, at which stage, for which sender and recipients" from the log alone,
// so every decided session becomes one JSON line in a file (for tools) and
// one short line to syslog's `mail` facility (for people reading maillog).
// Each record is written and flushed before write() returns, so nothing is
// lost when the daemon reloads or stops; reopen() re-creates the file after
// log rotation (SIGUSR1).
//
// The file holds whole records or none: when a write fails half-way (ENOSPC,
// EIO, a file-size limit) the partial bytes are cut off again, so every line
// is one complete JSON object and the next record never glues onto a torn
// one. A record that cannot be written is dropped and counted (stats(), the
// metrics' records_dropped), and the failure is said loudly on stderr and to
// syslog (LOG_MAIL, whatever log.syslog says): the first at once, then at
// most one line per alarm_interval with the number dropped since, and one
// line "writable again after N dropped records" when writes succeed again.
// A session never waits for or fails because of the log.
#pragma once

#include "ip25b/action.hpp"
#include "ip25b/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ip25b {

struct DecisionRecord {
    std::chrono::system_clock::time_point time;
    std::string session;   // milter session id (unique per process run)
    std::string client_ip; // empty when the MTA gave no usable address
    uint16_t client_port = 0;
    std::string ptr;        // validated PTR name, empty when none
    std::string ptr_status; // ip25b::to_string(PtrStatus), or "not-looked-up"
    std::string cls;        // ip25b::to_string(ClientClass), or "exempt"
    std::string isp;
    std::string feed; // subscribed feed of the deciding rule, "" for local rules
    std::string rule;
    std::string rule_file;
    unsigned rule_line = 0;
    // The generic tier's total and its evidence ("dyn+50", "static:veto"),
    // when it weighed the name; score -1 when it did not.
    int score = -1;
    std::vector<std::string> weighed;
    // What the session got. In a dry run nothing is enforced, so it is Accept
    // and `would` holds the policy's choice; a client refused and then
    // authenticated passed, so it is Accept and `refused_before_auth` holds the
    // lifted refusal.
    Action action = Action::Accept;
    std::string reason; // why: "class dynamic", "exempt: local range", "authenticated", ...
    std::string stage;  // connect, helo, mail, rcpt
    bool dry_run = false;
    std::optional<Action> would;               // dry run only: the action the policy chose
    std::optional<Action> refused_before_auth; // reject/tempfail lifted by a later AUTH
    std::string reply;                         // the SMTP reply sent, when the action replied
    std::string helo;
    std::string sender;
    std::vector<std::string> recipients;
    std::string auth; // {auth_authen}, when authenticated
    std::string queue_id;
    int64_t dns_us = -1; // wall time of the PTR lookup; -1 when none was made
    std::string dns_detail;
};

struct DecisionLogConfig {
    std::string json_file; // JSON lines; empty: no file
    bool syslog = true;    // short line to LOG_MAIL
    std::string ident = "ip25b-milter";
    bool stderr_copy = false; // also print the short line on stderr (foreground runs)
    // Least time between two "still failing" lines while records are dropped.
    std::chrono::milliseconds alarm_interval{10000};
};

class DecisionLog {
  public:
    // Opens (creates, appends to) the JSON file; the error names the file.
    static Expected<std::shared_ptr<DecisionLog>> open(const DecisionLogConfig& config);

    // Thread-safe; the JSON line is flushed to the kernel before returning.
    // False when the JSON line could not be written: the record is dropped
    // whole, counted, and the failure reported (see the top of this file).
    bool write(const DecisionRecord& record);
    // Closes and re-opens the JSON file under the same name (log rotation).
    // On failure the old descriptor stays in use and the error is returned.
    std::optional<Error> reopen();

    const DecisionLogConfig& config() const;
    ~DecisionLog();

    // Records this log wrote to / dropped from its JSON file; writable is
    // false from a failed write until the next one that succeeds.
    struct Stats {
        uint64_t written = 0, dropped = 0;
        bool writable = true;
    };
    Stats stats() const;

    // The record as one JSON object / the short syslog line (exposed for tests).
    static std::string to_json(const DecisionRecord& record);
    static std::string to_line(const DecisionRecord& record);

  private:
    DecisionLog();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
