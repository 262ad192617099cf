// xkeras/regularizers.hpp - L1 / L2 weight penalties added to the training loss.
//
// penalty(w) = l1 * sum(|w|) + l2 * sum(w^2); its gradient l1 * sign(w) + 2 * l2 * w is added to
// the weight's gradient. As in Keras the penalty is part of the reported loss.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "config.hpp"

namespace xkeras::regularizers {

/// An L1/L2 penalty on a weight. Build it with L1(), L2() or L1L2(), or from "l1" / "l2".
struct Regularizer {
    double l1 = 0.0;
    double l2 = 0.0;

    Regularizer() = default;
    Regularizer(double l1_, double l2_) : l1(l1_), l2(l2_) {
        if (!(l1 >= 0.0) || !(l2 >= 0.0) || !std::isfinite(l1) || !std::isfinite(l2))
            throw value_error(detail::cat(
                "regularizer: expected finite l1 >= 0 and l2 >= 0, got l1=", l1, ", l2=", l2));
    }
    /// "l1" = L1(0.01), "l2" = L2(0.01), as Keras's string shortcuts.
    Regularizer(const char* name) : Regularizer(std::string(name)) {}  // NOLINT
    Regularizer(const std::string& name) {                             // NOLINT
        if (name == "l1" || name == "L1")
            l1 = 0.01;
        else if (name == "l2" || name == "L2")
            l2 = 0.01;
        else
            throw value_error(detail::cat("unknown regularizer '", detail::excerpt(name, 60),
                                          "'; expected 'l1' or 'l2'"));
    }

    /// Keras class name: L1, L2 or L1L2.
    std::string class_name() const {
        return l1 != 0.0 && l2 == 0.0 ? "L1" : l2 != 0.0 && l1 == 0.0 ? "L2" : "L1L2";
    }

    /// Penalty of `n` values.
    template <class T>
    double penalty(const T* w, std::size_t n) const {
        double s1 = 0.0, s2 = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            s1 += std::abs(double(w[i]));
            s2 += double(w[i]) * double(w[i]);
        }
        return l1 * s1 + l2 * s2;
    }

    /// Adds the penalty's gradient to `grad`.
    template <class T>
    void add_gradient(const T* w, T* grad, std::size_t n) const {
        const T a = static_cast<T>(l1), b = static_cast<T>(2.0 * l2);
        for (std::size_t i = 0; i < n; ++i) {
            T sign = w[i] > T(0) ? T(1) : (w[i] < T(0) ? T(-1) : T(0));
            grad[i] += a * sign + b * w[i];
        }
    }
};

/// L1 penalty, factor defaults to 0.01 as in Keras.
inline Regularizer L1(double l1 = 0.01) {
    return {l1, 0.0};
}
/// L2 penalty, factor defaults to 0.01 as in Keras.
inline Regularizer L2(double l2 = 0.01) {
    return {0.0, l2};
}
/// Both penalties; each defaults to 0 as in Keras.
inline Regularizer L1L2(double l1 = 0.0, double l2 = 0.0) {
    return {l1, l2};
}

}  // namespace xkeras::regularizers
