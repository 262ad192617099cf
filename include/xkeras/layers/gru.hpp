// xkeras/layers/gru.hpp - GRU: gated recurrent unit over (batch, steps, features), in Keras's
// default form (reset_after: the reset gate multiplies the previous output's projection).
//
// Weights in Keras's order and shapes: kernel (features, 3 units), recurrent_kernel
// (units, 3 units), bias (2, 3 units) (the input's bias, then the recurrent one), each split
// into the gates z, r, h in that order. Output, go_backwards and the initial state as LSTM's
// (recurrent.hpp). How it computes: as LSTM, with the gates in backend/gru_cell.hpp.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "../backend/gemm.hpp"
#include "../backend/gru_cell.hpp"
#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "recurrent.hpp"

namespace xkeras::layers {

/// Options of GRU, in Keras's order; every default is Keras 3's.
struct GRUOptions {
    std::string activation = "tanh";  ///< tanh, sigmoid, relu or linear.
    /// The gates' activation; only the sigmoid, Keras's default.
    std::string recurrent_activation = "sigmoid";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer recurrent_initializer = initializers::Orthogonal();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> recurrent_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    bool return_sequences = false;  ///< Every step's output, not only the last.
    bool go_backwards = false;      ///< Reads the steps last to first.
    /// Keras's default form; false (Keras 2.0-2.2's default, the reset gate applied before
    /// the recurrent kernel) is refused.
    bool reset_after = true;
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, features), for a first layer.
    std::string name{};     ///< Defaults to "gru", "gru_1", ...
};

/// `GRU(128)`, `GRU(64, {.return_sequences = true})`.
template <class T = float>
class GRU : public detail::recurrent<T> {
  public:
    GRU(int units, GRUOptions options = {})
        : detail::recurrent<T>("gru", "GRU", options.name, options.input_shape, units,
                               options.return_sequences, options.go_backwards),
          activation_(activations::get(options.activation)),
          opt_(std::move(options)) {
        if (!backend::cell::supported_activation(activation_))
            throw value_error("GRU '" + this->name() + "': activation '" + opt_.activation +
                              "' is not supported (tanh, sigmoid, relu or linear)");
        if (opt_.recurrent_activation != "sigmoid")
            throw value_error("GRU '" + this->name() + "': recurrent_activation '" +
                              opt_.recurrent_activation +
                              "' is not supported (only sigmoid, Keras's default)");
        if (!opt_.reset_after)
            throw value_error("GRU '" + this->name() +
                              "': reset_after=False is not supported (only Keras's default, "
                              "reset_after=True)");
    }

    std::string class_name() const override { return "GRU"; }
    const GRUOptions& options() const { return opt_; }

    /// Keras keeps the weights in the layer's cell: `layers/<name>/cell/vars` in its files.
    std::vector<std::string> keras_weights_owner() const override { return {"cell"}; }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!opt_.use_bias) return {&kernel_, &recurrent_};
        return {&kernel_, &recurrent_, &bias_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], steps = this->steps_, u = this->units_, g = 3 * u;
        this->to_time_major(x, xt_);
        this->ensure_shape(zx_, {steps * n, g});
        this->ensure_shape(m_, {steps * n, g});
        this->ensure_shape(h_, {(steps + 1) * n, u});
        // every step's input projection (and input bias) in one GEMM
        T *zx = zx_.data(), *m = m_.data();
        const T* b = opt_.use_bias ? bias_.value.data() : nullptr;
        if (b)
            for (std::size_t r = 0; r < steps * n; ++r) {
                std::copy_n(b, g, zx + r * g);
                std::copy_n(b + g, g, m + r * g);  // the recurrent bias, for each step's GEMM
            }
        backend::gemm_parallel(false, false, steps * n, g, this->features_, T(1), xt_.data(),
                               this->features_, kernel_.value.data(), g, b ? T(1) : T(0), zx, g);
        std::fill_n(h_.data(), n * u, T(0));  // the initial state
        for (std::size_t t = 0; t < steps; ++t) {
            T *zt = zx + t * n * g, *mt = m + t * n * g;
            backend::gemm_parallel(false, false, n, g, u, T(1), h_.data() + t * n * u, u,
                                   recurrent_.value.data(), g, b ? T(1) : T(0), mt, g);
            backend::parallel_ranges(
                n, this->rows_per_task(3), [&](std::size_t r0, std::size_t r1) {
                    backend::gru::step_forward(activation_, zt, mt, h_.data() + t * n * u,
                                               h_.data() + (t + 1) * n * u, r0, r1, u);
                });
        }
        trained_ = training;
        batch_ = n;
        return this->output(h_.data(), n);
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(trained_);
        const std::size_t n = batch_, steps = this->steps_, u = this->units_, g = 3 * u;
        const std::size_t features = this->features_;
        this->ensure_shape(dzx_, {steps * n, g});
        this->ensure_shape(dm_, {steps * n, g});
        this->ensure_shape(dh_, {n, u});
        T *dzx = dzx_.data(), *dm = dm_.data(), *dh = dh_.data();
        std::fill_n(dh, n * u, T(0));
        for (std::size_t t = steps; t-- > 0;) {
            this->add_output_gradient(dy, t, n, dh);
            T *dzt = dzx + t * n * g, *dmt = dm + t * n * g;
            backend::parallel_ranges(
                n, this->rows_per_task(3), [&](std::size_t r0, std::size_t r1) {
                    backend::gru::step_backward(activation_, zx_.data() + t * n * g,
                                                m_.data() + t * n * g, h_.data() + t * n * u, dh,
                                                dzt, dmt, r0, r1, u);
                });
            if (t > 0)  // h_prev's gradient through its projection, added to the blend's
                backend::gemm_parallel(false, true, n, u, g, T(1), dmt, g, recurrent_.value.data(),
                                       g, T(1), dh, u);
        }
        backend::gemm_parallel(true, false, features, g, steps * n, T(1), xt_.data(), features, dzx,
                               g, T(0), kernel_.grad.data(), g);
        backend::gemm_parallel(true, false, u, g, steps * n, T(1), h_.data(), u, dm, g, T(0),
                               recurrent_.grad.data(), g);
        if (opt_.use_bias) {
            this->column_sums(dzx, steps * n, g, bias_.grad.data());
            this->column_sums(dm, steps * n, g, bias_.grad.data() + g);
        }
        if (!need_input_grad) return this->dx_;
        this->ensure_shape(dxt_, {steps * n, features});
        backend::gemm_parallel(false, true, steps * n, features, g, T(1), dzx, g,
                               kernel_.value.data(), g, T(0), dxt_.data(), features);
        return this->from_time_major(dxt_, n);
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        this->write_rnn_config(c);
        c["units"] = this->units_;
        c["activation"] = activations::name(activation_);
        c["recurrent_activation"] = "sigmoid";
        c["use_bias"] = opt_.use_bias;
        c["kernel_initializer"] = config::to_json(opt_.kernel_initializer);
        c["recurrent_initializer"] = config::to_json(opt_.recurrent_initializer);
        c["bias_initializer"] = config::to_json(opt_.bias_initializer);
        c["kernel_regularizer"] = config::to_json(opt_.kernel_regularizer);
        c["recurrent_regularizer"] = config::to_json(opt_.recurrent_regularizer);
        c["bias_regularizer"] = config::to_json(opt_.bias_regularizer);
        c["activity_regularizer"] = nullptr;
        c["kernel_constraint"] = nullptr;
        c["recurrent_constraint"] = nullptr;
        c["bias_constraint"] = nullptr;
        c["dropout"] = 0.0;
        c["recurrent_dropout"] = 0.0;
        c["seed"] = nullptr;
        c["reset_after"] = true;
        return c;
    }

    static layer_example example() { return {{{"units", 3}, {"activation", "relu"}}, {4, 2}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "GRU");
        GRUOptions o;
        o.name = r.name();
        const int units = r.get_int("units");
        // absent: Keras's defaults (null: linear, as Keras reads None)
        if (cfg.contains("activation")) o.activation = r.activation();
        if (cfg.contains("recurrent_activation"))
            o.recurrent_activation = r.activation("recurrent_activation");
        o.use_bias = r.get("use_bias", true);
        o.kernel_initializer = r.initializer("kernel_initializer", initializers::GlorotUniform());
        o.recurrent_initializer =
            r.initializer("recurrent_initializer", initializers::Orthogonal());
        o.bias_initializer = r.initializer("bias_initializer", initializers::Zeros());
        o.kernel_regularizer = r.regularizer("kernel_regularizer");
        o.recurrent_regularizer = r.regularizer("recurrent_regularizer");
        o.bias_regularizer = r.regularizer("bias_regularizer");
        o.reset_after = r.get("reset_after", true);
        for (const char* k : {"activity_regularizer", "kernel_constraint", "recurrent_constraint",
                              "bias_constraint"})
            r.expect(k, nullptr);
        GRU::read_rnn_config(r, o);
        r.finish();
        auto layer = std::make_unique<GRU<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        detail::recurrent<T>::build_weights(in);
        const std::size_t u = this->units_, g = 3 * u;
        kernel_ = this->make_param("kernel", {this->features_, g}, opt_.kernel_initializer,
                                   opt_.kernel_regularizer);
        recurrent_ = this->make_param("recurrent_kernel", {u, g}, opt_.recurrent_initializer,
                                      opt_.recurrent_regularizer);
        if (opt_.use_bias)
            bias_ = this->make_param("bias", {2, g}, opt_.bias_initializer, opt_.bias_regularizer);
        batch_ = 0;
        trained_ = false;
    }

  private:
    activations::kind activation_;
    GRUOptions opt_;
    std::size_t batch_ = 0;
    Param<T> kernel_, recurrent_, bias_;
    // time-major: the inputs; the input's projections (then the gates' activations z, r, g);
    // h_prev's projections; the outputs from the initial zeros on; and the gradients'
    tensor<T> xt_, zx_, m_, h_, dzx_, dm_, dh_, dxt_;
    bool trained_ = false;
};

}  // namespace xkeras::layers
