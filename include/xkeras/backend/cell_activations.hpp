// xkeras/backend/cell_activations.hpp - the activations of the recurrent cells' loops
// (lstm_cell.hpp, gru_cell.hpp), one value at a time, as template arguments: the loops compile
// once per activation with no branch inside.
#pragma once

#include <cmath>
#include <string>

#include "../activations.hpp"
#include "../config.hpp"

namespace xkeras::backend::cell {

/// The activations a recurrent layer's `activation` can be (the gates' is the sigmoid).
inline bool supported_activation(activations::kind k) {
    using activations::kind;
    return k == kind::tanh || k == kind::sigmoid || k == kind::relu || k == kind::linear;
}

/// The activation's value at x.
template <activations::kind K, class T>
inline T apply(T x) {
    using activations::kind;
    if constexpr (K == kind::tanh) return std::tanh(x);
    if constexpr (K == kind::sigmoid) return T(1) / (T(1) + std::exp(-x));
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

/// Calls f.template operator()<K>() with the activation k as the template argument K.
template <class F>
void with_activation(activations::kind k, F&& f) {
    using activations::kind;
    switch (k) {
        case kind::tanh:
            return f.template operator()<kind::tanh>();
        case kind::sigmoid:
            return f.template operator()<kind::sigmoid>();
        case kind::relu:
            return f.template operator()<kind::relu>();
        case kind::linear:
            return f.template operator()<kind::linear>();
        default:
            throw value_error(std::string("activation '") + activations::name(k) +
                              "' is not supported in a recurrent cell (tanh, sigmoid, relu or "
                              "linear)");
    }
}

}  // namespace xkeras::backend::cell
