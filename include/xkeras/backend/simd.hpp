// xkeras/backend/simd.hpp - the vector types of xkeras's own kernels.
//
// `simd<T, Bytes>` is a GCC / Clang vector extension of `Bytes` bytes: 16 is an SSE or NEON
// register, 32 an AVX2 one, 64 an AVX-512 one. `vector_set` gathers the vectors of one
// instruction-set level. Vectors cross function boundaries by reference
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

/// The vectors of one instruction-set level (backend/cpu.hpp): `narrow<T>` 32 bytes, or the
/// register where registers are narrower; `wide<T>` the widest register; `registers` how many
/// the level has. The kernels take the set as a template parameter and backend/dispatch.hpp
/// compiles them once per level.
template <std::size_t NarrowBytes, std::size_t WideBytes, std::size_t Registers>
struct vector_set {
    template <class T>
    using narrow = simd<T, NarrowBytes>;
    template <class T>
    using wide = simd<T, WideBytes>;
    static constexpr std::size_t wide_bytes = WideBytes;
    static constexpr std::size_t registers = Registers;
};

/// SSE2's 16 registers of 16 bytes; NEON's 32 on ARM64.
#if defined(__aarch64__)
using generic_vectors = vector_set<16, 16, 32>;
#else
using generic_vectors = vector_set<16, 16, 16>;
#endif
using avx2_vectors = vector_set<32, 32, 16>;
using avx512_vectors = vector_set<32, 64, 32>;

}  // namespace xkeras::backend
