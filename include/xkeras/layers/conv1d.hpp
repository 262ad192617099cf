// xkeras/layers/conv1d.hpp - Conv1D: 1-D convolution (cross-correlation) over sequences.
//
// Input (batch, steps, C), kernel (k, C, filters), bias (filters), output
// (batch, out_steps, filters). Padding "valid", "same" (Keras's split, as Conv2D) or "causal":
// d * (k - 1) zeros before the first step, so that output t sees inputs t and earlier only
// (WaveNet's convolution). The passes are Conv2D's on the view (steps, 1, C) of the input
// (convolution.hpp).
#pragma once

#include <concepts>
#include <optional>
#include <string>

#include "convolution.hpp"

namespace xkeras::layers {

/// Options of Conv1D, in Keras's order; every default is Keras's.
struct Conv1DOptions {
    int strides = 1;
    std::string padding = "valid";  ///< "valid", "same" or "causal" (case-insensitive).
    int dilation_rate = 1;
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, channels), for a first layer.
    std::string name{};     ///< Defaults to "conv1d", "conv1d_1", ...
};

/// `Conv1D(64, 3, "relu")`, `Conv1D(32, 5, {.padding = "causal", .dilation_rate = 2})`.
template <class T = float>
class Conv1D : public detail::convolution<T> {
  public:
    Conv1D(int filters, int kernel_size, Conv1DOptions options = {})
        : detail::convolution<T>("conv1d", "Conv1D", options.name, options.input_shape, filters,
                                 options.activation, detail::conv_weights::of(options)),
          kernel_size_(detail::positive_size(kernel_size, "Conv1D", "kernel_size")),
          strides_(detail::positive_size(options.strides, "Conv1D", "strides")),
          dilation_(detail::positive_size(options.dilation_rate, "Conv1D", "dilation_rate")),
          padding_(detail::padding_mode(options.padding, "Conv1D", true)),
          opt_(std::move(options)) {
        if (strides_ > 1 && dilation_ > 1)
            throw value_error(xkeras::detail::cat(
                "Conv1D '", this->name(), "': strides > 1 cannot be combined with dilation_rate > ",
                "1 (got strides ", strides_, " and dilation_rate ", dilation_, ")"));
    }
    template <class S>
    requires std::convertible_to<const S&, std::string> Conv1D(int filters, int kernel_size,
                                                               const S& activation,
                                                               Conv1DOptions options = {})
        : Conv1D(filters, kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "Conv1D"; }
    std::size_t kernel_size() const { return kernel_size_; }
    const Conv1DOptions& options() const { return opt_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        return {geometry(in).out_h, this->filters()};
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["filters"] = this->filters();
        c["kernel_size"] = {kernel_size_};
        c["strides"] = {strides_};
        c["padding"] = padding_;
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {dilation_};
        c["groups"] = 1;
        config::write_kernel_options(c, opt_, activations::name(this->output_activation()));
        return c;
    }

    static layer_example example() {
        return {{{"filters", 4},
                 {"kernel_size", {3}},
                 {"padding", "causal"},
                 {"dilation_rate", {2}},
                 {"activation", "tanh"}},
                {9, 3}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Conv1D");
        Conv1DOptions o;
        config::read_kernel_options(r, o);
        const int filters = r.get_int("filters");
        const auto k = r.get_size1("kernel_size", std::nullopt);
        if (!k) throw value_error(r.where("kernel_size") + " is missing");
        o.strides = *r.get_size1("strides", 1);
        o.dilation_rate = *r.get_size1("dilation_rate", 1);
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.expect("groups", 1);
        r.finish();
        auto layer = std::make_unique<Conv1D<T>>(filters, *k, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    backend::window2d geometry(const shape_t& in) const override {
        const std::string who = "layer '" + this->name() + "' (Conv1D)";
        if (in.size() != 2)
            throw shape_error(
                xkeras::detail::cat(who, " expects inputs of shape (batch, steps, channels), got ",
                                    shape_str(in, true)));
        const std::size_t span = dilation_ * (kernel_size_ - 1) + 1;
        if (padding_ == "valid" && in[0] < span)
            throw shape_error(xkeras::detail::cat(who, ": a window of ", kernel_size_,
                                                  dilation_ > 1 ? " (dilated)" : "", " spanning ",
                                                  span, " steps with 'valid' padding does not fit ",
                                                  in[0], " steps; the output would be empty"));
        if (padding_ != "causal")
            return backend::window2d::make({in[0], 1, in[1]}, kernel_size_, 1, strides_, 1,
                                           dilation_, 1, padding_ == "same", who);
        // "valid" over the input with span - 1 zeros before it, which the kernels read as a
        // border above the image (pad_top)
        auto g = backend::window2d::make({in[0] + span - 1, 1, in[1]}, kernel_size_, 1, strides_, 1,
                                         dilation_, 1, false, who);
        g.in_h = in[0];
        g.pad_top = span - 1;
        return g;
    }
    shape_t kernel_shape(std::size_t channels) const override {
        return {kernel_size_, channels, this->filters()};
    }

  private:
    static Conv1DOptions with_activation(Conv1DOptions o, std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    std::size_t kernel_size_, strides_, dilation_;
    std::string padding_;
    Conv1DOptions opt_;
};

}  // namespace xkeras::layers
