// xkeras/activations.hpp - element-wise activations, by Keras name.
//
// linear (also "" / "None"), relu = max(x, 0), leaky_relu = x for x > 0 and negative_slope * x
// otherwise (0.2 by name, as Keras), elu = x for x > 0 and alpha (exp(x) - 1) otherwise (alpha 1
// by name), sigmoid = 1 / (1 + exp(-x)), tanh, and softmax over the last axis, computed stably as
// exp(x - max) / sum. Each works in place on a (rows, cols) block; the backward pass uses the
// activation's output y, so no input copy is kept:
//   relu' = [y > 0], leaky_relu' = [y > 0] + negative_slope [y <= 0] (y has x's sign for a
//   slope >= 0), elu' = [y > 0] + (y + 1) [y <= 0] (likewise for alpha 1), sigmoid' = y (1 - y),
//   tanh' = 1 - y^2, softmax: dx_i = y_i (dy_i - sum_j dy_j y_j).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "backend/parallel.hpp"
#include "config.hpp"

namespace xkeras::activations {

enum class kind { linear, relu, sigmoid, tanh, softmax, leaky_relu, elu };

/// leaky_relu's negative_slope when the activation is given by name (Keras's default).
inline constexpr double default_negative_slope = 0.2;

/// The activation for a Keras name; throws value_error for an unknown one.
inline kind get(const std::string& name) {
    if (name.empty() || name == "linear" || name == "None" || name == "none") return kind::linear;
    if (name == "relu") return kind::relu;
    if (name == "sigmoid") return kind::sigmoid;
    if (name == "tanh") return kind::tanh;
    if (name == "softmax") return kind::softmax;
    if (name == "leaky_relu") return kind::leaky_relu;
    if (name == "elu") return kind::elu;
    throw value_error(
        detail::cat("unknown activation '", detail::excerpt(name, 60),
                    "'; expected one of linear, relu, sigmoid, tanh, softmax, leaky_relu, elu"));
}

/// Keras's name of an activation.
inline const char* name(kind k) {
    switch (k) {
        case kind::linear:
            return "linear";
        case kind::relu:
            return "relu";
        case kind::sigmoid:
            return "sigmoid";
        case kind::tanh:
            return "tanh";
        case kind::softmax:
            return "softmax";
        case kind::leaky_relu:
            return "leaky_relu";
        case kind::elu:
            return "elu";
    }
    return "linear";
}

/// Softmax of each row of a (rows, cols) block; `out` may be `in`.
template <class T>
void softmax_rows(const T* in, T* out, std::size_t rows, std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T* x = in + r * cols;
        T* y = out + r * cols;
        const T mx = *std::max_element(x, x + cols);
        T sum = T(0);
        for (std::size_t c = 0; c < cols; ++c) {
            y[c] = std::exp(x[c] - mx);
            sum += y[c];
        }
        const T inv = T(1) / sum;
        for (std::size_t c = 0; c < cols; ++c) y[c] *= inv;
    }
}

namespace impl {

/// Runs f(first row, rows) over the rows of a (rows, cols) block, spread over the threads from
/// 16,384 values on: each thread takes the rows that the layer's parallel GEMM or sparse product
/// just wrote on it, rather than one thread pulling them all across from the other cores.
template <class F>
void by_rows(std::size_t rows, std::size_t cols, F&& f) {
    constexpr std::size_t grain = std::size_t(1) << 14;
    backend::parallel_ranges(rows, grain / std::max<std::size_t>(cols, 1),
                             [&](std::size_t b, std::size_t e) { f(b, e - b); });
}

template <class T>
void leaky_relu_serial(const T* in, T* out, std::size_t n, T slope) {
    for (std::size_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : slope * in[i];
}

template <class T>
void leaky_relu_backward_serial(const T* y, const T* dy, T* dx, std::size_t n, T slope) {
    for (std::size_t i = 0; i < n; ++i) {
        const T d = dy[i];  // read whatever y is: a blend, not a masked load
        dx[i] = y[i] > T(0) ? d : slope * d;
    }
}

template <class T>
void elu_serial(const T* in, T* out, std::size_t n, T alpha) {
    for (std::size_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : alpha * std::expm1(in[i]);
}

template <class T>
void apply_serial(kind k, const T* in, T* out, std::size_t rows, std::size_t cols) {
    const std::size_t n = rows * cols;
    switch (k) {
        case kind::linear:
            if (in != out) std::copy_n(in, n, out);
            return;
        case kind::relu:
            for (std::size_t i = 0; i < n; ++i) out[i] = std::max(in[i], T(0));
            return;
        case kind::sigmoid:
            for (std::size_t i = 0; i < n; ++i) out[i] = T(1) / (T(1) + std::exp(-in[i]));
            return;
        case kind::tanh:
            for (std::size_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
            return;
        case kind::softmax:
            softmax_rows(in, out, rows, cols);
            return;
        case kind::leaky_relu:
            leaky_relu_serial(in, out, n, T(default_negative_slope));
            return;
        case kind::elu:
            elu_serial(in, out, n, T(1));
            return;
    }
}

template <class T>
void backward_serial(kind k, const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols) {
    const std::size_t n = rows * cols;
    switch (k) {
        case kind::linear:
            if (dy != dx) std::copy_n(dy, n, dx);
            return;
        case kind::relu:
            // dy is read whatever y is, so that GCC vectorises with a blend rather than a
            // masked load (slow on AMD)
            for (std::size_t i = 0; i < n; ++i) {
                const T d = dy[i];
                dx[i] = y[i] > T(0) ? d : T(0);
            }
            return;
        case kind::sigmoid:
            for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
            return;
        case kind::tanh:
            for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
            return;
        case kind::leaky_relu:
            leaky_relu_backward_serial(y, dy, dx, n, T(default_negative_slope));
            return;
        case kind::elu:  // alpha 1: y > 0 exactly where x > 0, and elu'(x) = y + 1 below
            for (std::size_t i = 0; i < n; ++i) {
                const T d = dy[i];
                dx[i] = y[i] > T(0) ? d : d * (y[i] + T(1));
            }
            return;
        case kind::softmax:
            for (std::size_t r = 0; r < rows; ++r) {
                const T* yr = y + r * cols;
                const T* dr = dy + r * cols;
                T* xr = dx + r * cols;
                T dot = T(0);
                for (std::size_t c = 0; c < cols; ++c) dot += dr[c] * yr[c];
                for (std::size_t c = 0; c < cols; ++c) xr[c] = yr[c] * (dr[c] - dot);
            }
            return;
    }
}

}  // namespace impl

/// out = k(in) for a (rows, cols) block (softmax acts on each row); `out` may be `in`.
template <class T>
void apply(kind k, const T* in, T* out, std::size_t rows, std::size_t cols) {
    if (k == kind::linear && in == out) return;
    impl::by_rows(rows, cols, [&](std::size_t r, std::size_t n) {
        impl::apply_serial(k, in + r * cols, out + r * cols, n, cols);
    });
}

/// Applies `k` in place.
template <class T>
void apply(kind k, T* x, std::size_t rows, std::size_t cols) {
    apply(k, static_cast<const T*>(x), x, rows, cols);
}

/// dx = dL/d(input) from dy = dL/d(output) and the output y; `dx` may be `dy`.
template <class T>
void backward(kind k, const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols) {
    if (k == kind::linear && dy == dx) return;
    impl::by_rows(rows, cols, [&](std::size_t r, std::size_t n) {
        impl::backward_serial(k, y + r * cols, dy + r * cols, dx + r * cols, n, cols);
    });
}

/// out = leaky_relu(in) with the given negative slope (>= 0) over a (rows, cols) block.
template <class T>
void leaky_relu(const T* in, T* out, std::size_t rows, std::size_t cols, T negative_slope) {
    impl::by_rows(rows, cols, [&](std::size_t r, std::size_t n) {
        impl::leaky_relu_serial(in + r * cols, out + r * cols, n * cols, negative_slope);
    });
}

/// dx from dy and leaky_relu's output y, with the given negative slope (>= 0).
template <class T>
void leaky_relu_backward(const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols,
                         T negative_slope) {
    impl::by_rows(rows, cols, [&](std::size_t r, std::size_t n) {
        impl::leaky_relu_backward_serial(y + r * cols, dy + r * cols, dx + r * cols, n * cols,
                                         negative_slope);
    });
}

/// out = elu(in) with the given alpha over a (rows, cols) block.
template <class T>
void elu(const T* in, T* out, std::size_t rows, std::size_t cols, T alpha) {
    impl::by_rows(rows, cols, [&](std::size_t r, std::size_t n) {
        impl::elu_serial(in + r * cols, out + r * cols, n * cols, alpha);
    });
}

/// In-place form of backward: dy becomes dL/d(input).
template <class T>
void backward(kind k, const T* y, T* dy, std::size_t rows, std::size_t cols) {
    backward(k, y, static_cast<const T*>(dy), dy, rows, cols);
}

}  // namespace xkeras::activations
