// xkeras/layers/relu.hpp - ReLU: Keras's rectifier with a ceiling, a threshold and a slope below
// it, element-wise. No weights; output shape = input shape.
//
// As Keras 3 computes it (activations.relu): y = min(x, max_value) for x > threshold and
// negative_slope * (x - threshold) otherwise. max_value, negative_slope and threshold must be
// >= 0 (Keras's checks). The gradient reads the input, so forward keeps a pointer to it.
#pragma once

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct ReLUOptions {
    std::optional<double> max_value{};  ///< None: no ceiling.
    double negative_slope = 0.0;
    double threshold = 0.0;
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "re_lu", "re_lu_1", ...
};

/// `ReLU()`, `ReLU({.max_value = 6.0})`, `ReLU({.max_value = 10, .negative_slope = 0.5})`.
template <class T = float>
class ReLU : public Layer<T> {
  public:
    explicit ReLU(ReLUOptions o = {})
        : Layer<T>("re_lu", o.name, o.input_shape),
          max_value_(o.max_value),
          slope_(o.negative_slope),
          threshold_(o.threshold) {
        auto check = [](double v, const char* what) {
            if (!(v >= 0.0 && v <= std::numeric_limits<double>::max()))
                throw value_error(
                    xkeras::detail::cat("ReLU: expected ", what, " >= 0 and finite, got ", v));
        };
        if (max_value_) check(*max_value_, "max_value");
        check(slope_, "negative_slope");
        check(threshold_, "threshold");
    }

    std::string class_name() const override { return "ReLU"; }
    bool supports_masking() const override { return true; }
    const std::optional<double>& max_value() const { return max_value_; }
    double negative_slope() const { return slope_; }
    double threshold() const { return threshold_; }

    shape_t compute_output_shape(const shape_t& in) const override { return in; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        const T top = max_value_ ? T(*max_value_) : std::numeric_limits<T>::infinity();
        const T slope = T(slope_), th = T(threshold_);
        const T* in = x.data();
        T* out = y_.data();
        for (std::size_t i = 0; i < x.size(); ++i)
            out[i] = in[i] > th ? std::min(in[i], top) : slope * (in[i] - th);
        x_ = training ? &x : nullptr;  // backward reads it
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        const T top = max_value_ ? T(*max_value_) : std::numeric_limits<T>::infinity();
        const T slope = T(slope_), th = T(threshold_);
        const T* in = x_->data();
        const T* d = dy.data();
        T* out = dx_.data();
        for (std::size_t i = 0; i < dy.size(); ++i)
            out[i] = in[i] > th ? (in[i] < top ? d[i] : T(0)) : slope * d[i];
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["max_value"] = max_value_ ? nlohmann::json(*max_value_) : nlohmann::json(nullptr);
        c["negative_slope"] = slope_;
        c["threshold"] = threshold_;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "ReLU");
        ReLUOptions o{.negative_slope = r.get("negative_slope", 0.0),
                      .threshold = r.get("threshold", 0.0),
                      .name = r.name()};
        if (r.has("max_value")) o.max_value = r.get("max_value", 0.0);
        r.mark("max_value");
        r.finish();
        auto layer = std::make_unique<ReLU<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() {
        return {{{"max_value", 0.6}, {"negative_slope", 0.1}, {"threshold", 0.2}}, {3, 4}};
    }

  private:
    std::optional<double> max_value_;
    double slope_, threshold_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
};

}  // namespace xkeras::layers
