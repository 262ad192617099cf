// xkeras/backend/fast_math.hpp - exp, sigmoid and tanh in float written so that the compiler
// vectorises the loops that call them (the recurrent cells' gates), where each call to the C
// library's expf / tanhf is a scalar function call.
//
// exp: Cody and Waite's reduction x = n ln2 + r (|r| <= ln2 / 2, ln2 split in two parts), a
// degree-6 polynomial for e^r (Cephes's expf coefficients) and 2^n built in the exponent bits;
// n is rounded by adding and subtracting 1.5 * 2^23 (round to nearest, branch-free), and x is
// clamped to [-87.3, 88.3], where 2^n stays a finite normal float. Within 2 ulp of e^x there.
// tanh: Cephes's odd polynomial below |x| = 0.625, where 1 - 2 / (e^2x + 1) would lose its
// leading digits, and that form above; both computed, one selected, no branch.
// Everything is plain arithmetic, bit copies and masks: no table, no errno, no branch, nothing
// that stops GCC's vectoriser at -O3.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace xkeras::backend::fast {

namespace detail {

inline std::int32_t bits(float f) {
    std::int32_t i;
    std::memcpy(&i, &f, sizeof f);
    return i;
}

inline float from_bits(std::int32_t i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}

/// a where `mask` is all ones, b where it is zero. GCC turns a float comparison's ?: into a
/// branch (floating-point compares may trap) and stops vectorising; a comparison turned into an
/// integer mask and this blend become vector compares and bit operations.
inline float select(std::int32_t mask, float a, float b) {
    return from_bits((bits(a) & mask) | (bits(b) & ~mask));
}

inline std::int32_t mask(bool c) {
    return -std::int32_t(c);
}

}  // namespace detail

inline float exp(float x) {
    x = detail::select(detail::mask(x < -87.3f), -87.3f, x);  // NaN passes both
    x = detail::select(detail::mask(x > 88.3f), 88.3f, x);
    constexpr float round = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float t = x * 1.44269504088896341f + round;
    const float n = t - round;
    float r = x - n * 0.693359375f;  // ln2 in two parts: n * 0.693359375 is exact
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // 2^n: n + 127 in the exponent bits (t's low bits hold n + 1.5 * 2^23's)
    const float scale = detail::from_bits((detail::bits(t) - detail::bits(round) + 127) << 23);
    return p * scale;
}

inline float sigmoid(float x) {
    return 1.0f / (1.0f + fast::exp(-x));
}

inline float tanh(float x) {
    const float ax = std::fabs(x);
    // large |x|: 1 - 2 / (e^2|x| + 1), the sign put back
    const float big = std::copysign(1.0f - 2.0f / (fast::exp(2.0f * ax) + 1.0f), x);
    // small |x|: x + x z P(z), z = x^2
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = std::copysign(x + x * z * p, x);  // -0 stays -0
    // both computed, one kept by a mask: GCC turns a float comparison's ?: into a branch
    // (floating-point compares may trap), an integer one into a vector select; |x|'s bits
    // order as |x| does
    const std::int32_t keep_small = -std::int32_t(detail::bits(ax) < detail::bits(0.625f));
    return detail::from_bits((detail::bits(small) & keep_small) |
                             (detail::bits(big) & ~keep_small));
}

}  // namespace xkeras::backend::fast
