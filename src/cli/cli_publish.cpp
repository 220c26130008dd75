// cli_publish.cpp — `ip25b publish`: an ISP turns its rule files into a signed feed.
//
// Lints first and publishes nothing when lint finds an error; refuses a
// serial that is not above the last one published to the same output (kept
// in OUTPUT.serial, or read from the existing OUTPUT), so receivers never see
// a serial go back; writes OUTPUT and OUTPUT.minisig atomically.
#include "ip25b/cli.hpp"
#include "ip25b/feed_format.hpp"
#include "ip25b/feed_signature.hpp"
#include "ip25b/feed_store.hpp"
#include "ip25b/lint.hpp"
#include "ip25b/rule_file.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ip25b::cli {

namespace {

std::optional<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream b;
    b << in.rdbuf();
    return b.str();
}

// "14d", "36h", "90m", or plain seconds.
std::optional<std::chrono::seconds> parse_span(const std::string& s) {
    if (s.empty()) return std::nullopt;
    int64_t mult = 1;
    std::string_view num(s);
    switch (s.back()) {
    case 'd':
        mult = 86400;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'm':
        mult = 60;
        break;
    case 's':
        mult = 1;
        break;
    default:
        break;
    }
    if (s.back() < '0' || s.back() > '9') num.remove_suffix(1);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size() || v <= 0) return std::nullopt;
    return std::chrono::seconds(v * mult);
}

// "2026-11-30T21:00:00Z" (UTC only).
std::optional<std::chrono::sys_seconds> parse_utc(const std::string& s) {
    int y, mo, d, h, mi, se;
    char z = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 ||
        z != 'Z')
        return std::nullopt;
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_seconds{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{se};
}

// The serial last published to `out`: OUTPUT.serial, else OUTPUT's header.
Expected<uint64_t> previous_serial(const std::string& out) {
    if (auto text = read_text(out + ".serial")) {
        uint64_t v = 0;
        std::string t = *text;
        while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
            t.pop_back();
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size())
            return Error{out + ".serial", 1, "not a serial number"};
        return v;
    }
    if (auto text = read_text(out)) {
        auto prev = parse_feed(*text, out);
        if (!prev)
            return Error{out, 0,
                         "exists but is not a feed (" + prev.error().reason +
                             "); cannot tell its serial, refusing to overwrite it"};
        return prev->header.serial;
    }
    return uint64_t{0};
}

int publish(const std::vector<std::string>& inputs, const std::string& key_file,
            const std::string& output, std::string name, std::string publisher,
            const std::string& contact, uint64_t serial, const std::string& expires_in,
            const std::string& now_text) {
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    if (!now_text.empty()) {
        auto t = parse_utc(now_text);
        if (!t) {
            std::fprintf(stderr, "ip25b publish: --now %s: expected 2026-11-30T21:00:00Z\n",
                         now_text.c_str());
            return 2;
        }
        now = *t;
    }
    auto span = parse_span(expires_in);
    if (!span) {
        std::fprintf(stderr, "ip25b publish: --expires-in %s: expected e.g. 14d, 36h, 90m\n",
                     expires_in.c_str());
        return 2;
    }
    if (!valid_feed_name(name)) {
        std::fprintf(stderr, "ip25b publish: --name %s: 1-64 of a-z 0-9 . _ -\n", name.c_str());
        return 2;
    }

    // 1. Lint: nothing is published unless the files are clean of errors.
    LintReport lint = lint_paths(inputs);
    for (const auto& f : lint.findings)
        std::printf("%s\n", f.to_string().c_str());
    std::fflush(stdout);
    if (lint.errors() > 0) {
        std::fprintf(stderr, "ip25b publish: lint found %zu errors; nothing published\n",
                     lint.errors());
        return 1;
    }

    // 2. The files, by plain name; a feed carries isp rule files only.
    Feed feed;
    std::set<std::string> seen, publishers;
    for (const auto& in : inputs) {
        std::vector<std::string> paths;
        std::error_code ec;
        if (std::filesystem::is_directory(in, ec)) {
            auto listed = list_rule_files(in, true);
            if (!listed) {
                std::fprintf(stderr, "ip25b publish: %s\n", listed.error().to_string().c_str());
                return 1;
            }
            paths = listed.value();
        } else {
            paths.push_back(in);
        }
        for (const auto& p : paths) {
            auto rf = load_rule_file(p);
            if (!rf) {
                std::fprintf(stderr, "ip25b publish: %s\n", rf.error().to_string().c_str());
                return 1;
            }
            if (rf->kind != RuleFileKind::Isp) {
                std::fprintf(stderr,
                             "ip25b publish: %s: kind \"%s\"; a feed carries only \"isp\" rule "
                             "files\n",
                             p.c_str(), std::string(to_string(rf->kind)).c_str());
                return 1;
            }
            publishers.insert(rf->meta.name);
            FeedFile ff;
            ff.name = std::filesystem::path(p).filename().string();
            if (!valid_feed_file_name(ff.name) || !seen.insert(ff.name).second) {
                std::fprintf(stderr,
                             "ip25b publish: %s: the file name must be a unique plain *.toml "
                             "name ([A-Za-z0-9._-])\n",
                             p.c_str());
                return 1;
            }
            ff.content = *read_text(p);
            feed.files.push_back(std::move(ff));
        }
    }
    if (feed.files.empty()) {
        std::fprintf(stderr, "ip25b publish: no rule file to publish\n");
        return 1;
    }
    if (publisher.empty()) {
        if (publishers.size() != 1) {
            std::fprintf(stderr, "ip25b publish: the files name several ISPs; say --publisher\n");
            return 2;
        }
        publisher = *publishers.begin();
    }

    // 3. Serial: strictly above the last one published here.
    auto prev = previous_serial(output);
    if (!prev) {
        std::fprintf(stderr, "ip25b publish: %s\n", prev.error().to_string().c_str());
        return 1;
    }
    if (serial == 0) serial = prev.value() + 1;
    if (serial <= prev.value()) {
        std::fprintf(stderr,
                     "ip25b publish: serial %llu is not above %llu, the last one published to "
                     "%s; receivers would refuse it as a rollback\n",
                     static_cast<unsigned long long>(serial),
                     static_cast<unsigned long long>(prev.value()), output.c_str());
        return 1;
    }

    auto key_text = read_text(key_file);
    if (!key_text) {
        std::fprintf(stderr, "ip25b publish: %s: cannot read the secret key\n", key_file.c_str());
        return 1;
    }
    auto key = parse_secret_key(*key_text, key_file);
    if (!key) {
        std::fprintf(stderr, "ip25b publish: %s\n", key.error().to_string().c_str());
        return 1;
    }

    feed.header.name = std::move(name);
    feed.header.publisher = std::move(publisher);
    feed.header.contact = contact;
    feed.header.serial = serial;
    feed.header.published = now;
    feed.header.expires = now + *span;
    std::string doc = serialize_feed(feed);
    // What receivers will parse must parse: check the document round-trips.
    auto back = parse_feed(doc, output);
    if (!back || back->files.size() != feed.files.size()) {
        std::fprintf(stderr, "ip25b publish: internal error: the document does not read back: %s\n",
                     back ? "file count" : back.error().to_string().c_str());
        return 1;
    }
    for (size_t i = 0; i < feed.files.size(); ++i)
        if (back->files[i].content != feed.files[i].content) {
            std::fprintf(stderr, "ip25b publish: internal error: %s does not read back\n",
                         feed.files[i].name.c_str());
            return 1;
        }
    std::string sig = sign_feed(key.value(), doc,
                                fmt::format("ip25b feed {} serial {} expires {}", feed.header.name,
                                            serial, format_utc(feed.header.expires)));
    std::error_code ec;
    auto parent = std::filesystem::path(output).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    // Kept alive for the loop: the list below holds views.
    const std::string serial_text = std::to_string(serial) + "\n";
    for (auto [path, bytes] : {std::pair<std::string, std::string_view>{output, doc},
                               {output + ".minisig", sig},
                               {output + ".serial", serial_text}})
        if (auto e = write_file_atomic(path, bytes)) {
            std::fprintf(stderr, "ip25b publish: %s\n", e->to_string().c_str());
            return 1;
        }
    std::fprintf(stderr,
                 "ip25b publish: %s serial %llu: %zu files, expires %s, signed with key %s\n",
                 output.c_str(), static_cast<unsigned long long>(serial), feed.files.size(),
                 format_utc(feed.header.expires).c_str(), key->public_key().id_hex().c_str());
    return 0;
}

} // namespace

void add_publish_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::vector<std::string> inputs;
        std::string key, output = "rules.toml", name, publisher, contact, expires_in = "14d", now;
        uint64_t serial = 0;
    };
    auto opt = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "publish", "Lint rule files and publish them as a signed feed (OUTPUT + OUTPUT.minisig)");
    cmd->add_option("files", opt->inputs, "isp rule files or directories")->required();
    cmd->add_option("-k,--secret-key", opt->key, "secret key (ip25b keygen, minisign -G -W)")
        ->required();
    cmd->add_option("-o,--output", opt->output, "the feed document to write")
        ->capture_default_str();
    cmd->add_option("-n,--name", opt->name, "feed name (receivers use it in their config)")
        ->required();
    cmd->add_option("--publisher", opt->publisher,
                    "publisher shown to receivers (default: the files' meta.name)");
    cmd->add_option("--contact", opt->contact, "where receivers report problems");
    cmd->add_option("--serial", opt->serial,
                    "serial number (default: the last one published to OUTPUT + 1)");
    cmd->add_option("--expires-in", opt->expires_in, "validity: 14d, 36h, 90m")
        ->capture_default_str();
    cmd->add_option("--now", opt->now,
                    "publication time instead of the clock, UTC (2026-11-30T21:00:00Z); for "
                    "preparing feeds ahead and for tests");
    cmd->callback([opt, &exit_code] {
        exit_code = publish(opt->inputs, opt->key, opt->output, opt->name, opt->publisher,
                            opt->contact, opt->serial, opt->expires_in, opt->now);
    });
}

} // namespace ip25b::cli
