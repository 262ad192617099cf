// xkeras/layers/convolution.hpp - what Conv1D and Conv2D share: the kernel and bias, the passes
// through backend/conv/ (each by the route backend::conv::select_route picks for the geometry,
// or the one force_route sets), the pooling fused into the forward pass at inference.
//
// The kernels see every input as NHWC images. Conv2D's (H, W, C) is one as it is; Conv1D's
// (steps, C) is the image (steps, 1, C) and its kernel (k, C, filters) the kernel
// (k, 1, C, filters): the same bytes in memory, so neither is copied.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "../backend/conv/backward.hpp"
#include "../backend/conv/forward.hpp"
#include "../backend/conv/route.hpp"
#include "../initializers.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers::detail {

/// The options of a convolution's weights, which every convolution has.
struct conv_weights {
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};

    template <class Options>
    static conv_weights of(const Options& o) {
        return {o.use_bias, o.kernel_initializer, o.bias_initializer, o.kernel_regularizer,
                o.bias_regularizer};
    }
};

/// Base of Conv1D and Conv2D; the derived layer gives the geometry and the kernel's shape.
template <class T>
class convolution : public Layer<T> {
  public:
    using pass = backend::conv::pass;
    using route = backend::conv::route;

    std::size_t filters() const { return filters_; }
    activations::kind output_activation() const override { return activation_; }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!weights_.use_bias) return {&kernel_};
        return {&kernel_, &bias_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
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
            throw shape_error(
                xkeras::detail::cat(who(), ": the pooling after it takes inputs of shape ",
                                    shape_str({pool.g.in_h, pool.g.in_w, pool.g.channels}, true),
                                    ", not its output ", shape_str(this->output_shape_, true)));
        this->check_input(x);
        const std::size_t n = x.shape()[0];
        this->ensure_shape(y_, this->batched(n, this->output_shape_));
        shape_t pooled{n, pool.g.out_h, pool.g.out_w, filters_};
        if (this->output_shape_.size() == 2) pooled.erase(pooled.begin() + 2);  // (steps, C)
        this->ensure_shape(pooled_, pooled);
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
            kernel_.grad.data(), weights_.use_bias ? bias_.grad.data() : nullptr,
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
        if (!this->built_) throw state_error(who() + ": force_route needs a built layer");
        if (r) backend::conv::check_route<T>(*r, p, g_, filters_, who());
        forced_[std::size_t(p)] = r;
    }

    const tensor<T>* logits() const override { return this->output_logits_ ? &logits_ : nullptr; }

  protected:
    /// `cls` is the Keras class name, for messages before the object is complete.
    convolution(const char* prefix, const char* cls, std::string name, shape_t input_shape,
                int filters, const std::string& activation, conv_weights weights)
        : Layer<T>(prefix, std::move(name), std::move(input_shape)),
          filters_(positive_size(filters, cls, "filters")),
          activation_(activations::get(activation)),
          weights_(std::move(weights)) {}

    /// The geometry of the kernels' view for an input shape (batch axis excluded); throws
    /// shape_error, naming the layer, for one that does not fit.
    virtual backend::window2d geometry(const shape_t& in) const = 0;
    /// The kernel's shape, in Keras's layout, for `channels` input channels.
    virtual shape_t kernel_shape(std::size_t channels) const = 0;

    void build_weights(const shape_t& in) override {
        g_ = geometry(in);
        forced_ = {};
        kernel_ = this->make_param("kernel", kernel_shape(g_.channels), weights_.kernel_initializer,
                                   weights_.kernel_regularizer);
        if (weights_.use_bias)
            bias_ = this->make_param("bias", {filters_}, weights_.bias_initializer,
                                     weights_.bias_regularizer);
        // after the weights: their size passes the weight limit (weight_limit) first, and the
        // workspace's patch offsets take one value per kernel value of a filter
        ws_.set_geometry(g_);
    }

    /// "layer 'name' (Class)", the start of the layer's messages.
    std::string who() const {
        return xkeras::detail::cat("layer '", this->name(), "' (", this->class_name(), ")");
    }

  private:
    backend::conv::conv2d<T> conv() const {
        return {g_, filters_, kernel_.value.data(), kernel_.version,
                weights_.use_bias ? bias_.value.data() : nullptr};
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
    activations::kind activation_;
    conv_weights weights_;
    backend::window2d g_;
    Param<T> kernel_, bias_;
    tensor<T> y_, dx_, logits_, pooled_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward pass
    backend::conv::workspace<T> ws_;
    std::array<std::optional<route>, 4> forced_{};  ///< force_route's, by pass
};

}  // namespace xkeras::layers::detail
