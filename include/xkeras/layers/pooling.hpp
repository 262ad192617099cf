// xkeras/layers/pooling.hpp - what the 1-D and 2-D max and average poolings share
// (pooling1d.hpp, pooling2d.hpp): Keras's config, the geometry, the batch's split over the
// threads. The kernels are in backend/pool2d.hpp.
//
// strides default to the pool size, padding to "valid" (floor). With "same" padding, max
// ignores the padded cells and average divides by the number of real cells, as Keras. No
// weights.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../backend/parallel.hpp"
#include "../backend/pool2d.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// Options of the 2-D poolings, in Keras's order.
struct Pooling2DOptions {
    std::optional<size2> strides{};  ///< Defaults to the pool size.
    std::string padding = "valid";   ///< "valid" or "same" (case-insensitive).
    shape_t input_shape{};           ///< Keras's `input_shape=`, for a first layer.
    std::string name{};              ///< Defaults to "max_pooling2d" / "average_pooling2d", ...
};

/// Options of the 1-D poolings, in Keras's order.
struct Pooling1DOptions {
    std::optional<int> strides{};   ///< Defaults to the pool size.
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, channels), for a first layer.
    std::string name{};     ///< Defaults to "max_pooling1d" / "average_pooling1d", ...
};

namespace detail {

/// What the 1-D and 2-D max and average poolings share: options, config, the batch's split over
/// the threads. A 1-D pooling sees its input (steps, C) as the image (steps, 1, C) and its
/// window as (pool, 1): the same bytes, so the 2-D kernels run it unchanged.
template <class T>
class pooling : public Layer<T> {
  public:
    const std::string& padding() const { return padding_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = geometry(in);
        if (rank_ == 1) return {g.out_h, g.channels};
        return {g.out_h, g.out_w, g.channels};
    }

    /// What this layer computes, for a layer before it that can pool its own output.
    const backend::pool2d* as_pooling() const override { return this->built_ ? &p_ : nullptr; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const auto& g = p_.g;
        const std::size_t n = x.shape()[0], threads = std::size_t(backend::pool_size());
        this->ensure_shape(y_, this->batched(n, this->output_shape_));
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
        c["pool_size"] = sizes(pool_);
        c["padding"] = padding_;
        c["strides"] = sizes(strides_);
        c["data_format"] = "channels_last";
        return c;
    }

    /// The layer L, of `rank`, from a Keras config (pool_size required for AveragePooling1D and
    /// 2D, as Keras 3). Options is L's options struct.
    template <class L, class Options>
    static std::unique_ptr<Layer<T>> pooling_from_config(const nlohmann::json& cfg, const char* cls,
                                                         std::vector<int> default_pool) {
        config::reader r(cfg, cls);
        constexpr bool one_d = std::is_same_v<Options, Pooling1DOptions>;
        auto read = [&](const char* key, std::vector<int> fallback) {
            if constexpr (one_d) {
                const auto v = r.get_size1(
                    key, fallback.empty() ? std::optional<int>() : std::optional<int>(fallback[0]));
                return v ? std::vector<int>{*v} : std::vector<int>{};
            } else {
                return r.get_pair(key, std::move(fallback));
            }
        };
        auto pool = read("pool_size", default_pool);
        if (pool.empty()) throw value_error(r.where("pool_size") + " is missing");
        Options o;
        o.name = r.name();
        auto s = read("strides", {});
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.finish();
        std::unique_ptr<L> layer;
        if constexpr (one_d) {
            if (!s.empty()) o.strides = s[0];
            layer = std::make_unique<L>(pool[0], std::move(o));
        } else {
            if (!s.empty()) o.strides = size2(s[0], s[1]);
            layer = std::make_unique<L>(size2(pool[0], pool[1]), std::move(o));
        }
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    /// A 2-D pooling (rank 2) or a 1-D one (rank 1, pool and strides (n, 1)).
    pooling(backend::pool2d::kind kind, const char* prefix, const char* cls, std::size_t rank,
            size2 pool, std::optional<size2> strides, const std::string& padding, std::string name,
            shape_t input_shape)
        : Layer<T>(prefix, std::move(name), std::move(input_shape)),
          pool_(pool),
          strides_(strides.value_or(pool)),
          kind_(kind),
          rank_(rank),
          padding_(padding_mode(padding, cls)),
          cls_(cls) {}

    void build_weights(const shape_t& in) override { p_ = {kind_, geometry(in)}; }

    size2 pool_;
    size2 strides_;

  private:
    backend::window2d geometry(const shape_t& in) const {
        const auto who = xkeras::detail::cat("layer '", this->name(), "' (", cls_, ")");
        if (rank_ == 2)
            return backend::window2d::make(in, pool_.h, pool_.w, strides_.h, strides_.w, 1, 1,
                                           padding_ == "same", who);
        if (in.size() != 2)
            throw shape_error(
                xkeras::detail::cat(who, " expects inputs of shape (batch, steps, channels), got ",
                                    shape_str(in, true)));
        if (padding_ == "valid" && in[0] < pool_.h)
            throw shape_error(xkeras::detail::cat(who, ": a window of ", pool_.h,
                                                  " with 'valid' padding does not fit ", in[0],
                                                  " steps; the output would be empty"));
        return backend::window2d::make({in[0], 1, in[1]}, pool_.h, 1, strides_.h, 1, 1, 1,
                                       padding_ == "same", who);
    }

    /// A size of each axis, as Keras writes pool sizes and strides.
    nlohmann::json sizes(size2 s) const {
        if (rank_ == 1) return {s.h};
        return {s.h, s.w};
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
    std::size_t rank_;
    std::string padding_;
    const char* cls_;
    backend::pool2d p_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward
};

}  // namespace detail
}  // namespace xkeras::layers
