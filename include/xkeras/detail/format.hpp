// xkeras/detail/format.hpp - number formatting shared by summary and the examples.
#pragma once

#include <cstdio>
#include <string>

namespace xkeras::detail {

/// 535818 -> "535,818".
inline std::string thousands(std::size_t n) {
    std::string s = std::to_string(n), out;
    int c = 0;
    for (auto it = s.rbegin(); it != s.rend(); ++it, ++c) {
        if (c > 0 && c % 3 == 0) out.insert(out.begin(), ',');
        out.insert(out.begin(), *it);
    }
    return out;
}

/// Keras's readable_memory_size: 139304 -> "136.04 KB", 0 -> "0.00 B".
inline std::string readable_memory_size(double bytes) {
    static const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (u < 5 && bytes / 1024.0 >= 1.0) {
        bytes /= 1024.0;
        ++u;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
    return buf;
}

/// Number of UTF-8 code points (display width of the summary's box-drawing text).
inline std::size_t display_width(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
}

}  // namespace xkeras::detail
