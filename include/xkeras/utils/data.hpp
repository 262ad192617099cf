// xkeras/utils/data.hpp - preparing data: one-hot labels and pixel scaling.
#pragma once

#include <cstdint>
#include <type_traits>

#include "../config.hpp"
#include "../tensor.hpp"

namespace xkeras::utils {

/// One-hot encodes integer class labels, like keras.utils.to_categorical: labels of shape S give
/// shape S + (num_classes,) (a trailing axis of size 1 is squeezed first). `num_classes` < 0
/// means max(label) + 1. Throws value_error for a negative or non-integer label, or one >=
/// num_classes.
template <class T = float, class E>
xt::xarray<T> to_categorical(const E& labels_expr, long num_classes = -1) {
    xt::xarray<double> labels = xt::cast<double>(xt::eval(labels_expr));
    shape_t shape(labels.shape().begin(), labels.shape().end());
    if (!shape.empty() && shape.back() == 1 && shape.size() > 1) shape.pop_back();
    long max_label = -1;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        double v = labels.data()[i];
        if (!(v >= 0) || v != static_cast<double>(static_cast<long>(v)))
            throw value_error(detail::cat("to_categorical: label ", i, " is ", v,
                                          ", expected a non-negative integer"));
        max_label = std::max(max_label, static_cast<long>(v));
    }
    if (num_classes < 0) num_classes = max_label + 1;
    if (num_classes == 0) throw value_error("to_categorical: num_classes is 0 (no labels given)");
    if (max_label >= num_classes)
        throw value_error(detail::cat("to_categorical: label ", max_label,
                                      " is out of range for num_classes=", num_classes,
                                      " (expected 0..", num_classes - 1, ")"));
    shape.push_back(static_cast<std::size_t>(num_classes));
    xt::xarray<T> out = xt::zeros<T>(shape);
    for (std::size_t i = 0; i < labels.size(); ++i)
        out.data()[i * std::size_t(num_classes) + std::size_t(labels.data()[i])] = T(1);
    return out;
}

/// Pixels to float in [0, 1]: `x.astype("float32") / 255` of the Keras tutorials. (Keras's own
/// `keras.utils.normalize` is an L2 normalisation, hence the different name.)
template <class T = float, class E>
xt::xarray<T> normalize_pixels(const E& images, double max_value = 255.0) {
    if (!(max_value > 0))
        throw value_error(detail::cat("normalize_pixels: max_value must be > 0, got ", max_value));
    xt::xarray<T> out = xt::cast<T>(xt::eval(images));
    const T div = static_cast<T>(max_value);
    T* v = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) v[i] /= div;
    return out;
}

}  // namespace xkeras::utils
