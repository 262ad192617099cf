// xkeras/layers/pooling1d.hpp - MaxPooling1D (alias MaxPool1D) and AveragePooling1D (alias
// AvgPool1D) over (batch, steps, channels) inputs.
//
// pool_size defaults to 2 for MaxPooling1D (AveragePooling1D requires it, as Keras 3), strides
// to the pool size, padding to "valid". Output (batch, out_steps, C). They run as 2-D poolings
// of a (pool_size, 1) window (pooling.hpp).
#pragma once

#include "pooling.hpp"

namespace xkeras::layers {

namespace detail {
/// A 1-D pooling's window or strides, as the (n, 1) of its 2-D view.
inline size2 column(int v, const char* cls, const char* what) {
    return size2(int(positive_size(v, cls, what)), 1);
}
inline std::optional<size2> column(std::optional<int> v, const char* cls, const char* what) {
    if (!v) return std::nullopt;
    return column(*v, cls, what);
}
}  // namespace detail

/// `MaxPooling1D()` (a window of 2), `MaxPooling1D(3, {.strides = 1, .padding = "same"})`.
template <class T = float>
class MaxPooling1D : public detail::pooling<T> {
  public:
    explicit MaxPooling1D(int pool_size = 2, Pooling1DOptions o = {})
        : detail::pooling<T>(backend::pool2d::kind::max, "max_pooling1d", "MaxPooling1D", 1,
                             detail::column(pool_size, "MaxPooling1D", "pool_size"),
                             detail::column(o.strides, "MaxPooling1D", "strides"), o.padding,
                             o.name, o.input_shape) {}
    std::string class_name() const override { return "MaxPooling1D"; }
    std::size_t pool_size() const { return this->pool_.h; }
    std::size_t strides() const { return this->strides_.h; }
    static layer_example example() {
        return {{{"pool_size", {3}}, {"strides", {2}}}, {8, 3}};  // overlapping windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return MaxPooling1D::template pooling_from_config<MaxPooling1D<T>, Pooling1DOptions>(
            cfg, "MaxPooling1D", {2});
    }
};

/// Keras's alias.
template <class T = float>
using MaxPool1D = MaxPooling1D<T>;

/// `AveragePooling1D(2)`.
template <class T = float>
class AveragePooling1D : public detail::pooling<T> {
  public:
    explicit AveragePooling1D(int pool_size, Pooling1DOptions o = {})
        : detail::pooling<T>(backend::pool2d::kind::average, "average_pooling1d",
                             "AveragePooling1D", 1,
                             detail::column(pool_size, "AveragePooling1D", "pool_size"),
                             detail::column(o.strides, "AveragePooling1D", "strides"), o.padding,
                             o.name, o.input_shape) {}
    std::string class_name() const override { return "AveragePooling1D"; }
    std::size_t pool_size() const { return this->pool_.h; }
    std::size_t strides() const { return this->strides_.h; }
    static layer_example example() {
        return {{{"pool_size", {3}}, {"padding", "same"}}, {7, 2}};  // clipped windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return AveragePooling1D::template pooling_from_config<AveragePooling1D<T>,
                                                              Pooling1DOptions>(
            cfg, "AveragePooling1D", {});
    }
};

/// Keras's alias.
template <class T = float>
using AvgPool1D = AveragePooling1D<T>;

}  // namespace xkeras::layers
