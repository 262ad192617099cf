// xkeras/layers/zero_padding2d.hpp - ZeroPadding2D: zeros around each image, (batch, H, W, C) ->
// (batch, top + H + bottom, left + W + right, C). No weights.
#pragma once

#include <string>

#include "../backend/frame2d.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct ZeroPadding2DOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "zero_padding2d", "zero_padding2d_1", ...
};

/// `ZeroPadding2D()` (1 on every side), `ZeroPadding2D(2)`, `ZeroPadding2D({1, 2})`,
/// `ZeroPadding2D({{1, 0}, {2, 3}})`.
template <class T = float>
class ZeroPadding2D : public Layer<T> {
  public:
    explicit ZeroPadding2D(margins2 padding = 1, ZeroPadding2DOptions o = {})
        : Layer<T>("zero_padding2d", o.name, o.input_shape), pad_(padding) {}

    std::string class_name() const override { return "ZeroPadding2D"; }
    const margins2& padding() const { return pad_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != 3)
            throw shape_error(xkeras::detail::cat("layer '", this->name(),
                                                  "' (ZeroPadding2D) expects inputs of shape "
                                                  "(batch, height, width, channels), got ",
                                                  shape_str(in, true)));
        return {in[0] + pad_.top + pad_.bottom, in[1] + pad_.left + pad_.right, in[2]};
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        backend::place(frame(), x.data(), y_.data(), x.shape()[0]);
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        backend::extract(frame(), dy.data(), dx_.data(), dy.shape()[0]);
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["padding"] = {{pad_.top, pad_.bottom}, {pad_.left, pad_.right}};
        c["data_format"] = "channels_last";
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "ZeroPadding2D");
        const auto p = r.get_margins("padding", {1, 1, 1, 1});
        r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<ZeroPadding2D<T>>(margins2({p[0], p[1]}, {p[2], p[3]}),
                                                        ZeroPadding2DOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"padding", {{1, 0}, {2, 1}}}}, {3, 2, 2}}; }

  private:
    backend::frame2d frame() const {
        const auto& in = this->input_shape_;
        return {in[0],
                in[1],
                in[0] + pad_.top + pad_.bottom,
                in[1] + pad_.left + pad_.right,
                pad_.top,
                pad_.left,
                in[2]};
    }

    margins2 pad_;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
