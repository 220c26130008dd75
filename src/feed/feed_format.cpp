// feed_format.cpp — writing and strictly reading the feed document.
#include "ip25b/feed_format.hpp"

#include "ip25b/rule_file.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <set>

namespace ip25b {

namespace {

struct FeedError {
    unsigned line;
    std::string reason;
};

[[noreturn]] void fail(const toml::node& n, std::string reason) {
    throw FeedError{static_cast<unsigned>(n.source().begin.line), std::move(reason)};
}

void reject_unknown(const toml::table& t, const std::set<std::string>& known, const char* where) {
    for (const auto& [k, v] : t)
        if (!known.count(std::string(k.str())))
            fail(v, fmt::format("unknown key '{}' in {}", k.str(), where));
}

std::string string_key(const toml::table& t, const char* key, const char* where, bool required) {
    auto* n = t.get(key);
    if (!n) {
        if (required)
            throw FeedError{static_cast<unsigned>(t.source().begin.line),
                            fmt::format("{} needs {}", where, key)};
        return {};
    }
    auto* s = n->as_string();
    if (!s) fail(*n, fmt::format("{}.{} must be a string", where, key));
    return s->get();
}

std::chrono::sys_seconds time_key(const toml::table& t, const char* key) {
    auto* n = t.get(key);
    if (!n)
        throw FeedError{static_cast<unsigned>(t.source().begin.line),
                        fmt::format("[feed] needs {}", key)};
    auto* dt = n->as_date_time();
    if (!dt || !dt->get().offset)
        fail(*n, fmt::format("feed.{} must be a TOML date-time with an offset, e.g. "
                             "2026-12-01T00:00:00Z",
                             key));
    const auto& v = dt->get();
    using namespace std::chrono;
    sys_days day{year{v.date.year} / month{v.date.month} / v.date.day};
    auto t0 = sys_seconds{day} + hours{v.time.hour} + minutes{v.time.minute} +
              seconds{v.time.second} - minutes{v.offset->minutes};
    return t0;
}

// TOML text for a string: a multi-line literal string keeps a rule file
// readable (no escaping of its regexes) whenever it can hold the text.
std::string toml_string(std::string_view s, bool multiline) {
    bool literal_ok = s.find("'''") == std::string_view::npos && (s.empty() || s.back() != '\'');
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t' && (c != '\n' || !multiline)) || c == 0x7f) literal_ok = false;
    if (literal_ok) {
        if (multiline) return "'''\n" + std::string(s) + "'''";
        if (s.find('\'') == std::string_view::npos) return "'" + std::string(s) + "'";
    }
    std::string out = multiline ? "\"\"\"\n" : "\"";
    for (unsigned char c : s) {
        if (c == '\\' || c == '"')
            (out += '\\') += static_cast<char>(c);
        else if (c == '\n' && multiline)
            out += '\n';
        else if (c < 0x20 || c == 0x7f)
            out += fmt::format("\\u{:04X}", c);
        else
            out += static_cast<char>(c);
    }
    out += multiline ? "\"\"\"" : "\"";
    return out;
}

} // namespace

bool valid_feed_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(name.front())) return false;
    for (char c : name)
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

bool valid_feed_file_name(std::string_view name) {
    if (name.size() < 6 || name.size() > 128 || !name.ends_with(".toml")) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(name.front())) return false;
    for (char c : name)
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

std::string format_utc(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss hms{t - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string serialize_feed(const Feed& f) {
    std::string out;
    out += "# ip25b rule feed (rules/README.md, \"Feeds\"). Signed: verify with\n";
    out += "#   minisign -V -m rules.toml -P <the publisher's public key>\n";
    out += "[feed]\n";
    out += fmt::format("format = {}\n", kFeedFormat);
    out += "name = " + toml_string(f.header.name, false) + "\n";
    out += "publisher = " + toml_string(f.header.publisher, false) + "\n";
    if (!f.header.contact.empty())
        out += "contact = " + toml_string(f.header.contact, false) + "\n";
    out += fmt::format("serial = {}\n", f.header.serial);
    out += "published = " + format_utc(f.header.published) + "\n";
    out += "expires = " + format_utc(f.header.expires) + "\n";
    for (const auto& file : f.files) {
        out += "\n[[file]]\n";
        out += "name = " + toml_string(file.name, false) + "\n";
        out += "content = " + toml_string(file.content, true) + "\n";
    }
    return out;
}

Expected<Feed> parse_feed(std::string_view text, const std::string& origin) {
    Feed f;
    try {
        toml::table root = toml::parse(text, origin);
        reject_unknown(root, {"feed", "file"}, "the feed document");
        auto* hn = root.get("feed");
        if (!hn) return Error{origin, 1, "not a feed: no [feed] table"};
        auto* h = hn->as_table();
        if (!h) fail(*hn, "feed must be a table");
        reject_unknown(*h,
                       {"format", "name", "publisher", "contact", "serial", "published", "expires"},
                       "[feed]");
        auto* fmtn = h->get("format");
        if (!fmtn || !fmtn->as_integer() || fmtn->as_integer()->get() != kFeedFormat)
            throw FeedError{
                static_cast<unsigned>(fmtn ? fmtn->source().begin.line : h->source().begin.line),
                fmt::format("feed.format must be {} (this ip25b reads format {})", kFeedFormat,
                            kFeedFormat)};
        f.header.name = string_key(*h, "name", "[feed]", true);
        if (!valid_feed_name(f.header.name))
            fail(*h->get("name"), "feed.name must be 1-64 of a-z 0-9 . _ -, starting with a "
                                  "letter or digit");
        f.header.publisher = string_key(*h, "publisher", "[feed]", true);
        if (f.header.publisher.empty()) fail(*h->get("publisher"), "feed.publisher is empty");
        f.header.contact = string_key(*h, "contact", "[feed]", false);
        auto* sn = h->get("serial");
        if (!sn)
            throw FeedError{static_cast<unsigned>(h->source().begin.line), "[feed] needs serial"};
        if (!sn->as_integer() || sn->as_integer()->get() < 1)
            fail(*sn, "feed.serial must be a positive integer");
        f.header.serial = static_cast<uint64_t>(sn->as_integer()->get());
        f.header.published = time_key(*h, "published");
        f.header.expires = time_key(*h, "expires");
        if (f.header.expires <= f.header.published)
            fail(*h->get("expires"), "feed.expires is not after feed.published");

        auto* files = root.get("file");
        if (!files) return Error{origin, 0, "the feed holds no [[file]]"};
        auto* arr = files->as_array();
        if (!arr) fail(*files, "file must be an array of tables ([[file]])");
        if (arr->size() > kMaxFeedFiles)
            fail(*files, fmt::format("more than {} files in one feed", kMaxFeedFiles));
        std::set<std::string> names;
        for (const auto& el : *arr) {
            auto* t = el.as_table();
            if (!t) fail(el, "[[file]] entries must be tables");
            reject_unknown(*t, {"name", "content"}, "[[file]]");
            FeedFile ff;
            ff.name = string_key(*t, "name", "[[file]]", true);
            if (!valid_feed_file_name(ff.name))
                fail(*t->get("name"),
                     "file.name \"" + ff.name + "\" is not a plain *.toml file name");
            if (!names.insert(ff.name).second)
                fail(*t->get("name"), "file \"" + ff.name + "\" appears twice");
            ff.content = string_key(*t, "content", "[[file]]", true);
            if (ff.content.size() > kMaxRuleFileBytes)
                fail(*t->get("content"), "file \"" + ff.name +
                                             "\" is larger than a rule file "
                                             "may be");
            f.files.push_back(std::move(ff));
        }
        if (f.files.empty()) return Error{origin, 0, "the feed holds no [[file]]"};
    } catch (const toml::parse_error& e) {
        return Error{origin, static_cast<unsigned>(e.source().begin.line),
                     "TOML: " + std::string(e.description())};
    } catch (const FeedError& e) {
        return Error{origin, e.line, e.reason};
    }
    return f;
}

FeedCheck check_feed(const FeedHeader& h, std::string_view expected_name, uint64_t installed_serial,
                     bool same_as_installed, std::chrono::sys_seconds now) {
    FeedCheck c;
    if (h.name != expected_name) {
        // A publisher's other feed, signed with the same key, must not stand in for this one.
        c.reason = fmt::format("the document is feed \"{}\", the config expects \"{}\"", h.name,
                               expected_name);
        return c;
    }
    if (h.serial < installed_serial) {
        c.reason = fmt::format("serial rollback: {} is older than the installed serial {}",
                               h.serial, installed_serial);
        return c;
    }
    if (h.expires <= now) {
        c.reason = fmt::format("feed expired at {} (serial {})", format_utc(h.expires), h.serial);
        return c;
    }
    if (installed_serial != 0 && h.serial == installed_serial) {
        if (same_as_installed) {
            c.outcome = FeedAcceptance::Unchanged;
            return c;
        }
        c.reason = fmt::format("serial {} re-used with different content (a publisher must "
                               "raise the serial)",
                               h.serial);
        return c;
    }
    c.outcome = FeedAcceptance::Install;
    return c;
}

} // namespace ip25b
