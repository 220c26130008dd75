// ip25b/config.hpp — the operator's configuration file (TOML).
//
// One file says which rules to load, how to resolve, what to do with each
// class of client, where to log and where the milter listens. It is read at
// start, by `-n`, and on every reload, so it is strict: an unknown key, a
// wrong type or a bad value is an error naming file:line, never a silent
// default. Every key has a default (contrib/ip25b.conf documents them), so an
// empty file is a working configuration. Relative paths in the file are
// resolved against the directory of the file itself, so a config and its
// rules can move together.
#pragma once

#include "ip25b/classifier.hpp"
#include "ip25b/decision_log.hpp"
#include "ip25b/error.hpp"
#include "ip25b/feed_fetch.hpp"
#include "ip25b/policy.hpp"
#include "ip25b/resolver.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ip25b {

struct DnsConfig {
    // "ip", "ip:port", "[v6]:port"; empty: the servers of /etc/resolv.conf.
    std::vector<std::string> servers;
    // Defaults: the resolver's and the PTR cache's own (resolver.hpp, ptr_cache.hpp).
    std::chrono::milliseconds timeout{kDefaultDnsTimeoutMs}; // per try
    unsigned tries = kDefaultDnsTries;
    std::chrono::milliseconds deadline{kDefaultDnsDeadlineMs}; // a session's wait for its PTR
    size_t cache_size = kDefaultCacheEntries;                  // addresses kept
    std::chrono::seconds cache_min_ttl{kDefaultCacheMinTtl};
    std::chrono::seconds cache_max_ttl{kDefaultCacheMaxTtl};
    std::chrono::seconds negative_ttl{kDefaultNegativeTtl}; // NXDOMAIN/NODATA
    std::chrono::seconds tempfail_ttl{kDefaultTempfailTtl}; // SERVFAIL/timeout
};

struct LogConfig {
    std::string json_file;      // decision records as JSON lines; empty: none
    bool syslog = true;         // short decision line and daemon messages to LOG_MAIL
    std::string level = "info"; // daemon messages: debug, info, warning, error
};

struct MilterConfig {
    std::string socket = "inet:8899@127.0.0.1";
    std::string user;    // drop privileges to this user after opening sockets and files
    std::string pidfile; // empty: none
    // A unix socket's permissions: the MTA runs as another user and must be
    // able to connect (write permission), so group access is the default.
    unsigned socket_mode = 0660;
    std::string socket_group; // empty: the primary group of `user` (or unchanged)
    // `ip25b status` talks to this unix socket; empty: derived from `socket`
    // (see control_socket_path()), "none": no control socket.
    std::string control_socket;
    // libmilter's wait for the MTA's next command (smfi_settimeout); its own
    // default is over two hours, so a silent connection held its FD and
    // worker slot that long. Above Postfix's smtpd_timeout (300 s): the MTA is
    // silent while its SMTP client is slow, and a legitimate slow client must
    // not lose its milter.
    std::chrono::seconds timeout{600};
    // How long a stop waits for the sessions in flight before cutting them off (a
    // second stop signal cuts at once). Long enough for a large DATA phase; the
    // service manager's stop timeout (TimeoutStopSec=45) must exceed it. Read at
    // the stop, so a reload changes it.
    std::chrono::seconds drain_limit{30};
};

// Keys of [milter] that differ between two configs ("socket", "user", ...):
// they take effect only at a restart.
std::vector<std::string> changed_milter_keys(const MilterConfig& a, const MilterConfig& b);

// Where the control socket is: the configured path, else next to a unix
// milter socket ("<socket>.ctl"), else /run/ip25b/control.sock. Empty: none.
std::string control_socket_path(const MilterConfig& m);

struct MetricsConfig {
    std::string listen; // "127.0.0.1:9125" or "[::1]:9125": Prometheus HTTP endpoint; empty: off
};

// One subscribed rule feed ([[feeds]]): fetched by `ip25b update`, loaded
// from <update.state_dir>/<name>/current/rules/ by the milter.
struct FeedConfig {
    std::string name;       // must equal the feed document's [feed] name
    std::string url;        // https:// only; the signature is at url + ".minisig"
    std::string public_key; // minisign public key, base64 ("RW…")
    std::string ca_file;    // optional pinned CA bundle (PEM)
    std::chrono::seconds refresh{3600};
    // Defaults: the fetcher's own (feed_fetch.hpp).
    size_t max_size = kDefaultFetchMaxBytes;
    std::chrono::milliseconds connect_timeout = kDefaultFetchConnectTimeout;
    std::chrono::milliseconds timeout = kDefaultFetchTimeout;
    std::string where; // file:line of the [[feeds]] entry
};

struct UpdateConfig {
    std::string state_dir = "/var/lib/ip25b/feeds";
};

struct Config {
    std::string file; // where it was read ("" for the built-in defaults)
    ClassifierConfig rules;
    std::vector<FeedConfig> feeds;
    UpdateConfig update;
    DnsConfig dns;
    PolicyConfig policy;
    LogConfig log;
    MilterConfig milter;
    MetricsConfig metrics;
};

// Parses TOML text. `name` is used in error messages; relative paths are
// resolved against `base_dir` (empty: left as written).
Expected<Config> parse_config(std::string_view text, const std::string& name,
                              const std::string& base_dir);
// Reads and parses a file; relative paths resolve against its directory.
Expected<Config> load_config(const std::string& path);

// The resolver settings a [dns] section asks for.
ResolverOptions resolver_options(const DnsConfig& dns);

// For `--rules PATH` / `--dns HOST:PORT` given on the command line.
bool valid_dns_server(std::string_view spec);

} // namespace ip25b
