// postfix_table.cpp — pcre:/regexp: table reader; the rules it follows are in
// postfix_table.hpp, each checked against postmap 3.7.
#include "ip25b/postfix_table.hpp"
#include "ip25b/ascii.hpp"
#include "ip25b/file_reader.hpp"

#include "ip25b/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace ip25b {

namespace {

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}
std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

struct LogicalLine {
    std::string text;
    unsigned line = 0;
};

// A pattern with its flags, as written between (and after) the delimiters.
struct Pattern {
    std::string text;
    bool negated = false;
    bool caseless = true;
    uint32_t flags = 0;
};

class Parser {
  public:
    Parser(const std::string& file, RuleSyntax syntax, TableStrictness strictness)
        : file_(file), syntax_(syntax), strict_(strictness == TableStrictness::Strict) {}

    // Returns false once a strict-mode error has been recorded.
    bool line(const LogicalLine& ll);
    bool finish(unsigned last_line);
    bool whitespace_start(unsigned line, std::string_view text) {
        return warn(line, "logical line must not start with whitespace: \"" +
                              std::string(trim_right(text)) + "\"");
    }

    std::optional<Error> failed;
    TableLoad out;

  private:
    bool warn(unsigned line, std::string reason) {
        Error e{file_, line, std::move(reason)};
        if (strict_) {
            failed = std::move(e);
            return false;
        }
        out.warnings.push_back(std::move(e));
        return true;
    }
    // Parses `[!]<d>re<d>flags`; on success `rest` is what follows the flags.
    // nullopt + ok: the line was skipped with a warning.
    std::optional<Pattern> pattern(unsigned line, std::string_view& rest, bool& ok);
    Rule make_rule(RuleAction action, const Pattern& p, unsigned line) const {
        Rule r;
        r.action = action;
        r.syntax = syntax_;
        r.pattern = p.text;
        r.caseless = p.caseless;
        r.pcre_flags = p.flags;
        r.negated = p.negated;
        r.id = "line " + std::to_string(line);
        r.file = file_;
        r.line = line;
        return r;
    }

    const std::string& file_;
    RuleSyntax syntax_;
    bool strict_;
    std::vector<unsigned> open_ifs_; // line numbers of unclosed `if`
};

std::optional<Pattern> Parser::pattern(unsigned line, std::string_view& rest, bool& ok) {
    ok = true;
    Pattern p;
    rest = trim_left(rest);
    // Each '!' toggles the negation (postmap reads "!!/re/" as "/re/").
    while (!rest.empty() && rest.front() == '!') {
        p.negated = !p.negated;
        rest = trim_left(rest.substr(1));
    }
    if (rest.empty()) {
        ok = warn(line, "no regular expression");
        return std::nullopt;
    }
    const char delim = rest.front();
    // pcre_table(5) asks for a non-alphanumeric delimiter but postmap takes
    // any: only strict mode (lint) refuses one.
    if (is_alnum(delim) && strict_) {
        ok = warn(line, std::string("invalid regexp delimiter '") + delim +
                            "': use a non-alphanumeric character");
        return std::nullopt;
    }
    size_t i = 1;
    for (; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
            ++i;
            continue;
        }
        if (rest[i] == delim) break;
    }
    if (i >= rest.size()) {
        ok = warn(line, std::string("no closing regexp delimiter \"") + delim + "\"");
        return std::nullopt;
    }
    p.text.assign(rest.substr(1, i - 1));
    rest.remove_prefix(i + 1);
    if (syntax_ == RuleSyntax::Pcre)
        p.flags = PCRE2_DOTALL;
    else
        p.flags = REG_EXTENDED;
    while (!rest.empty() && !is_space(rest.front())) {
        const char f = rest.front();
        rest.remove_prefix(1);
        if (f == 'i') {
            p.caseless = !p.caseless;
            continue;
        }
        uint32_t bit = 0;
        if (syntax_ == RuleSyntax::Pcre) {
            switch (f) {
            case 'm':
                bit = PCRE2_MULTILINE;
                break;
            case 's':
                bit = PCRE2_DOTALL;
                break;
            case 'x':
                bit = PCRE2_EXTENDED;
                break;
            case 'A':
                bit = PCRE2_ANCHORED;
                break;
            case 'E':
                bit = PCRE2_DOLLAR_ENDONLY;
                break;
            case 'U':
                bit = PCRE2_UNGREEDY;
                break;
            case 'X':
                if (!warn(line, "ignoring obsolete regexp option \"X\"")) {
                    ok = false;
                    return std::nullopt;
                }
                continue;
            default:
                break;
            }
        } else {
            switch (f) {
            case 'm':
                bit = REG_NEWLINE;
                break;
            case 'x':
                bit = REG_EXTENDED;
                break;
            default:
                break;
            }
        }
        if (bit == 0) {
            ok = warn(line, std::string("unknown regexp option \"") + f + "\": skipping this rule");
            return std::nullopt;
        }
        p.flags ^= bit;
    }
    return p;
}

bool Parser::line(const LogicalLine& ll) {
    std::string_view text = ll.text;
    const unsigned line = ll.line;
    // Postfix reads C strings, so a NUL would silently cut the line.
    if (text.find('\0') != std::string_view::npos)
        return warn(line, "NUL byte in table line: skipping this rule");
    if (is_alnum(text.front())) {
        size_t k = 0;
        while (k < text.size() && is_alnum(text[k]))
            ++k;
        const std::string word = ascii_lower(text.substr(0, k));
        std::string_view rest = text.substr(k);
        if (word == "if") {
            bool ok = true;
            auto p = pattern(line, rest, ok);
            if (!p) return ok;
            auto re = Regex::compile(p->text, syntax_, p->caseless, p->flags);
            if (!re) return warn(line, re.error().reason);
            rest = trim_right(trim_left(rest));
            if (!rest.empty() && !warn(line, "ignoring extra text after IF statement: \"" +
                                                 std::string(rest) + "\""))
                return false;
            out.rules.push_back(make_rule(RuleAction::IfBegin, *p, line));
            out.rules.back().compiled = std::make_shared<const Regex>(std::move(re).value());
            open_ifs_.push_back(line);
            return true;
        }
        if (word == "endif") {
            if (open_ifs_.empty()) return warn(line, "ignoring ENDIF without matching IF");
            if (!trim_right(trim_left(rest)).empty() &&
                !warn(line, "ignoring extra text after ENDIF"))
                return false;
            open_ifs_.pop_back();
            Rule r;
            r.action = RuleAction::IfEnd;
            r.syntax = syntax_;
            r.id = "line " + std::to_string(line);
            r.file = file_;
            r.line = line;
            out.rules.push_back(std::move(r));
            return true;
        }
        return warn(line, "ignoring unrecognized request");
    }

    std::string_view rest = text;
    bool ok = true;
    auto p = pattern(line, rest, ok);
    if (!p) return ok;
    std::string_view result = trim_right(trim_left(rest));
    if (result.empty() && !warn(line, "no replacement text: using empty string")) return false;
    auto parts = parse_result(result);
    if (!parts) return warn(line, parts.error().reason + ": skipping this rule");
    int max_group = -1;
    for (const auto& part : *parts)
        max_group = std::max(max_group, part.group);
    if (p->negated && max_group >= 0)
        return warn(line, "$number found in negative match replacement text: skipping this rule");
    // Compiled once, here, with the JIT: the matcher takes this one over.
    auto re = Regex::compile(p->text, syntax_, p->caseless, p->flags);
    if (!re) return warn(line, re.error().reason + ": skipping this rule");
    if (max_group > static_cast<int>(re->capture_count()))
        return warn(line, "out of range replacement index \"" + std::to_string(max_group) +
                              "\": skipping this rule");
    Rule r = make_rule(RuleAction::Result, *p, line);
    r.result.assign(result);
    r.compiled = std::make_shared<const Regex>(std::move(re).value());
    out.rules.push_back(std::move(r));
    return true;
}

bool Parser::finish(unsigned last_line) {
    // Postfix closes unterminated `if`s at the end of the file.
    while (!open_ifs_.empty()) {
        if (!warn(open_ifs_.back(), "IF has no matching ENDIF")) return false;
        open_ifs_.pop_back();
        Rule r;
        r.action = RuleAction::IfEnd;
        r.syntax = syntax_;
        r.id = "end of file";
        r.file = file_;
        r.line = last_line;
        out.rules.push_back(std::move(r));
    }
    return true;
}

} // namespace

Expected<std::vector<ResultPart>> parse_result(std::string_view s) {
    std::vector<ResultPart> parts;
    std::string literal;
    auto flush = [&] {
        if (!literal.empty()) parts.push_back(ResultPart{std::move(literal), -1});
        literal.clear();
    };
    for (size_t i = 0; i < s.size();) {
        if (s[i] != '$') {
            literal += s[i++];
            continue;
        }
        ++i;
        if (i < s.size() && s[i] == '$') {
            literal += '$';
            ++i;
            continue;
        }
        std::string_view name;
        if (i < s.size() && (s[i] == '{' || s[i] == '(')) {
            const char close = s[i] == '{' ? '}' : ')';
            size_t end = s.find(close, i + 1);
            if (end == std::string_view::npos)
                return Error{"", 0, std::string("unbalanced '") + s[i] + "' in replacement text"};
            name = s.substr(i + 1, end - i - 1);
            i = end + 1;
        } else {
            size_t start = i;
            while (i < s.size() && (is_alnum(s[i]) || s[i] == '_'))
                ++i;
            name = s.substr(start, i - start);
        }
        if (name.empty()) return Error{"", 0, "empty macro name in replacement text"};
        if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return Error{"", 0, "non-numeric replacement index \"" + std::string(name) + "\""};
        if (name.size() > 4)
            return Error{"", 0, "replacement index \"" + std::string(name) + "\" is too large"};
        const int group = std::stoi(std::string(name));
        if (group == 0) // Postfix substitutes groups from 1; $0 is refused
            return Error{"", 0, "out of range replacement index \"0\""};
        flush();
        parts.push_back(ResultPart{"", group});
    }
    flush();
    return parts;
}

Expected<TableLoad> parse_postfix_table(std::string_view text, const std::string& file,
                                        RuleSyntax syntax, TableStrictness strictness) {
    Parser parser(file, syntax, strictness);
    LogicalLine current;
    bool have = false;
    unsigned lineno = 0;
    auto flush = [&]() -> bool {
        if (!have) return true;
        have = false;
        return parser.line(current);
    };
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view phys =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++lineno;
        std::string_view content = trim_left(phys);
        if (content.empty() || content.front() == '#') continue;
        if (is_space(phys.front())) {
            if (have) {
                current.text.append(phys);
                continue;
            }
            if (!parser.whitespace_start(lineno, phys)) return *parser.failed;
            continue;
        }
        if (!flush()) return *parser.failed;
        current.text.assign(phys);
        current.line = lineno;
        have = true;
    }
    if (!flush() || !parser.finish(lineno)) return *parser.failed;
    return std::move(parser.out);
}

Expected<TableLoad> load_postfix_table(const std::string& path, RuleSyntax syntax,
                                       TableStrictness strictness) {
    auto text = read_regular_file(path, kMaxTableBytes, "table");
    if (!text) return text.error();
    return parse_postfix_table(*text, path, syntax, strictness);
}

} // namespace ip25b
