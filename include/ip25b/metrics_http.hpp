// ip25b/metrics_http.hpp — the optional Prometheus endpoint (`[metrics] listen`).
//
// Monitoring systems scrape HTTP, so the counters (metrics.hpp) are also
// served as Prometheus text on GET /metrics. The HTTP side is civetweb (Debian's
// libcivetweb), configured for one purpose: one listener, two worker threads,
// no files, no directory listing, no CGI, no other path. It is off by default
// and meant for a local address.
#pragma once

#include "ip25b/error.hpp"

#include <functional>
#include <memory>
#include <string>

namespace ip25b {

class MetricsHttp {
  public:
    using Render = std::function<std::string()>; // the Prometheus text

    // `listen`: "127.0.0.1:9125" or "[::1]:9125". Errors name the address and
    // civetweb's reason (e.g. the port is in use).
    static Expected<std::unique_ptr<MetricsHttp>> start(const std::string& listen, Render render);
    ~MetricsHttp();

    struct Impl; // civetweb's callbacks reach it through their user data

  private:
    MetricsHttp() = default;
    std::unique_ptr<Impl> impl_;
};

} // namespace ip25b
