// regex_syntax.cpp — the pattern-text scanners shared by the matcher and lint.
#include "ip25b/regex_syntax.hpp"

namespace ip25b {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

} // namespace

size_t regex_class_end(std::string_view p, size_t i) {
    size_t j = i + 1;
    if (j < p.size() && p[j] == '^') ++j;
    if (j < p.size() && p[j] == ']') ++j; // a leading ']' is literal
    while (j < p.size()) {
        if (p[j] == '\\') {
            j += 2;
        } else if (p[j] == '[' && j + 1 < p.size() &&
                   (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
            const char kind = p[j + 1];
            size_t close = std::string_view::npos;
            for (size_t k = j + 2; k + 1 < p.size(); ++k)
                if (p[k] == kind && p[k + 1] == ']') {
                    close = k;
                    break;
                }
            if (close == std::string_view::npos) return std::string_view::npos;
            j = close + 2;
        } else if (p[j] == ']') {
            return j;
        } else {
            ++j;
        }
    }
    return std::string_view::npos;
}

size_t regex_brace_end(std::string_view p, size_t i) {
    size_t j = i + 1;
    size_t digits = 0, digits2 = 0;
    while (j < p.size() && is_digit(p[j]))
        ++j, ++digits;
    if (j < p.size() && p[j] == ',') {
        ++j;
        while (j < p.size() && is_digit(p[j]))
            ++j, ++digits2;
    }
    if (j < p.size() && p[j] == '}' && (digits > 0 || digits2 > 0)) return j;
    return std::string_view::npos;
}

std::optional<RegexQuantifier> regex_quantifier_at(std::string_view p, size_t i) {
    if (i >= p.size()) return std::nullopt;
    RegexQuantifier q;
    if (p[i] == '*' || p[i] == '+') {
        q.length = 1;
        q.unbounded = true;
    } else if (p[i] == '?') {
        q.length = 1;
    } else if (p[i] == '{') {
        const size_t close = regex_brace_end(p, i);
        if (close == std::string_view::npos) return std::nullopt;
        q.length = close - i + 1;
        q.unbounded = p[close - 1] == ',';
    } else {
        return std::nullopt;
    }
    if (i + q.length < p.size() && p[i + q.length] == '+') {
        q.possessive = true;
        ++q.length;
    } else if (i + q.length < p.size() && p[i + q.length] == '?') {
        ++q.length;
    }
    return q;
}

size_t regex_group_end(std::string_view p, size_t i) {
    int depth = 0;
    for (size_t j = i; j < p.size();) {
        const char c = p[j];
        if (c == '\\') {
            if (j + 1 < p.size() && (p[j + 1] == 'Q' || p[j + 1] == 'E'))
                return std::string_view::npos;
            j += 2;
        } else if (c == '[') {
            const size_t k = regex_class_end(p, j);
            if (k == std::string_view::npos) return std::string_view::npos;
            j = k + 1;
        } else if (c == '(') {
            if (j + 1 < p.size() && p[j + 1] == '*') return std::string_view::npos;
            ++depth;
            ++j;
        } else if (c == ')') {
            if (--depth == 0) return j;
            ++j;
        } else {
            ++j;
        }
    }
    return std::string_view::npos;
}

} // namespace ip25b
