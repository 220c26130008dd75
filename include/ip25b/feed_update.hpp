// ip25b/feed_update.hpp — one receiver-side update of one subscribed feed.
//
// fetch (conditional) → fetch signature → verify → parse → name, rollback
// and expiry checks → stage → every file an `isp` rule file → lint → commit.
// Any step that fails leaves the installed serial in force and records the
// reason in the feed's state file; `ip25b update` is a thin loop over this
// and then asks the milter to reload when something new was installed.
#pragma once

#include "ip25b/config.hpp"
#include "ip25b/feed_store.hpp"

#include <chrono>
#include <string>

namespace ip25b {

enum class FeedUpdateStatus : uint8_t {
    Installed, // a new serial is current
    Unchanged, // 304, or the same serial byte for byte
    NotDue,    // checked less than `refresh` ago (without --force)
    Failed,    // refused or unreachable: the last good copy stays in force
};

struct FeedUpdateOutcome {
    FeedUpdateStatus status = FeedUpdateStatus::Failed;
    std::string message;        // one line for the log
    uint64_t serial = 0;        // serial in force afterwards (0: none)
    uint64_t bytes_fetched = 0; // body bytes of the feed and signature transfers
};

FeedUpdateOutcome update_feed(const FeedConfig& feed, const std::string& state_dir, bool force,
                              std::chrono::sys_seconds now);

} // namespace ip25b
