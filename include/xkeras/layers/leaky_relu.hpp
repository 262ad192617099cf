// xkeras/layers/leaky_relu.hpp - LeakyReLU: x for x > 0, negative_slope * x otherwise,
// element-wise. No weights; output shape = input shape.
//
// Keras 3's layer: negative_slope defaults to 0.3 (the `leaky_relu` activation's, by name, is
// 0.2) and must be >= 0; tf.keras 2.x wrote it as `alpha`, which from_config reads too.
#pragma once

#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct LeakyReLUOptions {
    double negative_slope = 0.3;
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "leaky_re_lu", "leaky_re_lu_1", ...
};

/// `LeakyReLU()`, `LeakyReLU({.negative_slope = 0.1})`.
template <class T = float>
class LeakyReLU : public Layer<T> {
  public:
    explicit LeakyReLU(LeakyReLUOptions o = {})
        : Layer<T>("leaky_re_lu", o.name, o.input_shape), slope_(o.negative_slope) {
        if (!(slope_ >= 0.0))
            throw value_error(
                xkeras::detail::cat("LeakyReLU: expected negative_slope >= 0, got ", slope_));
    }

    std::string class_name() const override { return "LeakyReLU"; }
    bool supports_masking() const override { return true; }
    double negative_slope() const { return slope_; }

    shape_t compute_output_shape(const shape_t& in) const override { return in; }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        activations::leaky_relu(x.data(), y_.data(), rows(x), cols(), T(slope_));
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        activations::leaky_relu_backward(y_.data(), dy.data(), dx_.data(), rows(dy), cols(),
                                         T(slope_));
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["negative_slope"] = slope_;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "LeakyReLU");
        LeakyReLUOptions o{.negative_slope = r.get("alpha", 0.3), .name = r.name()};
        o.negative_slope = r.get("negative_slope", o.negative_slope);
        r.finish();
        auto layer = std::make_unique<LeakyReLU<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"negative_slope", 0.2}}, {3, 4}}; }

  private:
    std::size_t cols() const { return this->input_shape_.empty() ? 1 : this->input_shape_.back(); }
    std::size_t rows(const tensor<T>& t) const { return t.size() / cols(); }

    double slope_;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
