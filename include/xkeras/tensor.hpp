// xkeras/tensor.hpp - the tensor and shape types of the public API.
//
// Tensors between layers are `xt::xarray<T>`: batch first, channels last (Keras's NHWC). This is
// the only public header that includes xtensor.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

namespace xkeras {

/// A dense, row-major tensor of any rank.
template <class T>
using tensor = xt::xarray<T>;

/// A shape. Layer shapes exclude the batch dimension (Keras's `input_shape`).
using shape_t = std::vector<std::size_t>;

/// Number of elements of a shape (1 for the empty shape).
inline std::size_t shape_size(const shape_t& s) {
    std::size_t n = 1;
    for (auto d : s) n *= d;
    return n;
}

/// Formats a shape like Python: "(None, 28, 28)" with `batch` set, "(28, 28)" otherwise.
inline std::string shape_str(const shape_t& s, bool batch = false) {
    std::string out = "(";
    bool first = true;
    if (batch) {
        out += "None";
        first = false;
    }
    for (auto d : s) {
        if (!first) out += ", ";
        out += std::to_string(d);
        first = false;
    }
    if (s.size() == 1 && !batch) out += ",";
    return out + ")";
}

/// The shape of a tensor as a shape_t.
template <class E>
shape_t shape_of(const E& e) {
    return shape_t(e.shape().begin(), e.shape().end());
}

}  // namespace xkeras
