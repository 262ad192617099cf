// xkeras/backend/cell_activations.hpp - the activations of the recurrent cells' loops
// (simple_rnn_cell.hpp, lstm_cell.hpp, gru_cell.hpp), one value at a time, as template
// arguments: the loops compile once per activation with no branch inside, and vectorise.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>

#include "../activations.hpp"
#include "../config.hpp"
#include "dispatch.hpp"
#include "fast_math.hpp"

/// Before a cell's loop over the units: its iterations are independent (the gates' rows and the
/// states never overlap), so the compiler vectorises it without checking each pair of pointers
/// (eight of them in LSTM's loops, past what GCC checks at run time).
#if defined(__clang__)
#define XKERAS_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define XKERAS_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define XKERAS_INDEPENDENT_ITERATIONS
#endif

namespace xkeras::backend::cell {

/// The activations a recurrent layer's `activation` can be (the gates' is the sigmoid).
inline bool supported_activation(activations::kind k) {
    using activations::kind;
    return k == kind::tanh || k == kind::sigmoid || k == kind::relu || k == kind::linear;
}

/// The activation's value at x: in float, the vectorisable forms of fast_math.hpp (the gates'
/// loops are then SIMD loops); in double, the C library's.
template <activations::kind K, class T>
inline T apply(T x) {
    using activations::kind;
    if constexpr (K == kind::tanh) {
        if constexpr (std::is_same_v<T, float>) return fast::tanh(x);
        return std::tanh(x);
    }
    if constexpr (K == kind::sigmoid) {
        if constexpr (std::is_same_v<T, float>) return fast::sigmoid(x);
        return T(1) / (T(1) + std::exp(-x));
    }
    if constexpr (K == kind::relu) return x > T(0) ? x : T(0);
    if constexpr (K == kind::linear) return x;
}

/// The derivative at the input whose output is y.
template <activations::kind K, class T>
inline T slope(T y) {
    using activations::kind;
    if constexpr (K == kind::tanh) return T(1) - y * y;
    if constexpr (K == kind::sigmoid) return y * (T(1) - y);
    if constexpr (K == kind::relu) return y > T(0) ? T(1) : T(0);
    if constexpr (K == kind::linear) return T(1);
}

/// Calls f.template operator()<K>() with the activation k as the template argument K, compiled
/// for the instruction-set level in force (dispatch.hpp: a build without -march still runs the
/// cells' loops on AVX2 or AVX-512 vectors where the CPU has them).
template <class F>
void with_activation(activations::kind k, F&& f) {
    using activations::kind;
    auto at = [&]<kind K>() { dispatch([&]<class>() { f.template operator()<K>(); }); };
    switch (k) {
        case kind::tanh:
            return at.template operator()<kind::tanh>();
        case kind::sigmoid:
            return at.template operator()<kind::sigmoid>();
        case kind::relu:
            return at.template operator()<kind::relu>();
        case kind::linear:
            return at.template operator()<kind::linear>();
        default:
            throw value_error(std::string("activation '") + activations::name(k) +
                              "' is not supported in a recurrent cell (tanh, sigmoid, relu or "
                              "linear)");
    }
}

}  // namespace xkeras::backend::cell
