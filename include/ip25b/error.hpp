// ip25b/error.hpp — errors as values that carry file, line and reason.
//
// Loading rules and config must tell an operator exactly where a file is
// wrong ("rules/ocn.toml:12: pattern does not compile: ..."), and a reload
// must keep the old set when anything fails, so loaders return Expected<T>
// instead of throwing across module edges (the rspamd habit).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ip25b {

struct Error {
    std::string file; // empty when the error is not about a file
    unsigned line = 0; // 1-based; 0 when unknown or not line-bound
    std::string reason;

    std::string to_string() const {
        if (file.empty()) return reason;
        if (line == 0) return file + ": " + reason;
        return file + ":" + std::to_string(line) + ": " + reason;
    }
};

template <class T> class Expected {
  public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error e) : v_(std::move(e)) {}

    explicit operator bool() const { return v_.index() == 0; }
    bool has_value() const { return v_.index() == 0; }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

} // namespace ip25b
