// feed_fetch.cpp — libcurl easy handle, HTTPS only, capped and bounded.
#include "ip25b/feed_fetch.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

namespace ip25b {

namespace {

struct Transfer {
    std::string body;
    size_t cap = 0;
    bool over_cap = false;
    std::string etag, last_modified;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    if (t->body.size() + len > t->cap) {
        t->over_cap = true;
        return 0; // aborts the transfer (CURLE_WRITE_ERROR)
    }
    t->body.append(data, len);
    return len;
}

std::string trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
    return std::string(v);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name)
            c = static_cast<char>(c | 0x20);
        // A redirect's headers come first; only the final response's count.
        if (name == "etag") t->etag = trim(line.substr(colon + 1));
        if (name == "last-modified") t->last_modified = trim(line.substr(colon + 1));
    } else if (line.starts_with("HTTP/")) {
        t->etag.clear();
        t->last_modified.clear();
    }
    return size * n;
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

} // namespace

Expected<FetchResult> fetch_https(const FetchRequest& req) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (!req.url.starts_with("https://"))
        return Error{req.url, 0, "only https:// feed URLs are fetched"};

    std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
    if (!h) return Error{req.url, 0, "libcurl cannot create a handle"};
    Transfer t;
    t.cap = req.max_bytes;
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add_header = [&](const std::string& line) {
        headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    if (!req.etag.empty()) add_header("If-None-Match: " + req.etag);
    if (!req.last_modified.empty()) add_header("If-Modified-Since: " + req.last_modified);

    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!req.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_bytes));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ip25b/" IP25B_VERSION " (feed update)");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); // compressed if the server offers it
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(c);
    FetchResult r;
    curl_off_t got = 0;
    curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &got);
    r.bytes_received = static_cast<uint64_t>(got);
    if (rc != CURLE_OK) {
        std::string why;
        if (t.over_cap || rc == CURLE_FILESIZE_EXCEEDED)
            why = fmt::format("body larger than the size cap of {} bytes; transfer aborted",
                              req.max_bytes);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            why = fmt::format("timed out ({})", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
            why = fmt::format("TLS certificate does not verify ({})",
                              errbuf[0] ? errbuf : curl_easy_strerror(rc));
        else
            why = fmt::format("{} ({})", curl_easy_strerror(rc), errbuf[0] ? errbuf : "no detail");
        return Error{req.url, 0, why};
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status == 304) {
        r.not_modified = true;
        r.etag = req.etag;
        r.last_modified = req.last_modified;
        return r;
    }
    if (r.status != 200) return Error{req.url, 0, fmt::format("HTTP status {}", r.status)};
    r.body = std::move(t.body);
    r.etag = std::move(t.etag);
    r.last_modified = std::move(t.last_modified);
    return r;
}

} // namespace ip25b
