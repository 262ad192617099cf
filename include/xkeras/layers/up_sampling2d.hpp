// xkeras/layers/up_sampling2d.hpp - UpSampling2D: each pixel repeated size.h times down and
// size.w times across, (batch, H, W, C) -> (batch, H * size.h, W * size.w, C). No weights.
//
// Keras's default interpolation, "nearest", is this repetition; the others ("bilinear", ...)
// are refused by name.
#pragma once

#include <algorithm>
#include <string>

#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct UpSampling2DOptions {
    std::string interpolation = "nearest";  ///< The only one implemented.
    shape_t input_shape{};                  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};                     ///< Defaults to "up_sampling2d", ...
};

/// `UpSampling2D()` (2 x 2), `UpSampling2D(3)`, `UpSampling2D({2, 1})`.
template <class T = float>
class UpSampling2D : public Layer<T> {
  public:
    explicit UpSampling2D(size2 size = 2, UpSampling2DOptions o = {})
        : Layer<T>("up_sampling2d", o.name, o.input_shape), size_(size) {
        if (o.interpolation != "nearest")
            throw value_error(xkeras::detail::cat("UpSampling2D: interpolation '",
                                                  xkeras::detail::excerpt(o.interpolation, 40),
                                                  "' is not implemented; xkeras has 'nearest'"));
    }

    std::string class_name() const override { return "UpSampling2D"; }
    const size2& size() const { return size_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != 3)
            throw shape_error(xkeras::detail::cat("layer '", this->name(),
                                                  "' (UpSampling2D) expects inputs of shape "
                                                  "(batch, height, width, channels), got ",
                                                  shape_str(in, true)));
        return {in[0] * size_.h, in[1] * size_.w, in[2]};
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        const std::size_t H = this->input_shape_[0], W = this->input_shape_[1],
                          C = this->input_shape_[2], Wo = W * size_.w;
        const T* in = x.data();
        T* out = y_.data();
        for (std::size_t r = 0; r < x.shape()[0] * H; ++r) {  // an input row: size.h output rows
            T* first = out + r * size_.h * Wo * C;
            for (std::size_t j = 0; j < W; ++j)
                for (std::size_t b = 0; b < size_.w; ++b)
                    std::copy_n(in + (r * W + j) * C, C, first + (j * size_.w + b) * C);
            for (std::size_t a = 1; a < size_.h; ++a)
                std::copy_n(first, Wo * C, first + a * Wo * C);
        }
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        const std::size_t H = this->input_shape_[0], W = this->input_shape_[1],
                          C = this->input_shape_[2], Wo = W * size_.w;
        const T* d = dy.data();
        T* g = dx_.data();
        std::fill(g, g + dx_.size(), T(0));
        for (std::size_t r = 0; r < dy.shape()[0] * H; ++r)  // the sum over each pixel's copies
            for (std::size_t a = 0; a < size_.h; ++a) {
                const T* row = d + (r * size_.h + a) * Wo * C;
                for (std::size_t j = 0; j < W; ++j)
                    for (std::size_t b = 0; b < size_.w; ++b)
                        for (std::size_t c = 0; c < C; ++c)
                            g[(r * W + j) * C + c] += row[(j * size_.w + b) * C + c];
            }
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["size"] = {size_.h, size_.w};
        c["data_format"] = "channels_last";
        c["interpolation"] = "nearest";
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "UpSampling2D");
        const auto s = r.get_pair("size", {2, 2});
        r.expect("data_format", "channels_last");
        UpSampling2DOptions o{.interpolation = r.get("interpolation", std::string("nearest")),
                              .name = r.name()};
        r.finish();
        auto layer = std::make_unique<UpSampling2D<T>>(size2(s[0], s[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"size", {2, 3}}}, {2, 3, 2}}; }

  private:
    size2 size_;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
