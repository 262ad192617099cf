// xkeras/layers/elu.hpp - ELU: x for x > 0, alpha (exp(x) - 1) otherwise, element-wise. No
// weights; output shape = input shape.
//
// Keras takes any alpha (1 by default). Keras 3's ELU leaves alpha out of its config, so a file
// it writes reloads with alpha 1; tf.keras wrote it, and xkeras writes and reads it.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct ELUOptions {
    double alpha = 1.0;
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "elu", "elu_1", ...
};

/// `ELU()`, `ELU({.alpha = 0.5})`.
template <class T = float>
class ELU : public Layer<T> {
  public:
    explicit ELU(ELUOptions o = {}) : Layer<T>("elu", o.name, o.input_shape), alpha_(o.alpha) {
        if (!std::isfinite(alpha_))
            throw value_error(xkeras::detail::cat("ELU: expected a finite alpha, got ", alpha_));
    }

    std::string class_name() const override { return "ELU"; }
    bool supports_masking() const override { return true; }
    double alpha() const { return alpha_; }

    shape_t compute_output_shape(const shape_t& in) const override { return in; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        activations::elu(x.data(), y_.data(), rows(x), cols(), T(alpha_));
        x_ = training ? &x : nullptr;  // backward reads its sign: y's is x's only for alpha >= 0
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        const T alpha = T(alpha_);
        const T* in = x_->data();
        const T* y = y_.data();
        const T* d = dy.data();
        T* out = dx_.data();
        // below 0, d/dx alpha (exp(x) - 1) = alpha exp(x) = y + alpha
        for (std::size_t i = 0; i < dy.size(); ++i)
            out[i] = in[i] > T(0) ? d[i] : d[i] * (y[i] + alpha);
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["alpha"] = alpha_;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "ELU");
        ELUOptions o{.alpha = r.get("alpha", 1.0), .name = r.name()};
        r.finish();
        auto layer = std::make_unique<ELU<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"alpha", 0.7}}, {3, 4}}; }

  private:
    std::size_t cols() const { return this->input_shape_.empty() ? 1 : this->input_shape_.back(); }
    std::size_t rows(const tensor<T>& t) const {
        return t.size() / std::max<std::size_t>(cols(), 1);
    }

    double alpha_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
};

}  // namespace xkeras::layers
