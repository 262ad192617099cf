// xkeras/layers/activation.hpp - Activation: applies an activation function element-wise
// (softmax over the last axis). No weights; output shape = input shape.
#pragma once

#include <algorithm>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct ActivationOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "activation", "activation_1", ...
};

/// `Activation("relu")`.
template <class T = float>
class Activation : public Layer<T> {
  public:
    explicit Activation(const std::string& activation, ActivationOptions options = {})
        : Layer<T>("activation", options.name, options.input_shape),
          activation_(activations::get(activation)) {}
    explicit Activation(const char* activation, ActivationOptions options = {})
        : Activation(std::string(activation), std::move(options)) {}

    std::string class_name() const override { return "Activation"; }
    bool supports_masking() const override { return true; }
    activations::kind activation() const { return activation_; }
    activations::kind output_activation() const override { return activation_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (activation_ == activations::kind::softmax && (in.empty() || in.back() == 0))
            throw shape_error(xkeras::detail::cat("layer '", this->name(),
                                                  "' (Activation softmax) needs a last axis, got ",
                                                  shape_str(in, true)));
        return in;
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        if (this->output_logits_) x_ = &x;
        activations::apply(activation_, x.data(), y_.data(), rows(x), cols());
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        if (this->output_logits_)
            std::copy_n(dy.data(), dy.size(), dx_.data());  // dy is already d(loss)/d(logits)
        else
            activations::backward(activation_, y_.data(), dy.data(), dx_.data(), rows(dy), cols());
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["activation"] = activations::name(activation_);
        return c;
    }

    static layer_example example() { return {{{"activation", "tanh"}}, {5}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Activation");
        const std::string act = r.activation();
        r.finish();
        auto layer = std::make_unique<Activation<T>>(act, ActivationOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    const tensor<T>* logits() const override { return this->output_logits_ ? x_ : nullptr; }

  private:
    std::size_t cols() const { return this->input_shape_.empty() ? 1 : this->input_shape_.back(); }
    std::size_t rows(const tensor<T>& t) const {
        return t.size() / std::max<std::size_t>(1, cols());
    }

    activations::kind activation_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
};

}  // namespace xkeras::layers
