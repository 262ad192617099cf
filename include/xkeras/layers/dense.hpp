// xkeras/layers/dense.hpp - Dense: y = activation(x . kernel + bias).
//
// Input (batch, ..., in), output (batch, ..., units): like Keras, a rank > 2 input is transformed
// along its last axis. Kernel (in, units), bias (units). Params: in * units + units.
#pragma once

#include <algorithm>
#include <concepts>
#include <optional>
#include <string>

#include "../backend/gemm.hpp"
#include "../backend/rows.hpp"
#include "../backend/sparse.hpp"
#include "../initializers.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// Options of Dense; every default is Keras's.
struct DenseOptions {
    std::string activation = "linear";  ///< Defaults to none (linear).
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (without the batch axis), for a first layer.
    std::string name{};     ///< Defaults to Keras's automatic name ("dense", "dense_1", ...).
};

/// Densely connected layer. `Dense(512, "relu")`, `Dense(10, {.activation = "softmax"})`.
template <class T = float>
class Dense : public Layer<T> {
  public:
    Dense(int units, DenseOptions options = {})
        : Layer<T>("dense", options.name, options.input_shape),
          units_(detail::positive_size(units, "Dense", "units")),
          activation_(activations::get(options.activation)),
          opt_(std::move(options)) {}
    // A template, so that a braced options list never matches it (GCC 12 would otherwise find
    // `Dense(512, {.input_shape = {784}})` ambiguous with a std::string parameter).
    template <class S>
    requires std::convertible_to<const S&, std::string> Dense(int units, const S& activation,
                                                              DenseOptions options = {})
        : Dense(units, with_activation(std::move(options), std::string(activation))) {}

    std::string class_name() const override { return "Dense"; }
    bool supports_masking() const override { return true; }
    std::size_t units() const { return units_; }
    const DenseOptions& options() const { return opt_; }
    activations::kind activation() const { return activation_; }
    activations::kind output_activation() const override { return activation_; }
    /// Whether the last forward pass multiplied by the input's nonzero entries only (see
    /// compress_input): mostly-zero inputs, such as MNIST's pixels, take that route.
    bool sparse_input() const { return sparse_x_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.empty() || in.back() == 0)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(),
                "' (Dense) needs an input with a non-empty last axis, got ", shape_str(in, true)));
        shape_t out = in;
        out.back() = units_;
        return out;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        std::vector<Param<T>*> ps{&kernel_};
        if (opt_.use_bias) ps.push_back(&bias_);
        return ps;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t in = this->input_shape_.back();
        const std::size_t rows = x.size() / in;
        shape_t out_shape = shape_of(x);
        out_shape.back() = units_;
        this->ensure_shape(y_, out_shape);
        // y starts as the bias and the GEMM adds to it (beta 1), which spares the pass that
        // OpenBLAS makes to clear y when beta is 0
        if (opt_.use_bias) {
            const T* b = bias_.value.data();
            T* y = y_.data();
            for (std::size_t r = 0; r < rows; ++r, y += units_) std::copy_n(b, units_, y);
        }
        sparse_x_ = compress_input(x.data(), rows, in);
        if (sparse_x_)
            backend::sparse_gemm(xs_, kernel_.value.data(), units_, units_, y_.data(), units_,
                                 opt_.use_bias);
        else
            backend::gemm_parallel(false, false, rows, units_, in, T(1), x.data(), in,
                                   kernel_.value.data(), units_, opt_.use_bias ? T(1) : T(0),
                                   y_.data(), units_);
        if (this->output_logits_) {
            this->ensure_shape(logits_, out_shape);
            std::copy_n(y_.data(), y_.size(), logits_.data());
        }
        activations::apply(activation_, y_.data(), rows, units_);
        x_ = training ? &x : nullptr;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        const std::size_t in = this->input_shape_.back();
        const std::size_t rows = x_->size() / in;
        const T* dz = dy.data();
        if (activation_ != activations::kind::linear && !this->output_logits_) {
            this->ensure_shape(dz_, shape_of(dy));
            activations::backward(activation_, y_.data(), dy.data(), dz_.data(), rows, units_);
            dz = dz_.data();
        }
        // dW = x^T . dz ; db = column sums of dz ; dx = dz . W^T
        if (sparse_x_) {  // dW's rows are the input features: x^T's rows
            backend::transpose(xs_, xs_t_);
            backend::sparse_gemm(xs_t_, dz, units_, units_, kernel_.grad.data(), units_, false);
        } else {
            backend::gemm_parallel(true, false, in, units_, rows, T(1), x_->data(), in, dz, units_,
                                   T(0), kernel_.grad.data(), units_);
        }
        if (opt_.use_bias) backend::column_sums(dz, rows, units_, bias_.grad.data());
        if (!need_input_grad) {
            dx_ = tensor<T>();
            return dx_;
        }
        this->ensure_shape(dx_, shape_of(*x_));
        backend::gemm_parallel(false, true, rows, in, units_, T(1), dz, units_,
                               kernel_.value.data(), units_, T(0), dx_.data(), in);
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["units"] = units_;
        config::write_kernel_options(c, opt_, activations::name(activation_));
        c.erase("activity_regularizer");  // Keras 3's Dense omits it when it is None
        return c;
    }

    static layer_example example() { return {{{"units", 3}, {"activation", "softmax"}}, {5}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Dense");
        DenseOptions o;
        const int units = r.get_int("units");
        config::read_kernel_options(r, o);
        r.finish();
        auto layer = std::make_unique<Dense<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    const tensor<T>* logits() const override { return this->output_logits_ ? &logits_ : nullptr; }

  protected:
    void build_weights(const shape_t& in) override {
        const shape_t kshape{in.back(), units_};
        kernel_ =
            this->make_param("kernel", kshape, opt_.kernel_initializer, opt_.kernel_regularizer);
        if (opt_.use_bias)
            bias_ =
                this->make_param("bias", {units_}, opt_.bias_initializer, opt_.bias_regularizer);
    }

  private:
    /// Whether to multiply by x's nonzero entries only (backend/sparse.hpp), compressing x into
    /// xs_ when so.
    bool compress_input(const T* x, std::size_t rows, std::size_t in) {
        const double max_density = backend::max_sparse_density<T>(rows, units_);
        if (max_density <= 0.0) return false;
        const auto max_nonzeros = std::size_t(max_density * double(rows * in));
        return backend::compress_rows(x, rows, in, in, xs_, max_nonzeros);
    }

    static DenseOptions with_activation(DenseOptions o, std::string activation) {
        o.activation = std::move(activation);
        return o;
    }
    std::size_t units_;
    activations::kind activation_;
    DenseOptions opt_;
    Param<T> kernel_, bias_;
    tensor<T> y_, dz_, dx_, logits_;
    const tensor<T>* x_ = nullptr;
    bool sparse_x_ = false;              // whether the last forward used xs_
    backend::sparse_rows<T> xs_, xs_t_;  // x's nonzero entries, and by input feature
};

}  // namespace xkeras::layers
