// Errors as values: Expected<T> holds either a T or an Error with a message
// that names what went wrong. Used everywhere a user, a file, the API or the
// guest can cause a failure; programming errors may assert instead.
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace vessel {

struct Error {
  std::string message;
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Status: success, or an Error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Expected<void>;

inline Status ok_status() {
  return Status{};
}

// Prefix an error's message with context ("loading kernel: ...").
inline Error with_context(const Error& e, std::string_view context) {
  return Error{fmt::format("{}: {}", context, e.message)};
}

}  // namespace vessel

// Early return on failure. VESSEL_TRY(expr) for Status; VESSEL_ASSIGN(var, expr)
// for Expected<T>.
#define VESSEL_TRY(expr)                                             \
  do {                                                               \
    auto vessel_try_status_ = (expr);                                \
    if (!vessel_try_status_.ok()) return vessel_try_status_.error(); \
  } while (0)

#define VESSEL_CONCAT_INNER_(a, b) a##b
#define VESSEL_CONCAT_(a, b) VESSEL_CONCAT_INNER_(a, b)
#define VESSEL_ASSIGN(lhs, expr) \
  VESSEL_ASSIGN_IMPL_(VESSEL_CONCAT_(vessel_tmp_, __LINE__), lhs, expr)
#define VESSEL_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                        \
  if (!tmp.ok()) return tmp.error();        \
  lhs = std::move(tmp).value()
