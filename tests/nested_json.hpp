// tests/nested_json.hpp - hostile JSON text and the check of the messages that refuse it, for
// the tests of the parsers' limits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

namespace testing {

/// `inside` wrapped in `depth` arrays nested in each other.
inline std::string nested_json(std::size_t depth, const std::string& inside = "") {
    return std::string(depth, '[') + inside + std::string(depth, ']');
}

/// Whether a message is safe to print: no control bytes, nothing outside ASCII.
inline bool printable_ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace testing
