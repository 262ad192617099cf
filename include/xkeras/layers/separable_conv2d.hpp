// xkeras/layers/separable_conv2d.hpp - SeparableConv2D: a depthwise convolution followed by a
// pointwise (1x1) one, Keras's depthwise-separable convolution.
//
// Input (batch, H, W, C); depthwise kernel (kh, kw, C, depth_multiplier), pointwise kernel
// (1, 1, C * depth_multiplier, filters), bias (filters); output (batch, OH, OW, filters). The
// depthwise stage is DepthwiseConv2D's (layers/depthwise_conv2d.hpp) without its bias; the
// pointwise stage is one GEMM over the batch's pixels.
#pragma once

#include "../backend/gemm.hpp"
#include "../backend/rows.hpp"
#include "depthwise_conv2d.hpp"

namespace xkeras::layers {

/// Options of SeparableConv2D, in Keras's order; every default is Keras's.
struct SeparableConv2DOptions {
    size2 strides = 1;
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    size2 dilation_rate = 1;
    int depth_multiplier = 1;  ///< Depthwise filters per input channel.
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer depthwise_initializer = initializers::GlorotUniform();
    initializers::Initializer pointwise_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> depthwise_regularizer{};
    std::optional<regularizers::Regularizer> pointwise_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (H, W, C), for a first layer.
    std::string name{};     ///< Defaults to "separable_conv2d", "separable_conv2d_1", ...
};

/// `SeparableConv2D(64, 3, "relu")`, `SeparableConv2D(32, {3, 3}, {.padding = "same"})`.
template <class T = float>
class SeparableConv2D : public detail::depthwise_layer<T> {
  public:
    SeparableConv2D(int filters, size2 kernel_size, SeparableConv2DOptions options = {})
        : detail::depthwise_layer<T>("separable_conv2d", "SeparableConv2D", options.name,
                                     options.input_shape,
                                     {kernel_size, options.strides, options.padding,
                                      options.dilation_rate, options.depth_multiplier},
                                     options.activation),
          filters_(detail::positive_size(filters, "SeparableConv2D", "filters")),
          opt_(std::move(options)) {}
    template <class S>
    requires std::convertible_to<const S&, std::string> SeparableConv2D(
        int filters, size2 kernel_size, const S& activation, SeparableConv2DOptions options = {})
        : SeparableConv2D(filters, kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "SeparableConv2D"; }
    std::size_t filters() const { return filters_; }
    const SeparableConv2DOptions& options() const { return opt_; }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!opt_.use_bias) return {&this->kernel_, &pointwise_};
        return {&this->kernel_, &pointwise_, &bias_};
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const auto g = this->geometry(in);
        return {g.out_h, g.out_w, filters_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], cm = channels() * this->depth_multiplier();
        this->ensure_shape(mid_,
                           this->batched(n, {this->output_shape_[0], this->output_shape_[1], cm}));
        this->ensure_shape(y_, this->batched(n, this->output_shape_));
        this->depthwise(x, training, nullptr, mid_.data());
        const std::size_t rows = mid_.size() / cm;
        if (opt_.use_bias)
            for (std::size_t r = 0; r < rows; ++r)
                std::copy_n(bias_.value.data(), filters_, y_.data() + r * filters_);
        backend::gemm_parallel(false, false, rows, filters_, cm, T(1), mid_.data(), cm,
                               pointwise_.value.data(), filters_, opt_.use_bias ? T(1) : T(0),
                               y_.data(), filters_);
        this->activate(y_);
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        const T* dz = this->activation_gradient(y_, dy);
        const std::size_t cm = channels() * this->depth_multiplier(), rows = mid_.size() / cm;
        // the pointwise stage: dP = mid^T . dz, db = column sums of dz, dmid = dz . P^T
        backend::gemm_parallel(true, false, cm, filters_, rows, T(1), mid_.data(), cm, dz, filters_,
                               T(0), pointwise_.grad.data(), filters_);
        if (opt_.use_bias) backend::column_sums(dz, rows, filters_, bias_.grad.data());
        this->ensure_shape(dmid_, shape_of(mid_));
        backend::gemm_parallel(false, true, rows, cm, filters_, T(1), dz, filters_,
                               pointwise_.value.data(), filters_, T(0), dmid_.data(), cm);
        return this->depthwise_backward(dmid_.data(), nullptr, need_input_grad);
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        this->window_.write(c);
        c["filters"] = filters_;
        c["activation"] = activations::name(this->output_activation());
        c["use_bias"] = opt_.use_bias;
        c["depthwise_initializer"] = config::to_json(opt_.depthwise_initializer);
        c["pointwise_initializer"] = config::to_json(opt_.pointwise_initializer);
        c["bias_initializer"] = config::to_json(opt_.bias_initializer);
        c["depthwise_regularizer"] = config::to_json(opt_.depthwise_regularizer);
        c["pointwise_regularizer"] = config::to_json(opt_.pointwise_regularizer);
        c["bias_regularizer"] = config::to_json(opt_.bias_regularizer);
        for (const char* k : {"activity_regularizer", "depthwise_constraint",
                              "pointwise_constraint", "bias_constraint"})
            c[k] = nullptr;
        return c;
    }

    static layer_example example() {
        return {{{"filters", 4},
                 {"kernel_size", {3, 3}},
                 {"depth_multiplier", 2},
                 {"activation", "tanh"}},
                {6, 5, 3}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "SeparableConv2D");
        const auto w = detail::depthwise_window::read(r);
        const int filters = r.get_int("filters");
        SeparableConv2DOptions o;
        o.name = r.name();
        o.strides = w.strides;
        o.padding = w.padding;
        o.dilation_rate = w.dilation_rate;
        o.depth_multiplier = w.depth_multiplier;
        o.activation = r.activation();
        o.use_bias = r.get("use_bias", true);
        o.depthwise_initializer =
            r.initializer("depthwise_initializer", initializers::GlorotUniform());
        o.pointwise_initializer =
            r.initializer("pointwise_initializer", initializers::GlorotUniform());
        o.bias_initializer = r.initializer("bias_initializer", initializers::Zeros());
        o.depthwise_regularizer = r.regularizer("depthwise_regularizer");
        o.pointwise_regularizer = r.regularizer("pointwise_regularizer");
        o.bias_regularizer = r.regularizer("bias_regularizer");
        for (const char* k : {"activity_regularizer", "depthwise_constraint",
                              "pointwise_constraint", "bias_constraint"})
            r.expect(k, nullptr);
        r.expect("groups", 1);  // tf.keras 2 wrote Conv2D's keys too
        r.finish();
        auto layer = std::make_unique<SeparableConv2D<T>>(filters, w.kernel_size, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        this->build_depthwise(in, "depthwise_kernel", opt_.depthwise_initializer,
                              opt_.depthwise_regularizer);
        pointwise_ = this->make_param("pointwise_kernel",
                                      {1, 1, in.back() * this->depth_multiplier(), filters_},
                                      opt_.pointwise_initializer, opt_.pointwise_regularizer);
        if (opt_.use_bias)
            bias_ =
                this->make_param("bias", {filters_}, opt_.bias_initializer, opt_.bias_regularizer);
    }

  private:
    static SeparableConv2DOptions with_activation(SeparableConv2DOptions o,
                                                  std::string activation) {
        o.activation = std::move(activation);
        return o;
    }
    std::size_t channels() const { return this->input_shape_.back(); }

    std::size_t filters_;
    SeparableConv2DOptions opt_;
    Param<T> pointwise_, bias_;
    tensor<T> mid_, dmid_, y_;
};

}  // namespace xkeras::layers
