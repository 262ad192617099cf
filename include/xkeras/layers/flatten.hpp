// xkeras/layers/flatten.hpp - Flatten: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...), row-major
// (for channels-last images the order is H, W, C with C fastest, as Keras).
#pragma once

#include <algorithm>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct FlattenOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "flatten", "flatten_1", ...
};

/// `Flatten()`.
template <class T = float>
class Flatten : public Layer<T> {
  public:
    explicit Flatten(FlattenOptions options = {})
        : Layer<T>("flatten", options.name, options.input_shape) {}

    std::string class_name() const override { return "Flatten"; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["data_format"] = "channels_last";
        return c;
    }

    static layer_example example() { return {nlohmann::json::object(), {2, 3, 2}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Flatten");
        r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<Flatten<T>>(FlattenOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    shape_t compute_output_shape(const shape_t& in) const override { return {shape_size(in)}; }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, {x.shape()[0], shape_size(this->input_shape_)});
        std::copy_n(x.data(), x.size(), y_.data());
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        std::copy_n(dy.data(), dy.size(), dx_.data());
        return dx_;
    }

  private:
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
