// tests/fuzz/fuzz_idx.cpp - the IDX reader (datasets::detail::parse_idx) on arbitrary bytes.
// Accepted files must give a tensor whose shape counts exactly the data bytes after the header.
#include "fuzz_common.hpp"

#include <xkeras/datasets/idx.hpp>

namespace fuzz_idx {

inline int run(const std::uint8_t* data, std::size_t size) {
    const std::span<const unsigned char> bytes(data, size);
    try {
        const auto t = xkeras::datasets::detail::parse_idx(bytes, "fuzz.idx");
        std::size_t n = 1;
        for (auto d : t.shape())
            if (__builtin_mul_overflow(n, d, &n)) fuzz::fail("accepted a shape that overflows");
        if (n != t.size() || 4 + 4 * t.dimension() + n != size)
            fuzz::fail("accepted a shape that does not count the data");
        unsigned sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += t.data()[i];  // every element readable
        if (n > 0 && sum > 255 * n) fuzz::fail("impossible sum");
    } catch (const xkeras::io_error&) {
    }
    return 0;
}

}  // namespace fuzz_idx

XKERAS_FUZZ_TARGET(fuzz_idx)
