// ip25b/feed_format.hpp — the signed rule feed an ISP publishes: one TOML document.
//
// A feed bundles an ISP's rule files with a [feed] header (name, publisher,
// serial, publication and expiry time) so that a receiver gets all of them
// atomically, under one detached signature, and can refuse an old copy
// replayed to it (the serial only grows) or a copy nobody refreshed (expiry).
// The signature is checked over the exact bytes before this parser sees
// them; the parser is strict anyway (unknown keys, unsafe file names and
// oversized files are errors) because a publisher's mistakes must not reach
// a receiver's matcher. rules/README.md ("Feeds") is the spec.
#pragma once

#include "ip25b/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

inline constexpr int kFeedFormat = 1;
inline constexpr size_t kMaxFeedFiles = 256;

struct FeedHeader {
    std::string name;      // the feed's identity; receivers name it the same in their config
    std::string publisher; // who publishes it ("Example Net")
    std::string contact;   // optional: where to report a problem
    uint64_t serial = 0;   // strictly increasing per feed
    std::chrono::sys_seconds published{};
    std::chrono::sys_seconds expires{};
};

struct FeedFile {
    std::string name;    // a plain file name ending in .toml (no directories)
    std::string content; // the rule file's text, byte for byte
};

struct Feed {
    FeedHeader header;
    std::vector<FeedFile> files;
};

// 1-64 of a-z 0-9 . _ -, starting with a letter or digit (it names a directory).
bool valid_feed_name(std::string_view name);
// A file name inside a feed: [A-Za-z0-9][A-Za-z0-9._-]*.toml, at most 128 bytes.
bool valid_feed_file_name(std::string_view name);

// The document text; parse_feed(serialize_feed(f)) gives f back.
std::string serialize_feed(const Feed& feed);
// Errors name `origin` and the line.
Expected<Feed> parse_feed(std::string_view text, const std::string& origin);

// RFC 3339 UTC, "2026-11-30T21:00:00Z".
std::string format_utc(std::chrono::sys_seconds t);

// What a receiver does with a verified feed, given the serial it has
// installed (0: none).
enum class FeedAcceptance : uint8_t { Install, Unchanged, Refuse };
struct FeedCheck {
    FeedAcceptance outcome = FeedAcceptance::Refuse;
    std::string reason; // for Refuse: why, in words an operator can act on
};
// `same_as_installed`: the document is byte-identical to the installed one.
FeedCheck check_feed(const FeedHeader& h, std::string_view expected_name, uint64_t installed_serial,
                     bool same_as_installed, std::chrono::sys_seconds now);

} // namespace ip25b
