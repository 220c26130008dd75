// ip25b/feed_store.hpp — a receiver's copy of each feed on disk, replaced only whole.
//
// Layout under the state directory (config [update] state_dir):
//   <name>/current        symlink to the serial in force, swapped by rename(2)
//   <name>/serial-<N>/    feed.toml + feed.toml.minisig as received, rules/*.toml extracted
//   <name>/state.json     serial, times, ETag/Last-Modified, last error (for `update --list`)
// A new serial is written into a staging directory, fsynced, linted there,
// and becomes current by one atomic rename of the symlink; the milter reads
// <name>/current/rules/, so it sees either the old set or the new one, never
// a mix. The previous serial is kept so a reload that began before the swap
// still finds its files.
#pragma once

#include "ip25b/error.hpp"
#include "ip25b/feed_format.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ip25b {

struct FeedState {
    uint64_t serial = 0; // installed serial; 0: none yet
    std::string publisher;
    std::chrono::sys_seconds published{}, expires{}, installed_at{};
    std::chrono::sys_seconds checked_at{};    // last attempt, successful or not
    std::string last_error;                   // "" after a successful check
    std::chrono::sys_seconds last_error_at{}; // when last_error was set
    std::string etag, last_modified;          // of the installed document
};

// <state_dir>/<name>
std::string feed_directory(const std::string& state_dir, const std::string& name);
// <feed_dir>/current/rules: what the config's rules load for this feed.
std::string feed_rules_directory(const std::string& feed_dir);

// A missing state file is an empty state; a damaged one is an error.
Expected<FeedState> load_feed_state(const std::string& feed_dir);
std::optional<Error> save_feed_state(const std::string& feed_dir, const FeedState& s);

// The installed document's bytes ("" when none).
std::string installed_feed_document(const std::string& feed_dir);

// Writes `bytes` to `path` through `path.tmp-PID`: write, fsync, rename,
// fsync the directory. A crash leaves either the old file or the new one.
std::optional<Error> write_file_atomic(const std::string& path, std::string_view bytes,
                                       unsigned mode = 0644);

// Writes the feed into <feed_dir>/.staging-<serial>/ (fsynced) and returns
// that directory; its rules/ can be linted before commit_feed().
Expected<std::string> stage_feed(const std::string& feed_dir, const Feed& feed,
                                 std::string_view document, std::string_view signature);
// Makes the staged serial current (atomic symlink swap) and prunes serials
// older than the previous one.
std::optional<Error> commit_feed(const std::string& feed_dir, const std::string& staging,
                                 uint64_t serial);
// Removes a staging directory after a refused feed.
void discard_staging(const std::string& staging);

} // namespace ip25b
