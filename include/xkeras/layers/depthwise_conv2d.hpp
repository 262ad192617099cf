// xkeras/layers/depthwise_conv2d.hpp - DepthwiseConv2D: each input channel convolved with its
// own depth_multiplier filters, and the depthwise stage it shares with SeparableConv2D.
//
// Input (batch, H, W, C), kernel (kh, kw, C, depth_multiplier), bias (C * depth_multiplier),
// output (batch, OH, OW, C * depth_multiplier), channel c * depth_multiplier + m from input
// channel c. Output sizes and padding are Conv2D's (backend/window2d.hpp); the arithmetic is
// backend/conv/depthwise.hpp's.
#pragma once

#include <concepts>
#include <optional>
#include <string>

#include "../backend/conv/depthwise.hpp"
#include "../initializers.hpp"
#include "activated_output.hpp"
#include "config.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {
namespace detail {

/// Where a depthwise stage's windows go: Keras's kernel_size, strides, padding, dilation_rate
/// and depth_multiplier.
struct depthwise_window {
    size2 kernel_size = 1, strides = 1;
    std::string padding = "valid";
    size2 dilation_rate = 1;
    int depth_multiplier = 1;

    /// The keys every depthwise layer's config has.
    void write(nlohmann::json& c) const {
        c["kernel_size"] = {kernel_size.h, kernel_size.w};
        c["strides"] = {strides.h, strides.w};
        c["padding"] = padding;
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {dilation_rate.h, dilation_rate.w};
        c["depth_multiplier"] = depth_multiplier;
    }
    static depthwise_window read(config::reader& r) {
        const auto k = r.get_pair("kernel_size", {});
        if (k.empty()) throw value_error(r.where("kernel_size") + " is missing");
        const auto s = r.get_pair("strides", {1, 1});
        const auto d = r.get_pair("dilation_rate", {1, 1});
        r.expect("data_format", "channels_last");
        return {size2(k[0], k[1]), size2(s[0], s[1]), r.get("padding", std::string("valid")),
                size2(d[0], d[1]), r.get("depth_multiplier", 1)};
    }
};

/// Base of DepthwiseConv2D and SeparableConv2D: the depthwise kernel, its passes and the output
/// activation; the derived layer adds what follows the depthwise stage.
template <class T>
class depthwise_layer : public Layer<T> {
  public:
    size2 kernel_size() const { return window_.kernel_size; }
    std::size_t depth_multiplier() const { return std::size_t(window_.depth_multiplier); }
    activations::kind output_activation() const override { return out_.kind(); }
    const tensor<T>* logits() const override { return out_.logits(this->output_logits_); }

  protected:
    /// `cls` is the Keras class name, for messages before the object is complete.
    depthwise_layer(const char* prefix, const char* cls, std::string name, shape_t input_shape,
                    depthwise_window window, const std::string& activation)
        : Layer<T>(prefix, std::move(name), std::move(input_shape)),
          window_(std::move(window)),
          out_(activation) {
        window_.padding = padding_mode(window_.padding, cls);
        positive_size(window_.depth_multiplier, cls, "depth_multiplier");
        const size2 s = window_.strides, d = window_.dilation_rate;
        if ((s.h > 1 || s.w > 1) && (d.h > 1 || d.w > 1))
            throw value_error(xkeras::detail::cat(
                cls, " '", this->name(), "': strides > 1 cannot be combined with dilation_rate > ",
                "1 (got strides (", s.h, ", ", s.w, ") and dilation_rate (", d.h, ", ", d.w, "))"));
    }

    /// The depthwise stage's geometry for an input shape; shape_error naming the layer for one
    /// that does not fit.
    backend::window2d geometry(const shape_t& in) const {
        const auto& w = window_;
        return backend::window2d::make(
            in, w.kernel_size.h, w.kernel_size.w, w.strides.h, w.strides.w, w.dilation_rate.h,
            w.dilation_rate.w, w.padding == "same",
            xkeras::detail::cat("layer '", this->name(), "' (", this->class_name(), ")"));
    }

    /// Makes the depthwise kernel, (kh, kw, C, depth_multiplier), named `what`.
    void build_depthwise(const shape_t& in, const char* what, const initializers::Initializer& init,
                         const std::optional<regularizers::Regularizer>& reg) {
        g_ = geometry(in);
        kernel_ = this->make_param(
            what, {window_.kernel_size.h, window_.kernel_size.w, g_.channels, depth_multiplier()},
            init, reg);
    }

    /// The depthwise stage of x into `y` (batch, OH, OW, C * depth_multiplier), plus `bias`
    /// when not null; remembers x for the backward pass in training.
    void depthwise(const tensor<T>& x, bool training, const T* bias, T* y) {
        backend::conv::depthwise::forward(stage(bias), ws_, x.data(), x.shape()[0], y);
        x_ = training ? &x : nullptr;
    }

    /// The depthwise stage's backward pass from dz, the gradient of its output: the kernel's
    /// gradient, the bias's into `db` (or none), and dx_ when `need_input_grad`.
    const tensor<T>& depthwise_backward(const T* dz, T* db, bool need_input_grad) {
        this->require_training_forward(x_ != nullptr);
        if (need_input_grad)
            this->ensure_shape(dx_, shape_of(*x_));
        else
            dx_ = tensor<T>();
        backend::conv::depthwise::backward(stage(nullptr), ws_, x_->data(), x_->shape()[0], dz,
                                           kernel_.grad.data(), db,
                                           need_input_grad ? dx_.data() : nullptr);
        return dx_;
    }

    /// The activation after the last stage, with the logits a fused loss takes.
    void activate(tensor<T>& y) { out_.apply(y, y.shape().back(), this->output_logits_); }
    /// The gradient before the activation, from dy; the start of every backward pass, so it
    /// checks that a training forward pass ran.
    const T* activation_gradient(const tensor<T>& y, const tensor<T>& dy) {
        this->require_training_forward(x_ != nullptr);
        return out_.gradient(y, dy, y.shape().back(), this->output_logits_);
    }

    depthwise_window window_;
    Param<T> kernel_;

  private:
    backend::conv::depthwise::operands<T> stage(const T* bias) const {
        return {g_, depth_multiplier(), kernel_.value.data(), bias};
    }

    activated_output<T> out_;
    backend::window2d g_;
    backend::conv::depthwise::workspace<T> ws_;
    tensor<T> dx_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward pass
};

}  // namespace detail

/// Options of DepthwiseConv2D, in Keras's order; every default is Keras's.
struct DepthwiseConv2DOptions {
    size2 strides = 1;
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    int depth_multiplier = 1;       ///< Filters per input channel.
    size2 dilation_rate = 1;
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer depthwise_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> depthwise_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (H, W, C), for a first layer.
    std::string name{};     ///< Defaults to "depthwise_conv2d", "depthwise_conv2d_1", ...
};

/// `DepthwiseConv2D(3)`, `DepthwiseConv2D({3, 3}, {.depth_multiplier = 2, .padding = "same"})`.
template <class T = float>
class DepthwiseConv2D : public detail::depthwise_layer<T> {
  public:
    explicit DepthwiseConv2D(size2 kernel_size, DepthwiseConv2DOptions options = {})
        : detail::depthwise_layer<T>("depthwise_conv2d", "DepthwiseConv2D", options.name,
                                     options.input_shape,
                                     {kernel_size, options.strides, options.padding,
                                      options.dilation_rate, options.depth_multiplier},
                                     options.activation),
          opt_(std::move(options)) {}
    template <class S>
    requires std::convertible_to<const S&, std::string> DepthwiseConv2D(
        size2 kernel_size, const S& activation, DepthwiseConv2DOptions options = {})
        : DepthwiseConv2D(kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "DepthwiseConv2D"; }
    const DepthwiseConv2DOptions& options() const { return opt_; }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!opt_.use_bias) return {&this->kernel_};
        return {&this->kernel_, &bias_};
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = this->geometry(in);
        return {g.out_h, g.out_w, g.channels * this->depth_multiplier()};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        this->depthwise(x, training, opt_.use_bias ? bias_.value.data() : nullptr, y_.data());
        this->activate(y_);
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        const T* dz = this->activation_gradient(y_, dy);
        return this->depthwise_backward(dz, opt_.use_bias ? bias_.grad.data() : nullptr,
                                        need_input_grad);
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        this->window_.write(c);
        c["activation"] = activations::name(this->output_activation());
        c["use_bias"] = opt_.use_bias;
        c["depthwise_initializer"] = config::to_json(opt_.depthwise_initializer);
        c["bias_initializer"] = config::to_json(opt_.bias_initializer);
        c["depthwise_regularizer"] = config::to_json(opt_.depthwise_regularizer);
        c["bias_regularizer"] = config::to_json(opt_.bias_regularizer);
        for (const char* k : {"activity_regularizer", "depthwise_constraint", "bias_constraint"})
            c[k] = nullptr;
        return c;
    }

    static layer_example example() {
        return {{{"kernel_size", {3, 3}},
                 {"depth_multiplier", 2},
                 {"padding", "same"},
                 {"activation", "tanh"}},
                {6, 5, 3}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "DepthwiseConv2D");
        const auto w = detail::depthwise_window::read(r);
        DepthwiseConv2DOptions o;
        o.name = r.name();
        o.strides = w.strides;
        o.padding = w.padding;
        o.depth_multiplier = w.depth_multiplier;
        o.dilation_rate = w.dilation_rate;
        o.activation = r.activation();
        o.use_bias = r.get("use_bias", true);
        o.depthwise_initializer =
            r.initializer("depthwise_initializer", initializers::GlorotUniform());
        o.bias_initializer = r.initializer("bias_initializer", initializers::Zeros());
        o.depthwise_regularizer = r.regularizer("depthwise_regularizer");
        o.bias_regularizer = r.regularizer("bias_regularizer");
        for (const char* k : {"activity_regularizer", "depthwise_constraint", "bias_constraint"})
            r.expect(k, nullptr);
        // tf.keras 2 wrote Conv2D's keys too (DepthwiseConv2D was a Conv2D there)
        r.expect("groups", 1);
        r.finish();
        auto layer = std::make_unique<DepthwiseConv2D<T>>(w.kernel_size, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        this->build_depthwise(in, "kernel", opt_.depthwise_initializer, opt_.depthwise_regularizer);
        if (opt_.use_bias)
            bias_ = this->make_param("bias", {in.back() * this->depth_multiplier()},
                                     opt_.bias_initializer, opt_.bias_regularizer);
    }

  private:
    static DepthwiseConv2DOptions with_activation(DepthwiseConv2DOptions o,
                                                  std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    DepthwiseConv2DOptions opt_;
    Param<T> bias_;
    tensor<T> y_;
};

}  // namespace xkeras::layers
