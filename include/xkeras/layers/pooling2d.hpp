// xkeras/layers/pooling2d.hpp - MaxPooling2D (alias MaxPool2D) and AveragePooling2D
// (alias AvgPool2D) over NHWC inputs.
//
// pool_size defaults to (2, 2) for MaxPooling2D (AveragePooling2D requires it, as Keras 3),
// strides to the pool size, padding to "valid" (floor). With "same" padding, max ignores the
// padded cells and average divides by the number of real cells, as Keras. Output
// (batch, OH, OW, C); no weights. The kernels are in backend/pool2d.hpp.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "../backend/parallel.hpp"
#include "../backend/pool2d.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct Pooling2DOptions {
    std::optional<size2> strides{};  ///< Defaults to the pool size.
    std::string padding = "valid";   ///< "valid" or "same" (case-insensitive).
    shape_t input_shape{};           ///< Keras's `input_shape=`, for a first layer.
    std::string name{};              ///< Defaults to "max_pooling2d" / "average_pooling2d", ...
};

namespace detail {

/// What MaxPooling2D and AveragePooling2D share: options, config, the batch's split over the
/// threads.
template <class T>
class pooling2d : public Layer<T> {
  public:
    size2 pool_size() const { return pool_; }
    size2 strides() const { return strides_; }
    const std::string& padding() const { return padding_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = geometry(in);
        return {g.out_h, g.out_w, g.channels};
    }

    /// What this layer computes, for a layer before it that can pool its own output.
    const backend::pool2d* as_pooling() const override { return this->built_ ? &p_ : nullptr; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const auto& g = p_.g;
        const std::size_t n = x.shape()[0], threads = std::size_t(backend::pool_size());
        this->ensure_shape(y_, {n, g.out_h, g.out_w, g.channels});
        // A batch smaller than the pool (batch-1 inference) shares each image's rows out over
        // the threads, from 4,096 input values on, where a convolution before it shares its
        // output by pixels: each thread reads the rows it wrote there, where one thread alone
        // would pull the others' halves across from their cores. (A smaller image, which the
        // convolution shares by filters, stays whole.)
        if (p_.type == backend::pool2d::kind::max && n < threads && g.in_size() >= 4096 &&
            g.in_h * g.in_w > backend::max_pixels_split_by_filters && g.out_h >= threads) {
            for (std::size_t i = 0; i < n; ++i)
                backend::parallel_for(threads, [&](std::size_t t, int) {
                    backend::pooling::forward(p_, image(x, i), out(y_, i),
                                              g.out_h * t / threads * g.out_w,
                                              g.out_h * (t + 1) / threads * g.out_w, 0, g.channels);
                });
        } else {
            for_images(n, [&](std::size_t n0, std::size_t n1) {
                for (std::size_t i = n0; i < n1; ++i)
                    backend::pooling::forward(p_, image(x, i), out(y_, i), 0, g.out_pixels(), 0,
                                              g.channels);
            });
        }
        x_ = training ? &x : nullptr;
        return y_;
    }

    /// Max: each output gradient goes to the first input of its window (row-major) that equals
    /// the window's maximum, as TensorFlow's max-pool gradient; that needs the input of the last
    /// training forward, which the layer before keeps unchanged until its next forward. Average:
    /// shared out over the window's real cells.
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (p_.type == backend::pool2d::kind::max) this->require_training_forward(x_ != nullptr);
        if (!need_input_grad) return dx_;
        const std::size_t n = dy.shape()[0];
        this->ensure_shape(dx_, this->batched(n, this->input_shape_));
        for_images(n, [&](std::size_t n0, std::size_t n1) {
            std::vector<T> open;  // max_backward's per-channel flags
            for (std::size_t i = n0; i < n1; ++i)
                if (p_.type == backend::pool2d::kind::max)
                    backend::pooling::max_backward(p_, image(*x_, i), out(y_, i), out(dy, i),
                                                   image(dx_, i), open);
                else
                    backend::pooling::average_backward(p_, out(dy, i), image(dx_, i));
        });
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["pool_size"] = {pool_.h, pool_.w};
        c["padding"] = padding_;
        c["strides"] = {strides_.h, strides_.w};
        c["data_format"] = "channels_last";
        return c;
    }

    /// The layer L from a Keras config (pool_size required for AveragePooling2D, as Keras 3).
    template <class L>
    static std::unique_ptr<Layer<T>> pooling_from_config(const nlohmann::json& cfg, const char* cls,
                                                         std::vector<int> default_pool) {
        config::reader r(cfg, cls);
        auto pool = r.get_pair("pool_size", default_pool);
        if (pool.empty())
            throw value_error(std::string(cls) + " '" + r.name() +
                              "': config key 'pool_size' is missing");
        Pooling2DOptions o;
        o.name = r.name();
        auto s = r.get_pair("strides", {});
        if (!s.empty()) o.strides = size2(s[0], s[1]);
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<L>(size2(pool[0], pool[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    pooling2d(backend::pool2d::kind kind, const char* prefix, const char* cls, size2 pool,
              Pooling2DOptions o)
        : Layer<T>(prefix, o.name, o.input_shape),
          kind_(kind),
          pool_(pool),
          strides_(o.strides.value_or(pool)),
          padding_(padding_mode(o.padding, cls)),
          cls_(cls) {}

    void build_weights(const shape_t& in) override { p_ = {kind_, geometry(in)}; }

  private:
    backend::window2d geometry(const shape_t& in) const {
        return backend::window2d::make(
            in, pool_.h, pool_.w, strides_.h, strides_.w, 1, 1, padding_ == "same",
            xkeras::detail::cat("layer '", this->name(), "' (", cls_, ")"));
    }

    /// Image i of a batch of inputs (or input gradients), of outputs (or output gradients).
    const T* image(const tensor<T>& t, std::size_t i) const {
        return t.data() + i * p_.g.in_size();
    }
    T* image(tensor<T>& t, std::size_t i) const { return t.data() + i * p_.g.in_size(); }
    const T* out(const tensor<T>& t, std::size_t i) const {
        return t.data() + i * p_.g.out_pixels() * p_.g.channels;
    }
    T* out(tensor<T>& t, std::size_t i) const {
        return t.data() + i * p_.g.out_pixels() * p_.g.channels;
    }

    /// Runs f(first image, end) over the batch in tasks of about 64 KiB of input.
    template <class F>
    void for_images(std::size_t n, F&& f) const {
        const std::size_t per =
            std::max<std::size_t>(1, (std::size_t(1) << 16) / (p_.g.in_size() * sizeof(T) + 1));
        backend::parallel_for((n + per - 1) / per,
                              [&](std::size_t t, int) { f(t * per, std::min(n, (t + 1) * per)); });
    }

    backend::pool2d::kind kind_;
    size2 pool_, strides_;
    std::string padding_;
    const char* cls_;
    backend::pool2d p_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward
};

}  // namespace detail

/// `MaxPooling2D()` (2x2), `MaxPooling2D({3, 3}, {.strides = 2})`.
template <class T = float>
class MaxPooling2D : public detail::pooling2d<T> {
  public:
    explicit MaxPooling2D(size2 pool_size = {2, 2}, Pooling2DOptions o = {})
        : detail::pooling2d<T>(backend::pool2d::kind::max, "max_pooling2d", "MaxPooling2D",
                               pool_size, std::move(o)) {}
    std::string class_name() const override { return "MaxPooling2D"; }
    static layer_example example() {
        return {{{"pool_size", {3, 3}}, {"strides", {2, 2}}}, {7, 6, 2}};  // overlapping windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return MaxPooling2D::template pooling_from_config<MaxPooling2D<T>>(cfg, "MaxPooling2D",
                                                                           {2, 2});
    }
};

/// Keras's alias.
template <class T = float>
using MaxPool2D = MaxPooling2D<T>;

/// `AveragePooling2D({2, 2})`.
template <class T = float>
class AveragePooling2D : public detail::pooling2d<T> {
  public:
    explicit AveragePooling2D(size2 pool_size, Pooling2DOptions o = {})
        : detail::pooling2d<T>(backend::pool2d::kind::average, "average_pooling2d",
                               "AveragePooling2D", pool_size, std::move(o)) {}
    std::string class_name() const override { return "AveragePooling2D"; }
    static layer_example example() {
        return {{{"pool_size", {2, 2}}, {"padding", "same"}}, {5, 4, 3}};  // clipped windows
    }
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return AveragePooling2D::template pooling_from_config<AveragePooling2D<T>>(
            cfg, "AveragePooling2D", {});
    }
};

/// Keras's alias.
template <class T = float>
using AvgPool2D = AveragePooling2D<T>;

}  // namespace xkeras::layers
