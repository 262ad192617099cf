// xkeras/backend/simd.hpp - the vector types of xkeras's own kernels.
//
// `simd<T, Bytes>` is a GCC / Clang vector extension of `Bytes` bytes: 32 is an AVX2 register
// (or two SSE registers), 64 an AVX-512 one. `wide<T>` is the widest the build targets: 64 bytes
// with AVX-512 (32 vector registers), else 32. Vectors cross function boundaries by reference
// only: passed or returned by value, they would change the calling convention between builds
// with and without AVX (GCC's -Wpsabi).
#pragma once

#include <cstddef>
#include <cstring>

namespace xkeras::backend {

template <class T, std::size_t Bytes = 32>
struct simd {
    static constexpr std::size_t lanes = Bytes / sizeof(T);
    typedef T vec __attribute__((vector_size(Bytes)));
    static void load(vec& v, const T* p) { std::memcpy(&v, p, sizeof v); }
    static void store(T* p, const vec& v) { std::memcpy(p, &v, sizeof v); }
};

#if defined(__AVX512F__)
inline constexpr std::size_t wide_bytes = 64;
#else
inline constexpr std::size_t wide_bytes = 32;
#endif
template <class T>
using wide = simd<T, wide_bytes>;

}  // namespace xkeras::backend
