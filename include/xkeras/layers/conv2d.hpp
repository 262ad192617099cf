// xkeras/layers/conv2d.hpp - Conv2D: 2-D convolution (cross-correlation) over NHWC inputs.
//
// Input (batch, H, W, C), kernel (kh, kw, C, filters), bias (filters), output
// (batch, OH, OW, filters); params kh * kw * C * filters + filters. Output sizes and the "same"
// padding split are Keras's (backend/window2d.hpp). The passes are convolution.hpp's, the
// arithmetic backend/conv/'s (im2col + GEMM, direct kernels, small patches, Winograd at
// inference).
#pragma once

#include <concepts>
#include <optional>
#include <string>

#include "convolution.hpp"

namespace xkeras::layers {

/// Options of Conv2D, in Keras's order; every default is Keras's.
struct Conv2DOptions {
    size2 strides = 1;
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    size2 dilation_rate = 1;
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (H, W, C), for a first layer.
    std::string name{};     ///< Defaults to "conv2d", "conv2d_1", ...
};

/// `Conv2D(32, {3, 3}, {.padding = "same", .activation = "relu"})`, `Conv2D(64, 3, "relu")`.
template <class T = float>
class Conv2D : public detail::convolution<T> {
  public:
    Conv2D(int filters, size2 kernel_size, Conv2DOptions options = {})
        : detail::convolution<T>("conv2d", "Conv2D", options.name, options.input_shape, filters,
                                 options.activation, detail::conv_weights::of(options)),
          kernel_size_(kernel_size),
          same_(detail::padding_mode(options.padding, "Conv2D") == "same"),
          opt_(std::move(options)) {
        const size2 s = opt_.strides, d = opt_.dilation_rate;
        if ((s.h > 1 || s.w > 1) && (d.h > 1 || d.w > 1))
            throw value_error(xkeras::detail::cat(
                "Conv2D '", this->name(), "': strides > 1 cannot be combined with dilation_rate > ",
                "1 (got strides (", s.h, ", ", s.w, ") and dilation_rate (", d.h, ", ", d.w, "))"));
    }
    template <class S>
    requires std::convertible_to<const S&, std::string> Conv2D(int filters, size2 kernel_size,
                                                               const S& activation,
                                                               Conv2DOptions options = {})
        : Conv2D(filters, kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "Conv2D"; }
    size2 kernel_size() const { return kernel_size_; }
    const Conv2DOptions& options() const { return opt_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = geometry(in);
        return {g.out_h, g.out_w, this->filters()};
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["filters"] = this->filters();
        c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
        c["strides"] = {opt_.strides.h, opt_.strides.w};
        c["padding"] = same_ ? "same" : "valid";
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {opt_.dilation_rate.h, opt_.dilation_rate.w};
        c["groups"] = 1;
        config::write_kernel_options(c, opt_, activations::name(this->output_activation()));
        return c;
    }

    static layer_example example() {
        return {
            {{"filters", 8}, {"kernel_size", {3, 3}}, {"padding", "same"}, {"activation", "tanh"}},
            {6, 5, 3}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Conv2D");
        Conv2DOptions o;
        config::read_kernel_options(r, o);
        const int filters = r.get_int("filters");
        auto k = r.get_pair("kernel_size", {});
        if (k.empty()) throw value_error(r.where("kernel_size") + " is missing");
        auto s = r.get_pair("strides", {1, 1});
        auto d = r.get_pair("dilation_rate", {1, 1});
        o.strides = size2(s[0], s[1]);
        o.dilation_rate = size2(d[0], d[1]);
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.expect("groups", 1);
        r.finish();
        auto layer = std::make_unique<Conv2D<T>>(filters, size2(k[0], k[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    backend::window2d geometry(const shape_t& in) const override {
        return backend::window2d::make(in, kernel_size_.h, kernel_size_.w, opt_.strides.h,
                                       opt_.strides.w, opt_.dilation_rate.h, opt_.dilation_rate.w,
                                       same_, "layer '" + this->name() + "' (Conv2D)");
    }
    shape_t kernel_shape(std::size_t channels) const override {
        return {kernel_size_.h, kernel_size_.w, channels, this->filters()};
    }

  private:
    static Conv2DOptions with_activation(Conv2DOptions o, std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    size2 kernel_size_;
    bool same_;
    Conv2DOptions opt_;
};

}  // namespace xkeras::layers
