// xkeras/layers/conv2d.hpp - Conv2D: 2-D convolution (cross-correlation) over NHWC inputs.
//
// Input (batch, H, W, C), kernel (kh, kw, C, filters), bias (filters), output
// (batch, OH, OW, filters); params kh * kw * C * filters + filters. Output sizes and the "same"
// padding split are Keras's (backend/window2d.hpp). The arithmetic runs in backend/conv/: each
// pass by the route that backend::conv::select_route picks for the geometry (im2col + GEMM,
// direct kernels, small patches, Winograd at inference), or the one force_route sets.
#pragma once

#include <array>
#include <concepts>
#include <optional>
#include <string>

#include "../backend/conv/backward.hpp"
#include "../backend/conv/forward.hpp"
#include "../backend/conv/route.hpp"
#include "../initializers.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

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
class Conv2D : public Layer<T> {
  public:
    using pass = backend::conv::pass;
    using route = backend::conv::route;

    Conv2D(int filters, size2 kernel_size, Conv2DOptions options = {})
        : Layer<T>("conv2d", options.name, options.input_shape),
          filters_(positive(filters)),
          kernel_size_(kernel_size),
          same_(detail::padding_mode(options.padding, "Conv2D") == "same"),
          activation_(activations::get(options.activation)),
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
    std::size_t filters() const { return filters_; }
    size2 kernel_size() const { return kernel_size_; }
    const Conv2DOptions& options() const { return opt_; }
    activations::kind output_activation() const override { return activation_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = geometry(in);
        return {g.out_h, g.out_w, filters_};
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!opt_.use_bias) return {&kernel_};
        return {&kernel_, &bias_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, {x.shape()[0], g_.out_h, g_.out_w, filters_});
        if (this->output_logits_) this->ensure_shape(logits_, shape_of(y_));
        backend::conv::forward(route_of(training ? pass::training : pass::inference), conv(), ws_,
                               x.data(), x.shape()[0], relu_in_kernels(), y_.data(), nullptr,
                               [&](T* y, std::size_t rows) { finish(y, rows); });
        x_ = training ? &x : nullptr;
        return y_;
    }

    /// At inference, with a pooling after it whose windows fall in bands of rows: each thread
    /// pools the part of the output it computed, while it is in its cache (backend/conv/
    /// forward.hpp), when the activation is applied in the kernels (ReLU or none).
    const tensor<T>* forward_pooled(const tensor<T>& x, const backend::pool2d& pool) override {
        const route r = route_of(pass::inference);
        const bool activated = relu_in_kernels() ||
                               (activation_ == activations::kind::linear && !this->output_logits_);
        if (!activated || !backend::conv::can_fuse_pool(r, conv(), pool)) return nullptr;
        if (pool.g.in_h != g_.out_h || pool.g.in_w != g_.out_w || pool.g.channels != filters_)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (Conv2D): the pooling after it takes inputs of shape ",
                shape_str({pool.g.in_h, pool.g.in_w, pool.g.channels}, true), ", not its output ",
                shape_str(this->output_shape_, true)));
        this->check_input(x);
        const std::size_t n = x.shape()[0];
        this->ensure_shape(y_, {n, g_.out_h, g_.out_w, filters_});
        this->ensure_shape(pooled_, {n, pool.g.out_h, pool.g.out_w, filters_});
        const backend::conv::fused_pool<T> target{pool, pooled_.data()};
        backend::conv::forward(r, conv(), ws_, x.data(), n, relu_in_kernels(), y_.data(), &target,
                               [](T*, std::size_t) {});
        x_ = nullptr;
        return &pooled_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        using backend::conv::activation_grad;
        const bool through = activation_ != activations::kind::linear && !this->output_logits_;
        const auto act = !through                                 ? activation_grad::none
                         : activation_ == activations::kind::relu ? activation_grad::relu
                                                                  : activation_grad::other;
        if (need_input_grad) this->ensure_shape(dx_, shape_of(*x_));
        const bool dz_needed = need_input_grad || act == activation_grad::other;
        const backend::conv::backward_routes r{route_of(pass::weight_gradient, dz_needed),
                                               route_of(pass::input_gradient)};
        backend::conv::backward(
            r, conv(), ws_, x_->data(), x_->shape()[0], dy.data(), y_.data(), act,
            [&](const T* y, const T* d, T* dz, std::size_t rows) {
                activations::backward(activation_, y, d, dz, rows, filters_);
            },
            kernel_.grad.data(), opt_.use_bias ? bias_.grad.data() : nullptr,
            need_input_grad ? dx_.data() : nullptr);
        if (!need_input_grad) dx_ = tensor<T>();
        return dx_;
    }

    /// The route pass p takes: the forced one, else select_route's (`dz_needed` as there).
    route route_of(pass p, bool dz_needed = true) const {
        if (const auto& r = forced_[std::size_t(p)]) return *r;
        return backend::conv::select_route<T>(p, g_, filters_, dz_needed);
    }
    /// Makes pass p take route r (for tests and benchmarks; nullopt selects again). Throws
    /// value_error when r cannot run this convolution; needs a built layer.
    void force_route(pass p, std::optional<route> r) {
        if (!this->built_)
            throw state_error("Conv2D '" + this->name() + "': force_route needs a built layer");
        if (r) backend::conv::check_route<T>(*r, p, g_, filters_, "Conv2D '" + this->name() + "'");
        forced_[std::size_t(p)] = r;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["filters"] = filters_;
        c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
        c["strides"] = {opt_.strides.h, opt_.strides.w};
        c["padding"] = same_ ? "same" : "valid";
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {opt_.dilation_rate.h, opt_.dilation_rate.w};
        c["groups"] = 1;
        config::write_kernel_options(c, opt_, activations::name(activation_));
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
        if (k.empty())
            throw value_error("Conv2D '" + r.name() + "': config key 'kernel_size' is missing");
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

    const tensor<T>* logits() const override { return this->output_logits_ ? &logits_ : nullptr; }

  protected:
    void build_weights(const shape_t& in) override {
        g_ = geometry(in);
        forced_ = {};
        const shape_t kshape{kernel_size_.h, kernel_size_.w, in[2], filters_};
        kernel_ =
            this->make_param("kernel", kshape, opt_.kernel_initializer, opt_.kernel_regularizer);
        if (opt_.use_bias)
            bias_ =
                this->make_param("bias", {filters_}, opt_.bias_initializer, opt_.bias_regularizer);
        // after the weights: their size passes the weight limit (weight_limit) first, and the
        // workspace's patch offsets take one value per kernel value of a filter
        ws_.set_geometry(g_);
    }

  private:
    static std::size_t positive(int filters) {
        if (filters <= 0)
            throw value_error(xkeras::detail::cat(
                "Conv2D: expected a positive integer for `filters`, got ", filters));
        return std::size_t(filters);
    }
    static Conv2DOptions with_activation(Conv2DOptions o, std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    backend::window2d geometry(const shape_t& in) const {
        return backend::window2d::make(in, kernel_size_.h, kernel_size_.w, opt_.strides.h,
                                       opt_.strides.w, opt_.dilation_rate.h, opt_.dilation_rate.w,
                                       same_, "layer '" + this->name() + "' (Conv2D)");
    }

    backend::conv::conv2d<T> conv() const {
        return {g_, filters_, kernel_.value.data(), kernel_.version,
                opt_.use_bias ? bias_.value.data() : nullptr};
    }

    /// ReLU folded into the loops that write the output (no logits wanted: not a fused loss).
    bool relu_in_kernels() const {
        return activation_ == activations::kind::relu && !this->output_logits_;
    }

    /// Keeps the logits when asked, then applies the activation, on `rows` output rows.
    void finish(T* y, std::size_t rows) {
        if (this->output_logits_) std::copy_n(y, rows * filters_, logits_.data() + (y - y_.data()));
        activations::apply(activation_, y, rows, filters_);
    }

    std::size_t filters_;
    size2 kernel_size_;
    bool same_;
    activations::kind activation_;
    Conv2DOptions opt_;
    backend::window2d g_;
    Param<T> kernel_, bias_;
    tensor<T> y_, dx_, logits_, pooled_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward pass
    backend::conv::workspace<T> ws_;
    std::array<std::optional<route>, 4> forced_{};  ///< force_route's, by pass
};

}  // namespace xkeras::layers
