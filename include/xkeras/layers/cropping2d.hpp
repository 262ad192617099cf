// xkeras/layers/cropping2d.hpp - Cropping2D: rows and columns cut from each image's edges,
// (batch, H, W, C) -> (batch, H - top - bottom, W - left - right, C). No weights.
#pragma once

#include <string>

#include "../backend/frame2d.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct Cropping2DOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "cropping2d", "cropping2d_1", ...
};

/// `Cropping2D(2)`, `Cropping2D({1, 2})`, `Cropping2D({{1, 0}, {2, 3}})`; Keras's default crops
/// nothing.
template <class T = float>
class Cropping2D : public Layer<T> {
  public:
    explicit Cropping2D(margins2 cropping = 0, Cropping2DOptions o = {})
        : Layer<T>("cropping2d", o.name, o.input_shape), crop_(cropping) {}

    std::string class_name() const override { return "Cropping2D"; }
    const margins2& cropping() const { return crop_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != 3 || crop_.top + crop_.bottom >= in[0] ||
            crop_.left + crop_.right >= in[1])
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(),
                "' (Cropping2D) expects inputs of shape (batch, height, width, channels) larger "
                "than its cropping ((",
                crop_.top, ", ", crop_.bottom, "), (", crop_.left, ", ", crop_.right, ")), got ",
                shape_str(in, true)));
        return {in[0] - crop_.top - crop_.bottom, in[1] - crop_.left - crop_.right, in[2]};
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        backend::extract(frame(), x.data(), y_.data(), x.shape()[0]);
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        backend::place(frame(), dy.data(), dx_.data(), dy.shape()[0]);
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["cropping"] = {{crop_.top, crop_.bottom}, {crop_.left, crop_.right}};
        c["data_format"] = "channels_last";
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Cropping2D");
        const auto p = r.get_margins("cropping", {0, 0, 0, 0});
        r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<Cropping2D<T>>(margins2({p[0], p[1]}, {p[2], p[3]}),
                                                     Cropping2DOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"cropping", {{1, 0}, {0, 2}}}}, {4, 5, 2}}; }

  private:
    backend::frame2d frame() const {  // the output's window in the input's frame
        const auto& in = this->input_shape_;
        return {this->output_shape_[0],
                this->output_shape_[1],
                in[0],
                in[1],
                crop_.top,
                crop_.left,
                in[2]};
    }

    margins2 crop_;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
