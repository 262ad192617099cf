// xkeras/layers/lstm.hpp - LSTM: long short-term memory over (batch, steps, features).
//
// Weights in Keras's order and shapes: kernel (features, 4 units), recurrent_kernel
// (units, 4 units), bias (4 units), each split into the gates i, f, c, o in that order. Output
// (batch, units), the last step's, or (batch, steps, units) with return_sequences; with
// go_backwards the steps are read last to first and the sequence comes out in that order, as
// Keras's. The initial states are zeros.
//
// How it computes: the inputs of every step go through the kernel in one GEMM; each step then
// adds h_prev times the recurrent kernel (a GEMM of the batch's rows) and runs the gates
// (backend/lstm_cell.hpp). Backpropagation through time runs the steps back, each one GEMM for
// the gradient of h_prev, then the kernels' gradients as one GEMM each over every step. The
// layer keeps its buffers time-major (step, sample) across batches: no allocation per step.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "../backend/gemm.hpp"
#include "../backend/lstm_cell.hpp"
#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "recurrent.hpp"

namespace xkeras::layers {

/// Options of LSTM, in Keras's order; every default is Keras 3's.
struct LSTMOptions {
    std::string activation = "tanh";  ///< tanh, sigmoid, relu or linear.
    /// The gates' activation; only the sigmoid, Keras's default (tf.keras 2.0-2.2's
    /// "hard_sigmoid" is refused: Keras 2 and 3 define it differently).
    std::string recurrent_activation = "sigmoid";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer recurrent_initializer = initializers::Orthogonal();
    initializers::Initializer bias_initializer = initializers::Zeros();
    /// Adds 1 to the forget gate's bias at initialisation (Jozefowicz et al., 2015).
    bool unit_forget_bias = true;
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> recurrent_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    bool return_sequences = false;  ///< Every step's output, not only the last.
    bool go_backwards = false;      ///< Reads the steps last to first.
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, features), for a first layer.
    std::string name{};     ///< Defaults to "lstm", "lstm_1", ...
};

/// `LSTM(128)`, `LSTM(64, {.return_sequences = true})`.
template <class T = float>
class LSTM : public detail::recurrent<T> {
  public:
    LSTM(int units, LSTMOptions options = {})
        : detail::recurrent<T>("lstm", "LSTM", options.name, options.input_shape, units,
                               options.return_sequences, options.go_backwards),
          activation_(activations::get(options.activation)),
          opt_(std::move(options)) {
        if (!backend::cell::supported_activation(activation_))
            throw value_error("LSTM '" + this->name() + "': activation '" + opt_.activation +
                              "' is not supported (tanh, sigmoid, relu or linear)");
        if (opt_.recurrent_activation != "sigmoid")
            throw value_error("LSTM '" + this->name() + "': recurrent_activation '" +
                              opt_.recurrent_activation +
                              "' is not supported (only sigmoid, Keras's default)");
    }

    std::string class_name() const override { return "LSTM"; }
    const LSTMOptions& options() const { return opt_; }

    /// Keras keeps the weights in the layer's cell: `layers/<name>/cell/vars` in its files.
    std::vector<std::string> keras_weights_owner() const override { return {"cell"}; }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!opt_.use_bias) return {&kernel_, &recurrent_};
        return {&kernel_, &recurrent_, &bias_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], steps = this->steps_, u = this->units_, g = 4 * u;
        this->to_time_major(x, xt_);
        this->ensure_shape(z_, {steps * n, g});
        this->ensure_shape(h_, {(steps + 1) * n, u});
        this->ensure_shape(c_, {(steps + 1) * n, u});
        this->ensure_shape(tc_, {steps * n, u});
        // every step's input projection (and bias) in one GEMM
        T* z = z_.data();
        if (opt_.use_bias)
            for (std::size_t r = 0; r < steps * n; ++r)
                std::copy_n(bias_.value.data(), g, z + r * g);
        backend::gemm_parallel(false, false, steps * n, g, this->features_, T(1), xt_.data(),
                               this->features_, kernel_.value.data(), g,
                               opt_.use_bias ? T(1) : T(0), z, g);
        std::fill_n(h_.data(), n * u, T(0));  // the initial states
        std::fill_n(c_.data(), n * u, T(0));
        for (std::size_t t = 0; t < steps; ++t) {
            T* zt = z + t * n * g;
            backend::gemm_parallel(false, false, n, g, u, T(1), h_.data() + t * n * u, u,
                                   recurrent_.value.data(), g, T(1), zt, g);
            backend::parallel_ranges(
                n, this->rows_per_task(4), [&](std::size_t r0, std::size_t r1) {
                    backend::lstm::step_forward(activation_, zt, c_.data() + t * n * u,
                                                c_.data() + (t + 1) * n * u, tc_.data() + t * n * u,
                                                h_.data() + (t + 1) * n * u, r0, r1, u);
                });
        }
        trained_ = training;
        batch_ = n;
        return this->output(h_.data(), n);
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(trained_);
        const std::size_t n = batch_, steps = this->steps_, u = this->units_, g = 4 * u;
        const std::size_t features = this->features_;
        this->ensure_shape(dz_, {steps * n, g});
        this->ensure_shape(dh_, {n, u});
        this->ensure_shape(dc_, {n, u});
        T *dz = dz_.data(), *dh = dh_.data();
        std::fill_n(dh, n * u, T(0));
        std::fill_n(dc_.data(), n * u, T(0));
        for (std::size_t t = steps; t-- > 0;) {
            // dh: what step t + 1 sent back, plus the output's gradient at this step
            this->add_output_gradient(dy, t, n, dh);
            T* dzt = dz + t * n * g;
            backend::parallel_ranges(
                n, this->rows_per_task(4), [&](std::size_t r0, std::size_t r1) {
                    backend::lstm::step_backward(activation_, z_.data() + t * n * g,
                                                 c_.data() + t * n * u, tc_.data() + t * n * u, dh,
                                                 dc_.data(), dzt, r0, r1, u);
                });
            if (t > 0)  // h_prev's gradient, for step t - 1
                backend::gemm_parallel(false, true, n, u, g, T(1), dzt, g, recurrent_.value.data(),
                                       g, T(0), dh, u);
        }
        // the weights' gradients over every step at once
        backend::gemm_parallel(true, false, features, g, steps * n, T(1), xt_.data(), features, dz,
                               g, T(0), kernel_.grad.data(), g);
        backend::gemm_parallel(true, false, u, g, steps * n, T(1), h_.data(), u, dz, g, T(0),
                               recurrent_.grad.data(), g);
        if (opt_.use_bias) this->column_sums(dz, steps * n, g, bias_.grad.data());
        if (!need_input_grad) return this->dx_;
        this->ensure_shape(dxt_, {steps * n, features});
        backend::gemm_parallel(false, true, steps * n, features, g, T(1), dz, g,
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
        c["unit_forget_bias"] = opt_.unit_forget_bias;
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
        return c;
    }

    static layer_example example() {
        return {{{"units", 3}, {"return_sequences", true}, {"go_backwards", true}}, {4, 2}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "LSTM");
        LSTMOptions o;
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
        o.unit_forget_bias = r.get("unit_forget_bias", true);
        o.kernel_regularizer = r.regularizer("kernel_regularizer");
        o.recurrent_regularizer = r.regularizer("recurrent_regularizer");
        o.bias_regularizer = r.regularizer("bias_regularizer");
        for (const char* k : {"activity_regularizer", "kernel_constraint", "recurrent_constraint",
                              "bias_constraint"})
            r.expect(k, nullptr);
        LSTM::read_rnn_config(r, o);
        r.finish();
        auto layer = std::make_unique<LSTM<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        detail::recurrent<T>::build_weights(in);
        const std::size_t u = this->units_, g = 4 * u;
        kernel_ = this->make_param("kernel", {this->features_, g}, opt_.kernel_initializer,
                                   opt_.kernel_regularizer);
        recurrent_ = this->make_param("recurrent_kernel", {u, g}, opt_.recurrent_initializer,
                                      opt_.recurrent_regularizer);
        if (opt_.use_bias) {
            bias_ = this->make_param("bias", {g}, opt_.bias_initializer, opt_.bias_regularizer);
            if (opt_.unit_forget_bias) {
                std::fill_n(bias_.value.data() + u, u, T(1));
                bias_.changed();
            }
        }
        batch_ = 0;
        trained_ = false;
    }

  private:
    activations::kind activation_;
    LSTMOptions opt_;
    std::size_t batch_ = 0;
    Param<T> kernel_, recurrent_, bias_;
    // time-major: the inputs, the gates (pre-activations, then activations), the hidden and
    // cell states from the initial zeros on, act(c); and the gradients'
    tensor<T> xt_, z_, h_, c_, tc_, dz_, dh_, dc_, dxt_;
    bool trained_ = false;
};

}  // namespace xkeras::layers
