// xkeras/layers/global_average_pooling2d.hpp - GlobalAveragePooling2D: (batch, H, W, C) ->
// (batch, C), the mean over H and W.
#pragma once

#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct GlobalAveragePooling2DOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "global_average_pooling2d", ...
};

template <class T = float>
class GlobalAveragePooling2D : public Layer<T> {
  public:
    explicit GlobalAveragePooling2D(GlobalAveragePooling2DOptions o = {})
        : Layer<T>("global_average_pooling2d", o.name, o.input_shape) {}

    std::string class_name() const override { return "GlobalAveragePooling2D"; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["data_format"] = "channels_last";
        c["keepdims"] = false;
        return c;
    }

    static layer_example example() { return {nlohmann::json::object(), {3, 4, 2}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "GlobalAveragePooling2D");
        r.expect("data_format", "channels_last");
        r.expect("keepdims", false);
        r.finish();
        auto layer = std::make_unique<GlobalAveragePooling2D<T>>(
            GlobalAveragePooling2DOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != 3 || in[0] * in[1] * in[2] == 0)
            throw shape_error(xkeras::detail::cat("layer '", this->name(),
                                                  "' (GlobalAveragePooling2D) expects inputs of "
                                                  "shape (batch, height, width, channels), got ",
                                                  shape_str(in, true)));
        return {in[2]};
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], C = this->input_shape_[2],
                          hw = this->input_shape_[0] * this->input_shape_[1];
        this->ensure_shape(y_, {n, C});
        const T inv = T(1) / T(hw);
        for (std::size_t i = 0; i < n; ++i) {
            T* o = y_.data() + i * C;
            std::fill(o, o + C, T(0));
            const T* s = x.data() + i * hw * C;
            for (std::size_t p = 0; p < hw; ++p)
                for (std::size_t c = 0; c < C; ++c) o[c] += s[p * C + c];
            for (std::size_t c = 0; c < C; ++c) o[c] *= inv;
        }
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        const std::size_t n = dy.shape()[0], C = this->input_shape_[2],
                          hw = this->input_shape_[0] * this->input_shape_[1];
        this->ensure_shape(dx_, this->batched(n, this->input_shape_));
        const T inv = T(1) / T(hw);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t p = 0; p < hw; ++p)
                for (std::size_t c = 0; c < C; ++c)
                    dx_.data()[(i * hw + p) * C + c] = dy.data()[i * C + c] * inv;
        return dx_;
    }

  private:
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
