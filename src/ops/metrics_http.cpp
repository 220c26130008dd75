// metrics_http.cpp — GET /metrics through civetweb.
#include "ip25b/metrics_http.hpp"

#include <civetweb.h>

#include <cstring>
#include <mutex>

namespace ip25b {

struct MetricsHttp::Impl {
    Render render;
    mg_context* ctx = nullptr;
};

namespace {

int handle_metrics(mg_connection* conn, void* cbdata) {
    auto* impl = static_cast<MetricsHttp::Impl*>(cbdata);
    const mg_request_info* ri = mg_get_request_info(conn);
    if (!ri || !ri->request_method ||
        (std::strcmp(ri->request_method, "GET") != 0 &&
         std::strcmp(ri->request_method, "HEAD") != 0)) {
        mg_send_http_error(conn, 405, "%s", "only GET\n");
        return 405;
    }
    std::string body = impl->render();
    mg_send_http_ok(conn, "text/plain; version=0.0.4; charset=utf-8",
                    static_cast<long long>(body.size()));
    if (std::strcmp(ri->request_method, "GET") == 0) mg_write(conn, body.data(), body.size());
    return 200;
}

int handle_other(mg_connection* conn, void*) {
    mg_send_http_error(conn, 404, "%s", "see /metrics\n");
    return 404;
}

// civetweb prints its own start-up errors; they come back through mg_start2's error text.
int quiet_log(const mg_connection*, const char*) {
    return 1;
}

} // namespace

Expected<std::unique_ptr<MetricsHttp>> MetricsHttp::start(const std::string& listen,
                                                          Render render) {
    static std::once_flag init;
    std::call_once(init, [] { mg_init_library(0); });
    std::unique_ptr<MetricsHttp> m(new MetricsHttp());
    m->impl_ = std::make_unique<Impl>();
    m->impl_->render = std::move(render);
    // civetweb wants "[::1]:9125" for IPv6 and "127.0.0.1:9125" for IPv4, as written.
    const char* options[] = {"listening_ports",
                             listen.c_str(),
                             "num_threads",
                             "2",
                             "enable_directory_listing",
                             "no",
                             "request_timeout_ms",
                             "5000",
                             "enable_keep_alive",
                             "no",
                             nullptr};
    mg_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = quiet_log;
    char text[256] = "";
    unsigned code = 0;
    mg_error_data error{&code, text, sizeof text};
    mg_init_data init_data{&callbacks, m->impl_.get(), options};
    m->impl_->ctx = mg_start2(&init_data, &error);
    if (!m->impl_->ctx)
        return Error{"", 0, "metrics.listen " + listen + ": " + (text[0] ? text : "cannot start")};
    mg_set_request_handler(m->impl_->ctx, "/metrics$", handle_metrics, m->impl_.get());
    mg_set_request_handler(m->impl_->ctx, "/", handle_other, nullptr);
    return m;
}

MetricsHttp::~MetricsHttp() {
    if (impl_ && impl_->ctx) mg_stop(impl_->ctx);
}

} // namespace ip25b
