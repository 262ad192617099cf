// xkeras/backend/dispatch.hpp - runs a kernel compiled for the instruction-set level in force
// (backend/cpu.hpp), whatever flags the program was built with.
//
//   backend::dispatch([&]<class V> { kernel<T, V>(args...); });
//
// calls the generic lambda with the vector set V (backend/simd.hpp) of the active level, from a
// function compiled for that level's instructions: `run_at<V>` carries the level's `target`
// attribute and `flatten`, so the lambda and every kernel it calls are inlined into it and
// compiled for AVX2 or AVX-512 even when the rest of the program targets plain x86-64. The
// kernels themselves carry no attribute: a call the compiler could not inline would reach a copy
// compiled for the build's own level, slower but never an instruction the CPU lacks. Each level
// of each kernel exists once per program, in its own function, so nothing is chosen per value.
#pragma once

#include "cpu.hpp"
#include "simd.hpp"

namespace xkeras::backend {

namespace detail {

/// Calls f at the vector set V; the function boundary the level's instructions stay inside.
template <class V, class F>
[[gnu::noinline, gnu::flatten]] void run_at(F& f) {
    f.template operator()<V>();
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
template <class V, class F>
[[gnu::noinline, gnu::flatten, gnu::target("avx,avx2,fma,bmi,bmi2")]] void run_avx2(F& f) {
    f.template operator()<V>();
}

template <class V, class F>
[[gnu::noinline, gnu::flatten,
  gnu::target("avx,avx2,fma,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl")]] void
run_avx512(F& f) {
    f.template operator()<V>();
}
#endif

}  // namespace detail

/// Calls f.template operator()<V>() with the vectors of the active level, compiled for it.
template <class F>
void dispatch(F&& f) {
#if defined(XKERAS_ONE_LEVEL)
    if constexpr (build_isa == isa::avx512)
        detail::run_at<avx512_vectors>(f);
    else if constexpr (build_isa == isa::avx2)
        detail::run_at<avx2_vectors>(f);
    else
        detail::run_at<generic_vectors>(f);
    return;
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    switch (active_isa()) {
        case isa::avx512:
            return detail::run_avx512<avx512_vectors>(f);
        case isa::avx2:
            return detail::run_avx2<avx2_vectors>(f);
        case isa::generic:
            break;
    }
#endif
    detail::run_at<generic_vectors>(f);
}

/// Bytes in the widest vector of the active level.
inline std::size_t active_wide_bytes() {
    switch (active_isa()) {
        case isa::avx512:
            return avx512_vectors::wide_bytes;
        case isa::avx2:
            return avx2_vectors::wide_bytes;
        case isa::generic:
            break;
    }
    return generic_vectors::wide_bytes;
}

}  // namespace xkeras::backend
