// feed_update.cpp — the receiver's pipeline for one feed; every refusal keeps the old copy.
#include "ip25b/feed_update.hpp"

#include "ip25b/feed_fetch.hpp"
#include "ip25b/feed_signature.hpp"
#include "ip25b/lint.hpp"
#include "ip25b/rule_file.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace ip25b {

namespace {

constexpr size_t kMaxSignatureBytes = 8 * 1024;

std::string in_force(uint64_t serial) {
    return serial ? fmt::format("serial {} stays in force", serial)
                  : std::string("no copy installed yet");
}

} // namespace

FeedUpdateOutcome update_feed(const FeedConfig& feed, const std::string& state_dir, bool force,
                              std::chrono::sys_seconds now) {
    FeedUpdateOutcome out;
    const std::string dir = feed_directory(state_dir, feed.name);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        out.message = fmt::format("cannot create {}: {}", dir, ec.message());
        return out;
    }
    auto loaded = load_feed_state(dir);
    if (!loaded) {
        out.message = loaded.error().to_string();
        return out;
    }
    FeedState state = loaded.value();
    out.serial = state.serial;
    if (!force && state.checked_at.time_since_epoch().count() != 0 &&
        now < state.checked_at + feed.refresh) {
        out.status = FeedUpdateStatus::NotDue;
        out.message = fmt::format("checked {} s ago, refresh is {} s",
                                  (now - state.checked_at).count(), feed.refresh.count());
        return out;
    }
    const std::string installed_doc = installed_feed_document(dir);

    // Every early return below is a refusal: record it and keep what is installed.
    auto refuse = [&](const std::string& reason) {
        out.status = FeedUpdateStatus::Failed;
        out.message = reason + "; " + in_force(state.serial);
        state.checked_at = now;
        state.last_error = reason;
        state.last_error_at = now;
        if (auto e = save_feed_state(dir, state)) out.message += "; " + e->to_string();
        return out;
    };

    auto key = parse_public_key(feed.public_key, feed.where);
    if (!key) return refuse(key.error().to_string());

    FetchRequest req;
    req.url = feed.url;
    req.ca_file = feed.ca_file;
    req.max_bytes = feed.max_size;
    req.connect_timeout = feed.connect_timeout;
    req.timeout = feed.timeout;
    if (!installed_doc.empty()) {
        req.etag = state.etag;
        req.last_modified = state.last_modified;
    }
    auto body = fetch_https(req);
    if (!body) return refuse("fetch " + body.error().to_string());
    out.bytes_fetched = body->bytes_received;

    auto finish_unchanged = [&](const std::string& how) {
        if (state.expires <= now)
            return refuse(fmt::format("{}, but the installed serial {} expired at {}: the "
                                      "publisher has not refreshed it",
                                      how, state.serial, format_utc(state.expires)));
        out.status = FeedUpdateStatus::Unchanged;
        out.message = fmt::format("{}; serial {} in force", how, state.serial);
        state.checked_at = now;
        state.last_error.clear();
        if (auto e = save_feed_state(dir, state)) return refuse(e->to_string());
        return out;
    };
    if (body->not_modified) return finish_unchanged("not modified (HTTP 304)");

    FetchRequest sreq = req;
    sreq.url = feed.url + ".minisig";
    sreq.max_bytes = kMaxSignatureBytes;
    sreq.etag.clear();
    sreq.last_modified.clear();
    auto sig = fetch_https(sreq);
    if (!sig) return refuse("fetch " + sig.error().to_string());
    out.bytes_fetched += sig->bytes_received;

    auto verified = verify_feed(key.value(), body->body, sig->body, sreq.url);
    if (!verified) return refuse(verified.error().to_string());

    auto parsed = parse_feed(body->body, feed.url);
    if (!parsed) return refuse("signed but unreadable: " + parsed.error().to_string());
    const Feed& doc = parsed.value();

    uint64_t installed_serial = state.serial;
    if (installed_serial == 0 && !installed_doc.empty())
        if (auto prev = parse_feed(installed_doc, dir)) installed_serial = prev->header.serial;
    auto check =
        check_feed(doc.header, feed.name, installed_serial, body->body == installed_doc, now);
    if (check.outcome == FeedAcceptance::Refuse) return refuse(check.reason);
    if (check.outcome == FeedAcceptance::Unchanged) {
        state.etag = body->etag;
        state.last_modified = body->last_modified;
        return finish_unchanged("same serial, same content");
    }

    auto staging = stage_feed(dir, doc, body->body, sig->body);
    if (!staging) return refuse(staging.error().to_string());
    const std::string rules = staging.value() + "/rules";
    // A feed speaks for its publisher's own pools: an allowlist or a generic
    // rule set from a third party would decide about everybody else's names.
    for (const auto& f : doc.files) {
        auto rf = load_rule_file(rules + "/" + f.name);
        if (!rf) {
            discard_staging(staging.value());
            return refuse("feed fails lint: " + rf.error().to_string());
        }
        if (rf->kind != RuleFileKind::Isp) {
            discard_staging(staging.value());
            return refuse(fmt::format("feed file {} is of kind \"{}\"; a feed carries only "
                                      "\"isp\" rule files",
                                      f.name, to_string(rf->kind)));
        }
    }
    LintReport lint = lint_paths({rules});
    if (lint.errors() > 0) {
        std::string first;
        for (const auto& f : lint.findings)
            if (f.severity == LintSeverity::Error) {
                first = f.to_string();
                break;
            }
        discard_staging(staging.value());
        return refuse(fmt::format("feed fails lint ({} errors), first: {}", lint.errors(), first));
    }
    if (auto e = commit_feed(dir, staging.value(), doc.header.serial)) {
        discard_staging(staging.value());
        return refuse(e->to_string());
    }
    state.serial = doc.header.serial;
    state.publisher = doc.header.publisher;
    state.published = doc.header.published;
    state.expires = doc.header.expires;
    state.installed_at = now;
    state.checked_at = now;
    state.last_error.clear();
    state.etag = body->etag;
    state.last_modified = body->last_modified;
    out.status = FeedUpdateStatus::Installed;
    out.serial = doc.header.serial;
    out.message =
        fmt::format("installed serial {} from {} ({} files, expires {}){}", doc.header.serial,
                    doc.header.publisher, doc.files.size(), format_utc(doc.header.expires),
                    installed_serial ? fmt::format(", replacing serial {}", installed_serial) : "");
    if (auto e = save_feed_state(dir, state)) out.message += "; state not saved: " + e->to_string();
    return out;
}

} // namespace ip25b
