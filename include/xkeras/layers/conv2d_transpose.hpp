// xkeras/layers/conv2d_transpose.hpp - Conv2DTranspose: the transpose of a 2-D convolution
// (often called a deconvolution), which upsamples by its strides.
//
// Input (batch, H, W, C), kernel (kh, kw, filters, C), bias (filters), output (batch, OH, OW,
// filters). Keras's output size per axis, with the dilated kernel span k' = d (k - 1) + 1:
// "valid" (H - 1) s + k' + output_padding, output_padding defaulting to max(k', s) - k'; "same"
// H s, or (H - 1) s + k' % 2 + output_padding when output_padding is given. The layer is the
// transpose of the convolution from its output to its input with the same kernel, the padding
// of that convolution's "same" (TensorFlow's conv2d_transpose): its forward pass is that
// convolution's input gradient (backend/conv/transposed.hpp), its backward pass that
// convolution's forward and weight-gradient passes (backend/conv/), by their routes.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <utility>

#include "../backend/conv/backward.hpp"
#include "../backend/conv/forward.hpp"
#include "../backend/conv/route.hpp"
#include "../backend/conv/transposed.hpp"
#include "../backend/rows.hpp"
#include "activated_output.hpp"
#include "convolution.hpp"

namespace xkeras::layers {

/// Options of Conv2DTranspose, in Keras's order; every default is Keras's.
struct Conv2DTransposeOptions {
    size2 strides = 1;
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    /// Extra rows and columns of output (Keras's output_padding), each below its stride; none
    /// by default (Keras's None).
    std::optional<std::pair<int, int>> output_padding{};
    size2 dilation_rate = 1;
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (H, W, C), for a first layer.
    std::string name{};     ///< Defaults to "conv2d_transpose", "conv2d_transpose_1", ...
};

/// `Conv2DTranspose(32, 2, {.strides = 2})`, `Conv2DTranspose(64, 3, "relu", {.padding = "same"})`.
template <class T = float>
class Conv2DTranspose : public Layer<T> {
  public:
    Conv2DTranspose(int filters, size2 kernel_size, Conv2DTransposeOptions options = {})
        : Layer<T>("conv2d_transpose", options.name, options.input_shape),
          filters_(detail::positive_size(filters, "Conv2DTranspose", "filters")),
          kernel_size_(kernel_size),
          same_(detail::padding_mode(options.padding, "Conv2DTranspose") == "same"),
          out_(options.activation),
          weights_(detail::conv_weights::of(options)),
          opt_(std::move(options)) {
        const size2 s = opt_.strides, d = opt_.dilation_rate;
        if ((s.h > 1 || s.w > 1) && (d.h > 1 || d.w > 1))
            throw value_error(xkeras::detail::cat(
                who(), ": strides > 1 cannot be combined with dilation_rate > 1 (got strides (",
                s.h, ", ", s.w, ") and dilation_rate (", d.h, ", ", d.w, "))"));
        if (const auto& p = opt_.output_padding;
            p && (p->first < 0 || p->second < 0 || std::size_t(p->first) >= s.h ||
                  std::size_t(p->second) >= s.w))
            throw value_error(xkeras::detail::cat(
                who(), ": output_padding must be at least 0 and below the strides (", s.h, ", ",
                s.w, "), got (", p->first, ", ", p->second, ")"));
    }
    template <class S>
    requires std::convertible_to<const S&, std::string> Conv2DTranspose(
        int filters, size2 kernel_size, const S& activation, Conv2DTransposeOptions options = {})
        : Conv2DTranspose(filters, kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "Conv2DTranspose"; }
    std::size_t filters() const { return filters_; }
    size2 kernel_size() const { return kernel_size_; }
    const Conv2DTransposeOptions& options() const { return opt_; }
    activations::kind output_activation() const override { return out_.kind(); }
    const tensor<T>* logits() const override { return out_.logits(this->output_logits_); }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!weights_.use_bias) return {&kernel_};
        return {&kernel_, &bias_};
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = geometry(in);
        return {g.in_h, g.in_w, filters_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0];
        this->ensure_shape(y_, this->batched(n, this->output_shape_));
        backend::conv::transposed(conv(), ws_, x.data(), n, y_.data());
        if (weights_.use_bias) {
            const T* b = bias_.value.data();
            for (T *y = y_.data(), *end = y + y_.size(); y < end; y += filters_)
                for (std::size_t f = 0; f < filters_; ++f) y[f] += b[f];
        }
        out_.apply(y_, filters_, this->output_logits_);
        x_ = training ? &x : nullptr;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        using namespace backend::conv;
        const std::size_t n = x_->shape()[0], channels = this->input_shape_.back();
        const T* dz = out_.gradient(y_, dy, filters_, this->output_logits_);
        if (weights_.use_bias)
            backend::column_sums(dz, y_.size() / filters_, filters_, bias_.grad.data());
        // the convolution this layer transposes reads dz as its input and x as its output
        // gradient: its weight gradient is the kernel's
        const backward_routes r{select_route<T>(pass::weight_gradient, g_, channels, false)};
        backend::conv::backward(
            r, conv(), ws_, dz, n, x_->data(), x_->data(), activation_grad::none,
            [](const T*, const T*, T*, std::size_t) {}, kernel_.grad.data(),
            static_cast<T*>(nullptr), static_cast<T*>(nullptr));
        if (!need_input_grad) {
            dx_ = tensor<T>();
            return dx_;
        }
        this->ensure_shape(dx_, shape_of(*x_));
        backend::conv::forward(select_route<T>(pass::training, g_, channels), conv(), ws_, dz, n,
                               false, dx_.data(), nullptr, [](T*, std::size_t) {});
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["filters"] = filters_;
        c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
        c["strides"] = {opt_.strides.h, opt_.strides.w};
        c["padding"] = same_ ? "same" : "valid";
        c["output_padding"] = nullptr;
        if (const auto& p = opt_.output_padding) c["output_padding"] = {p->first, p->second};
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {opt_.dilation_rate.h, opt_.dilation_rate.w};
        config::write_kernel_options(c, opt_, activations::name(out_.kind()));
        return c;
    }

    static layer_example example() {
        return {{{"filters", 4},
                 {"kernel_size", {3, 3}},
                 {"strides", {2, 2}},
                 {"padding", "same"},
                 {"activation", "tanh"}},
                {4, 3, 3}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Conv2DTranspose");
        Conv2DTransposeOptions o;
        config::read_kernel_options(r, o);
        const int filters = r.get_int("filters");
        const auto k = r.get_pair("kernel_size", {});
        if (k.empty()) throw value_error(r.where("kernel_size") + " is missing");
        const auto s = r.get_pair("strides", {1, 1});
        const auto d = r.get_pair("dilation_rate", {1, 1});
        const auto p = r.get_pair("output_padding", {});
        o.strides = size2(s[0], s[1]);
        o.dilation_rate = size2(d[0], d[1]);
        if (!p.empty()) o.output_padding = std::pair{p[0], p[1]};
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.expect("groups", 1);  // tf.keras 2 wrote Conv2D's keys too
        r.finish();
        auto layer = std::make_unique<Conv2DTranspose<T>>(filters, size2(k[0], k[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        g_ = geometry(in);
        kernel_ = this->make_param("kernel", {kernel_size_.h, kernel_size_.w, filters_, in.back()},
                                   weights_.kernel_initializer, weights_.kernel_regularizer);
        if (weights_.use_bias)
            bias_ = this->make_param("bias", {filters_}, weights_.bias_initializer,
                                     weights_.bias_regularizer);
        ws_.set_geometry(g_);
    }

  private:
    static Conv2DTransposeOptions with_activation(Conv2DTransposeOptions o,
                                                  std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    std::string who() const {
        return xkeras::detail::cat("layer '", this->name(), "' (Conv2DTranspose)");
    }

    /// Keras's output size along one axis (see the file comment); shape_error when it
    /// overflows.
    std::size_t output_size(std::size_t in, std::size_t k, std::size_t s, std::size_t d,
                            std::optional<int> extra) const {
        const std::size_t span = d * (k - 1) + 1;
        std::size_t out = 0;
        bool overflow = __builtin_mul_overflow(in - 1, s, &out);
        if (same_ && !extra)
            overflow = __builtin_mul_overflow(in, s, &out);
        else
            overflow = overflow || __builtin_add_overflow(out, same_ ? span % 2 : span, &out) ||
                       __builtin_add_overflow(
                           out, std::size_t(extra ? *extra : int(std::max(span, s) - span)), &out);
        if (overflow)
            throw shape_error(xkeras::detail::cat(who(), ": the output of an input of ", in,
                                                  " with strides ", s,
                                                  " has more elements than a size_t can count"));
        return out;
    }

    /// The convolution this layer is the transpose of: from the output shape to `in`.
    backend::window2d geometry(const shape_t& in) const {
        if (in.size() != 3 || in[0] == 0 || in[1] == 0)
            throw shape_error(xkeras::detail::cat(
                who(), " expects inputs of shape (batch, height, width, channels), got ",
                shape_str(in, true)));
        const auto& p = opt_.output_padding;
        const std::size_t oh =
            output_size(in[0], kernel_size_.h, opt_.strides.h, opt_.dilation_rate.h,
                        p ? std::optional(p->first) : std::nullopt);
        const std::size_t ow =
            output_size(in[1], kernel_size_.w, opt_.strides.w, opt_.dilation_rate.w,
                        p ? std::optional(p->second) : std::nullopt);
        auto g = backend::window2d::make({oh, ow, filters_}, kernel_size_.h, kernel_size_.w,
                                         opt_.strides.h, opt_.strides.w, opt_.dilation_rate.h,
                                         opt_.dilation_rate.w, same_, who());
        // only an output_padding can give a size that does not map back (see output_size)
        if (g.out_h != in[0] || g.out_w != in[1])
            throw shape_error(xkeras::detail::cat(
                who(), ": output_padding (", p ? p->first : 0, ", ", p ? p->second : 0,
                ") gives an output of ", oh, "x", ow,
                ", which the 'same' convolution it transposes does not map back to ",
                "the input's ", in[0], "x", in[1], " (TensorFlow refuses it too)"));
        return g;
    }

    backend::conv::conv2d<T> conv() const {
        return {g_, this->input_shape_.back(), kernel_.value.data(), kernel_.version, nullptr};
    }

    std::size_t filters_;
    size2 kernel_size_;
    bool same_;
    detail::activated_output<T> out_;
    detail::conv_weights weights_;
    Conv2DTransposeOptions opt_;
    backend::window2d g_;
    Param<T> kernel_, bias_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward pass
    backend::conv::workspace<T> ws_;
};

}  // namespace xkeras::layers
