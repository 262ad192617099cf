// xkeras/config.hpp - version, file-format version and the exception types.
//
// Every error xkeras reports is an `xkeras::error` (a std::runtime_error) whose message names the
// layer, argument or file involved, what was expected and what was received.
#pragma once

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#define XKERAS_VERSION_MAJOR 0
#define XKERAS_VERSION_MINOR 1
#define XKERAS_VERSION_PATCH 0

namespace xkeras {

/// The library version as "major.minor.patch".
inline constexpr const char* version = "0.1.0";

/// Base of every exception xkeras throws.
class error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// An argument or hyper-parameter is invalid (Keras raises ValueError for these).
class value_error : public error {
  public:
    using error::error;
};

/// Tensor shapes do not fit (input of the wrong shape, x/y length mismatch, ...).
class shape_error : public value_error {
  public:
    using value_error::value_error;
};

/// A file could not be read or written, or its content is not what it should be.
class io_error : public error {
  public:
    using error::error;
};

/// The model is used in the wrong state (fit before compile, weights before build, ...).
class state_error : public error {
  public:
    using error::error;
};

/// Training produced a non-finite loss or value.
class numerical_error : public error {
  public:
    using error::error;
};

namespace detail {

/// Concatenates its arguments with operator<< into a string (for exception messages).
template <class... Args>
std::string cat(Args&&... args) {
    std::ostringstream os;
    (os << ... << std::forward<Args>(args));
    return os.str();
}

/// `text` for an error message: printable ASCII kept, every other byte (control characters,
/// anything non-ASCII, invalid UTF-8) written as \xNN, cut after `max_chars` characters of output
/// with "... (N bytes)" naming the full length. Defaults to 80 characters.
inline std::string excerpt(std::string_view text, std::size_t max_chars = 80) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (out.size() >= max_chars) {
            out += "... (" + std::to_string(text.size()) + " bytes)";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += char(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02X", unsigned(c));
            out += hex;
        }
    }
    return out;
}

}  // namespace detail
}  // namespace xkeras
