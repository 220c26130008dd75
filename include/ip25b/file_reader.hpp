// ip25b/file_reader.hpp — the one way ip25b reads a configuration, table, rule file or log.
//
// Every file ip25b reads is named by an operator or fetched from an ISP, and is read
// again on every reload of a running daemon. A FIFO named by mistake would hang the
// reload forever, /dev/zero or a runaway file would exhaust memory (std::bad_alloc ends
// the process), so a file is read only if it is a regular file, and never beyond a cap
// chosen per kind of file. Errors are "file: reason", as every loader reports them.
#pragma once

#include "ip25b/error.hpp"

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

namespace ip25b {

// Caps per kind of file. A config is typed by a person; a Postfix table may be a large
// feed (fqrdns.pcre is 160 KB); a decision log is streamed, never held in memory.
inline constexpr uint64_t kMaxConfigBytes = 1024 * 1024;
inline constexpr uint64_t kMaxTableBytes = 64 * 1024 * 1024;
inline constexpr uint64_t kMaxLogBytes = uint64_t{16} * 1024 * 1024 * 1024;

// The whole file, if it is a regular file of at most `max_bytes` (checked again while
// reading, since the file may grow). `what` names the kind in errors ("config file").
Expected<std::string> read_regular_file(const std::string& path, uint64_t max_bytes,
                                        const std::string& what);

// A stream over a regular file of at most `max_bytes`, for readers that go line by line.
Expected<std::unique_ptr<std::ifstream>>
open_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what);

} // namespace ip25b
