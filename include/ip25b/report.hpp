// ip25b/report.hpp — a postmaster's summary of the decision log.
//
// The milter writes one JSON line per decided session (decision_log.hpp).
// Postmasters need the totals (per action, class, ISP, rule, day) and, above
// all, the refused clients that might be real MTAs (false-positive
// candidates), so they can allowlist them before a sender complains. This
// module reads those lines and computes both; `ip25b report` prints them.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace ip25b {

// A refused client that looks like a real MTA, with the reasons why.
struct SuspectClient {
    std::string client_ip;
    std::string ptr;
    std::string isp;
    std::string rule;                 // "file:line rule-id"
    uint64_t refusals = 0;            // enforced
    uint64_t dry_refusals = 0;        // dry run: would have been refused
    std::vector<std::string> reasons; // "HELO equals its forward-confirmed PTR", ...
    std::vector<std::string> senders; // a few envelope senders, for contacting them
};

// Refusals are what clients actually got. A dry-run record ("action":
// "accept", "would": "reject") is counted apart, under what it would have
// done; a client refused and then authenticated counts as passed. Records
// written before these fields existed ("dry_run": true with the policy's
// action; "then authenticated" in the reason) are read the same way.
struct Report {
    uint64_t records = 0;
    uint64_t bad_lines = 0;                        // lines that are not decision records
    std::map<std::string, uint64_t> by_action;     // what clients got: reject, accept, ...
    std::map<std::string, uint64_t> dry_run_would; // dry run: reject, tag, ... (not enforced)
    std::map<std::string, uint64_t> dry_run_refused_by_isp;
    uint64_t late_auth_passes = 0;                    // refused, then authenticated: passed
    std::map<std::string, uint64_t> by_class;         // dynamic, exempt, ...
    std::map<std::string, uint64_t> refused_by_class; // dynamic, generic, cloud, ...
    std::map<std::string, uint64_t> refused_by_isp;
    std::map<std::string, uint64_t> refused_by_rule; // "file:line rule-id"
    std::map<std::string, uint64_t> refused_by_day;  // YYYY-MM-DD (UTC)
    std::vector<SuspectClient> suspects;             // most refusals first
};

// Reads decision records (JSON lines) from every input in turn (several
// files: a log and its rotations). Lines that do not parse are counted, not
// fatal: a log being written may end in a partial line.
Report build_report(const std::vector<std::istream*>& inputs);

std::string report_text(const Report& r, size_t top = 10);
std::string report_json(const Report& r);

} // namespace ip25b
