// xkeras/layers/global_pooling.hpp - GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D: the
// mean or the maximum of each channel over every step (1D: (batch, steps, C)) or every position
// (2D: (batch, H, W, C)), giving (batch, C), or (batch, 1, C) / (batch, 1, 1, C) with keepdims.
//
// The maximum's gradient goes to the values equal to it, shared equally among ties, as the
// gradient of Keras's ops.max is in TensorFlow and JAX (ties are common after a ReLU).
//
// GlobalAveragePooling1D takes a mask, as Keras's: the mean over the unmasked steps (0 / 0, NaN,
// for a sample with every step masked, as in Keras). The others drop it, as Keras 3's do.
#pragma once

#include <algorithm>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct GlobalPoolingOptions {
    bool keepdims = false;  ///< Keep the pooled axes with size 1.
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to the snake-cased class name, counted.
};
using GlobalAveragePooling2DOptions = GlobalPoolingOptions;

namespace detail {

enum class global_op { average, max };

/// Pooling over `Rank` axes, all of a global pooling layer but its name (`Derived::keras_name`).
template <class T, global_op Op, std::size_t Rank, class Derived>
class GlobalPooling : public Layer<T> {
  public:
    std::string class_name() const override { return Derived::keras_name; }
    bool keepdims() const { return keepdims_; }

    /// Reads a Keras config; channels_first is refused by name.
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, Derived::keras_name);
        r.expect("data_format", "channels_last");
        auto layer = std::make_unique<Derived>(
            GlobalPoolingOptions{.keepdims = r.get("keepdims", false), .name = r.name()});
        r.finish();
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() {
        return {nlohmann::json::object(), Rank == 1 ? shape_t{5, 3} : shape_t{3, 4, 2}};
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["data_format"] = "channels_last";
        c["keepdims"] = keepdims_;
        return c;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != Rank + 1 || shape_size(in) == 0)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (", this->class_name(), ") expects inputs of shape ",
                Rank == 1 ? "(batch, steps, channels)" : "(batch, height, width, channels)",
                " with no empty axis, got ", shape_str(in, true)));
        if (!keepdims_) return {in.back()};
        shape_t out(Rank, 1);
        out.push_back(in.back());
        return out;
    }

    bool supports_masking() const override { return takes_mask; }
    bool output_masked(bool) const override { return false; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        masked_ = false;
        return pool(x, training);
    }

    /// The mean over the steps whose mask is 1 (GlobalAveragePooling1D only).
    const tensor<T>& forward_masked(const tensor<T>& x, const tensor<T>& mask,
                                    bool training) override {
        this->check_input(x);
        if constexpr (!takes_mask) return forward(x, training);
        this->check_mask(x, mask);
        this->ensure_shape(mask_, shape_of(mask));
        std::copy_n(mask.data(), mask.size(), mask_.data());
        masked_ = true;
        return pool(x, training);
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if constexpr (Op == global_op::max) this->require_training_forward(x_ != nullptr);
        if (!need_input_grad) return dx_;
        const std::size_t n = dy.shape()[0], C = channels(), P = positions();
        this->ensure_shape(dx_, this->batched(n, this->input_shape_));
        for (std::size_t i = 0; i < n; ++i) {
            const T* d = dy.data() + i * C;
            T* g = dx_.data() + i * P * C;
            if constexpr (Op == global_op::average) {
                const T* w = masked_ ? mask_.data() + i * P : nullptr;
                const T inv = T(1) / steps_counted(w, P);
                for (std::size_t p = 0; p < P; ++p)
                    for (std::size_t c = 0; c < C; ++c)
                        g[p * C + c] = !w || w[p] != T(0) ? d[c] * inv : T(0);
            } else {
                const T* s = x_->data() + i * P * C;
                const T* m = y_.data() + i * C;
                ties_.assign(C, T(0));
                for (std::size_t p = 0; p < P; ++p)
                    for (std::size_t c = 0; c < C; ++c) ties_[c] += s[p * C + c] == m[c] ? 1 : 0;
                for (std::size_t p = 0; p < P; ++p)
                    for (std::size_t c = 0; c < C; ++c)
                        g[p * C + c] = s[p * C + c] == m[c] ? d[c] / ties_[c] : T(0);
            }
        }
        return dx_;
    }

  protected:
    GlobalPooling(const char* auto_prefix, GlobalPoolingOptions o)
        : Layer<T>(auto_prefix, std::move(o.name), std::move(o.input_shape)),
          keepdims_(o.keepdims) {}

  private:
    static constexpr bool takes_mask = Op == global_op::average && Rank == 1;

    const tensor<T>& pool(const tensor<T>& x, bool training) {
        const std::size_t n = x.shape()[0], C = channels(), P = positions();
        this->ensure_shape(y_, this->batched(n, this->output_shape_));
        for (std::size_t i = 0; i < n; ++i) {
            const T* s = x.data() + i * P * C;
            T* o = y_.data() + i * C;
            if constexpr (Op == global_op::average) {
                const T* w = masked_ ? mask_.data() + i * P : nullptr;
                std::fill_n(o, C, T(0));
                for (std::size_t p = 0; p < P; ++p)
                    if (!w || w[p] != T(0))
                        for (std::size_t c = 0; c < C; ++c) o[c] += s[p * C + c];
                const T inv = T(1) / steps_counted(w, P);
                for (std::size_t c = 0; c < C; ++c) o[c] *= inv;
            } else {
                std::copy_n(s, C, o);
                for (std::size_t p = 1; p < P; ++p)
                    for (std::size_t c = 0; c < C; ++c) o[c] = std::max(o[c], s[p * C + c]);
            }
        }
        x_ = training ? &x : nullptr;
        return y_;
    }

    /// The number of positions the mean counts: all P, or the unmasked ones of mask row w.
    static T steps_counted(const T* w, std::size_t P) {
        if (!w) return T(P);
        std::size_t k = 0;
        for (std::size_t p = 0; p < P; ++p) k += w[p] != T(0);
        return T(k);
    }

    std::size_t channels() const { return this->input_shape_.back(); }
    std::size_t positions() const { return shape_size(this->input_shape_) / channels(); }

    bool keepdims_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
    std::vector<T> ties_;
    bool masked_ = false;  ///< Whether the last forward had a mask (mask_).
    tensor<T> mask_;
};

}  // namespace detail

/// `GlobalAveragePooling1D()`: (batch, steps, C) -> (batch, C), the mean over the steps.
template <class T = float>
class GlobalAveragePooling1D
    : public detail::GlobalPooling<T, detail::global_op::average, 1, GlobalAveragePooling1D<T>> {
  public:
    static constexpr const char* keras_name = "GlobalAveragePooling1D";
    explicit GlobalAveragePooling1D(GlobalPoolingOptions o = {})
        : GlobalAveragePooling1D::GlobalPooling("global_average_pooling1d", std::move(o)) {}
};

/// `GlobalMaxPooling1D()`: (batch, steps, C) -> (batch, C), the maximum over the steps.
template <class T = float>
class GlobalMaxPooling1D
    : public detail::GlobalPooling<T, detail::global_op::max, 1, GlobalMaxPooling1D<T>> {
  public:
    static constexpr const char* keras_name = "GlobalMaxPooling1D";
    explicit GlobalMaxPooling1D(GlobalPoolingOptions o = {})
        : GlobalMaxPooling1D::GlobalPooling("global_max_pooling1d", std::move(o)) {}
};

/// `GlobalAveragePooling2D()`: (batch, H, W, C) -> (batch, C), the mean over H and W.
template <class T = float>
class GlobalAveragePooling2D
    : public detail::GlobalPooling<T, detail::global_op::average, 2, GlobalAveragePooling2D<T>> {
  public:
    static constexpr const char* keras_name = "GlobalAveragePooling2D";
    explicit GlobalAveragePooling2D(GlobalPoolingOptions o = {})
        : GlobalAveragePooling2D::GlobalPooling("global_average_pooling2d", std::move(o)) {}
};

/// `GlobalMaxPooling2D()`: (batch, H, W, C) -> (batch, C), the maximum over H and W.
template <class T = float>
class GlobalMaxPooling2D
    : public detail::GlobalPooling<T, detail::global_op::max, 2, GlobalMaxPooling2D<T>> {
  public:
    static constexpr const char* keras_name = "GlobalMaxPooling2D";
    explicit GlobalMaxPooling2D(GlobalPoolingOptions o = {})
        : GlobalMaxPooling2D::GlobalPooling("global_max_pooling2d", std::move(o)) {}
};

}  // namespace xkeras::layers
