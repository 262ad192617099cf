// xkeras/layers/pooling2d.hpp - MaxPooling2D (alias MaxPool2D) and AveragePooling2D
// (alias AvgPool2D) over NHWC inputs.
//
// pool_size defaults to (2, 2) for MaxPooling2D (AveragePooling2D requires it, as Keras 3),
// strides to the pool size, padding to "valid". Output (batch, OH, OW, C). What they share with
// the 1-D poolings is pooling.hpp.
#pragma once

#include "pooling.hpp"

namespace xkeras::layers {

/// `MaxPooling2D()` (2x2), `MaxPooling2D({3, 3}, {.strides = 2})`.
template <class T = float>
class MaxPooling2D : public detail::pooling<T> {
  public:
    explicit MaxPooling2D(size2 pool_size = {2, 2}, Pooling2DOptions o = {})
        : detail::pooling<T>(backend::pool2d::kind::max, "max_pooling2d", "MaxPooling2D", 2,
                             pool_size, o.strides, o.padding, o.name, o.input_shape) {}
    std::string class_name() const override { return "MaxPooling2D"; }
    size2 pool_size() const { return this->pool_; }
    size2 strides() const { return this->strides_; }
    static layer_example example() {
        return {{{"pool_size", {3, 3}}, {"strides", {2, 2}}}, {7, 6, 2}};  // overlapping windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return MaxPooling2D::template pooling_from_config<MaxPooling2D<T>, Pooling2DOptions>(
            cfg, "MaxPooling2D", {2, 2});
    }
};

/// Keras's alias.
template <class T = float>
using MaxPool2D = MaxPooling2D<T>;

/// `AveragePooling2D({2, 2})`.
template <class T = float>
class AveragePooling2D : public detail::pooling<T> {
  public:
    explicit AveragePooling2D(size2 pool_size, Pooling2DOptions o = {})
        : detail::pooling<T>(backend::pool2d::kind::average, "average_pooling2d",
                             "AveragePooling2D", 2, pool_size, o.strides, o.padding, o.name,
                             o.input_shape) {}
    std::string class_name() const override { return "AveragePooling2D"; }
    size2 pool_size() const { return this->pool_; }
    size2 strides() const { return this->strides_; }
    static layer_example example() {
        return {{{"pool_size", {2, 2}}, {"padding", "same"}}, {5, 4, 3}};  // clipped windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return AveragePooling2D::template pooling_from_config<AveragePooling2D<T>,
                                                              Pooling2DOptions>(
            cfg, "AveragePooling2D", {});
    }
};

/// Keras's alias.
template <class T = float>
using AvgPool2D = AveragePooling2D<T>;

}  // namespace xkeras::layers
