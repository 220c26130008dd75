// cli_match.cpp — `ip25b match`: postmap -q - for pcre:/regexp: tables, faster.
//
// Reads one name per line on stdin and prints `name<TAB>result` for each name
// a table answers, as `postmap -q - pcre:FILE` does. The project's rule files
// (and directories of them) are accepted too; their answer is the rule's
// action, id and ISP ("dynamic ocn-pool OCN"). Several --table options
// are consulted in order (the first table that answers wins). Lines that are
// not host names (hostname_problem) are refused on stderr with their line
// number and reading goes on. Exit status as postmap's: 0 when at least one
// name matched, 1 when none did, 2 when a table cannot be used.
#include "ip25b/cli.hpp"
#include "ip25b/dns_name.hpp"
#include "ip25b/matcher.hpp"
#include "ip25b/rule_source.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace ip25b::cli {

namespace {

// Longest line kept in full; anything longer is no host name (253 bytes max)
// and is refused after its length is counted, without buffering it.
constexpr size_t kMaxLine = 1024;

struct MatchOptions {
    std::vector<std::string> tables;
    bool explain = false;
    bool strict = false;
    bool stats = false;
};

// Buffered stdout: one fwrite per megabyte instead of one per line.
class Output {
  public:
    ~Output() { flush(); }
    void put(std::string_view s) {
        buf_.append(s);
        if (buf_.size() >= (1u << 20)) flush();
    }
    void flush() {
        if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), stdout);
        buf_.clear();
    }

  private:
    std::string buf_;
};

// Reads stdin in large blocks and hands out lines; lines over kMaxLine are
// reported with their full length but not kept.
class LineReader {
  public:
    LineReader() : buf_(1u << 20) {}
    // false at end of input. `truncated` tells that `line` holds only a prefix
    // of a line `length` bytes long. `line` is valid until the next call.
    bool next(std::string_view& line, size_t& length, bool& truncated) {
        long_.clear();
        length = 0;
        truncated = false;
        bool got = false; // part of a line seen (a last line may lack its newline)
        for (;;) {
            if (pos_ == len_) {
                len_ = eof_ ? 0 : std::fread(buf_.data(), 1, buf_.size(), stdin);
                pos_ = 0;
                if (len_ == 0) {
                    eof_ = true;
                    if (!got) return false;
                    break;
                }
            }
            const char* start = buf_.data() + pos_;
            const size_t avail = len_ - pos_;
            const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
            const size_t take = nl ? static_cast<size_t>(nl - start) : avail;
            pos_ += take + (nl ? 1 : 0);
            if (nl && !got) { // the common case: the whole line is in the buffer
                line = std::string_view(start, take);
                length = take;
                return true;
            }
            got = true;
            if (long_.size() < kMaxLine)
                long_.append(start, std::min(take, kMaxLine - long_.size()));
            length += take;
            if (nl) break;
        }
        truncated = length > kMaxLine;
        line = long_;
        return true;
    }

  private:
    std::vector<char> buf_;
    std::string long_;
    size_t pos_ = 0, len_ = 0;
    bool eof_ = false;
};

// A table's answer is its result text; a rule file's is what the rule says.
void put_answer(Output& out, const Match& m) {
    const Rule& r = *m.rule;
    switch (r.action) {
    case RuleAction::Result:
        out.put(m.result);
        return;
    case RuleAction::Dynamic:
        out.put("dynamic ");
        break;
    case RuleAction::Exception:
        out.put("exception ");
        break;
    case RuleAction::Allow:
        out.put("allow ");
        break;
    case RuleAction::Cloud:
        out.put("cloud ");
        break;
    case RuleAction::IfBegin:
    case RuleAction::IfEnd:
        return; // never an answer
    }
    out.put(r.id);
    if (!r.isp.empty()) {
        out.put(" ");
        out.put(r.isp);
    }
}

int run_match(const MatchOptions& opt) {
    std::vector<Rule> rules;
    const auto strictness = opt.strict ? TableStrictness::Strict : TableStrictness::Postfix;
    for (const auto& spec : opt.tables) {
        auto loaded = load_rule_source(spec, strictness);
        if (!loaded) {
            std::fprintf(stderr, "ip25b match: %s\n", loaded.error().to_string().c_str());
            return 2;
        }
        for (const auto& w : loaded->warnings)
            std::fprintf(stderr, "ip25b match: warning: %s\n", w.to_string().c_str());
        for (auto& r : loaded->rules)
            rules.push_back(std::move(r));
    }
    auto matcher = Matcher::build(std::move(rules));
    if (!matcher) {
        std::fprintf(stderr, "ip25b match: %s\n", matcher.error().to_string().c_str());
        return 2;
    }

    if (opt.stats) {
        const MatcherStats st = matcher->stats();
        std::fprintf(stderr,
                     "ip25b match: %zu rules: %zu indexed under %zu suffixes, %zu scanned "
                     "(%zu prefiltered, %zu refused by Hyperscan), %zu indexed by literal\n",
                     st.rules, st.indexed, st.suffixes, st.scanned, st.prefiltered,
                     st.prefilter_refused, st.gram_indexed);
    }
    static char out_buf[1u << 16];
    std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    Output out;
    LineReader in;
    std::string_view line;
    size_t length = 0;
    bool truncated = false;
    unsigned long lineno = 0;
    bool any = false;
    Match found;
    while (in.next(line, length, truncated)) {
        ++lineno;
        std::optional<std::string> problem;
        if (truncated)
            problem = "name over 253 bytes (" + std::to_string(length) + ")";
        else
            problem = hostname_problem(line);
        if (problem) {
            out.flush();
            std::fflush(stdout);
            std::fprintf(stderr, "ip25b match: stdin:%lu: refused: %s\n", lineno, problem->c_str());
            continue;
        }
        if (!matcher->match(line, nullptr, found)) continue;
        const Match* m = &found;
        any = true;
        out.put(line);
        out.put("\t");
        put_answer(out, *m);
        if (opt.explain) {
            const Rule& r = *m->rule;
            out.put("\t");
            out.put(r.file);
            out.put(":");
            out.put(std::to_string(r.line));
            out.put(": ");
            out.put(r.negated ? "!/" : "/");
            out.put(r.pattern);
            out.put("/");
        }
        out.put("\n");
    }
    out.flush();
    if (std::ferror(stdin)) {
        std::fprintf(stderr, "ip25b match: error reading stdin\n");
        return 2;
    }
    return any ? 0 : 1;
}

} // namespace

void add_match_command(CLI::App& app, int& exit_code) {
    auto opt = std::make_shared<MatchOptions>();
    auto* cmd = app.add_subcommand(
        "match",
        "Look up names read on stdin in Postfix tables or rule files, like postmap -q - TABLE");
    cmd->add_option(
           "-t,--table", opt->tables,
           "Table to consult: pcre:FILE, regexp:FILE, a *.toml rule file or a directory of "
           "them; repeat to consult several in order")
        ->required();
    cmd->add_flag("--explain", opt->explain,
                  "Append the deciding rule's file:line and pattern to each answer");
    cmd->add_flag("--strict", opt->strict,
                  "Refuse a table with any line Postfix would warn about and skip");
    cmd->add_flag("--stats", opt->stats, "Print how the rules were indexed on stderr");
    cmd->callback([opt, &exit_code] { exit_code = run_match(*opt); });
}

} // namespace ip25b::cli
