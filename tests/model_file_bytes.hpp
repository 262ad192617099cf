// tests/model_file_bytes.hpp - model files with a header of the test's own, for the tests of
// damaged and hostile files.
#pragma once

#include <string>

#include <xkeras/xkeras.hpp>

namespace testing {

/// A model file with this header and data, its checksum right (what fuzz_model_file builds).
inline std::string model_file_bytes(const std::string& header, const std::string& data = "") {
    std::string out(xkeras::io::model_file_magic, 8);
    xkeras::io::detail::put_u32(out, 1);
    xkeras::io::detail::put_u64(out, header.size());
    out += header + data;
    xkeras::detail::sha256 h;
    h.update(out.data(), out.size());
    const std::string hex = h.hex_digest();
    for (std::size_t i = 0; i < 32; ++i)
        out.push_back(char(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
    return out;
}

}  // namespace testing
