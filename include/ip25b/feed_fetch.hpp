// ip25b/feed_fetch.hpp — one HTTPS GET of a feed or its signature, with libcurl.
//
// A feed URL is untrusted input from the network: only https:// is fetched
// (redirects too), the server's certificate must verify (against the system
// store or a pinned CA file), the body is capped (the transfer is aborted as
// soon as it would exceed the cap, whatever Content-Length said), and both
// connecting and the whole transfer are bounded in time. Conditional GET
// (If-None-Match / If-Modified-Since from the last good fetch) makes an
// unchanged feed cost one 304 and no body.
#pragma once

#include "ip25b/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace ip25b {

// The defaults of a fetch, which a configured feed ([[feeds]]) takes over.
inline constexpr size_t kDefaultFetchMaxBytes = 4 * 1024 * 1024;
inline constexpr std::chrono::milliseconds kDefaultFetchConnectTimeout{10000};
inline constexpr std::chrono::milliseconds kDefaultFetchTimeout{60000};

struct FetchRequest {
    std::string url;
    std::string ca_file; // empty: the system's CA store
    size_t max_bytes = kDefaultFetchMaxBytes;
    std::chrono::milliseconds connect_timeout = kDefaultFetchConnectTimeout;
    std::chrono::milliseconds timeout = kDefaultFetchTimeout;
    std::string etag;          // from the last good fetch; "" = unconditional
    std::string last_modified; // "
};

struct FetchResult {
    bool not_modified = false; // 304: body is empty, the copy we have is current
    long status = 0;
    std::string body;
    std::string etag;
    std::string last_modified;
    uint64_t bytes_received = 0; // body bytes that came over the wire
};

// Errors name the URL and say what failed ("timed out after 3000 ms",
// "certificate does not verify: …", "body larger than 4194304 bytes",
// "HTTP 404", "transfer closed with 1200 bytes missing").
Expected<FetchResult> fetch_https(const FetchRequest& req);

} // namespace ip25b
