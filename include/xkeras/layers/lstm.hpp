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
#include <cstdint>
#include <optional>
#include <string>

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
    /// The fraction of the inputs' features dropped in training: one mask per batch, the same
    /// at every step (Keras's DropoutRNNCell).
    double dropout = 0.0;
    std::optional<std::uint64_t> seed{};  ///< The dropout masks' seed; defaults to a drawn one.
    bool return_sequences = false;        ///< Every step's output, not only the last.
    bool go_backwards = false;            ///< Reads the steps last to first.
    /// With a mask, a masked step's output is zeros instead of the previous step's (Keras's
    /// RNN argument; Bidirectional sets it to return_sequences).
    bool zero_output_for_mask = false;
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, features), for a first layer.
    std::string name{};     ///< Defaults to "lstm", "lstm_1", ...
};

/// `LSTM(128)`, `LSTM(64, {.return_sequences = true})`.
template <class T = float>
class LSTM : public detail::recurrent<T> {
  public:
    LSTM(int units, LSTMOptions options = {})
        : detail::recurrent<T>("lstm", "LSTM", units, options), opt_(std::move(options)) {}

    std::string class_name() const override { return "LSTM"; }
    const LSTMOptions& options() const { return opt_; }

  protected:
    const tensor<T>& call(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], steps = this->steps_, u = this->units_, g = 4 * u;
        this->ensure_shape(z_, {steps * n, g});
        this->ensure_shape(h_, {(steps + 1) * n, u});
        this->ensure_shape(c_, {(steps + 1) * n, u});
        this->ensure_shape(tc_, {steps * n, u});
        this->project_inputs(x, this->use_bias_ ? this->bias_.value.data() : nullptr, g, z_.data(),
                             training);
        std::fill_n(h_.data(), n * u, T(0));  // the initial states
        std::fill_n(c_.data(), n * u, T(0));
        for (std::size_t t = 0; t < steps; ++t) {
            T* zt = z_.data() + t * n * g;
            this->project_state(h_.data() + t * n * u, n, g, T(1), zt);
            backend::parallel_ranges(
                n, this->rows_per_task(4), [&](std::size_t r0, std::size_t r1) {
                    backend::lstm::step_forward(this->activation_, zt, c_.data() + t * n * u,
                                                c_.data() + (t + 1) * n * u, tc_.data() + t * n * u,
                                                h_.data() + (t + 1) * n * u, r0, r1, u);
                });
            this->carry_masked(t, n, h_.data() + t * n * u, h_.data() + (t + 1) * n * u);
            this->carry_masked(t, n, c_.data() + t * n * u, c_.data() + (t + 1) * n * u);
        }
        this->trained_ = training;
        this->batch_ = n;
        return this->output(h_.data(), n);
    }

  public:
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(this->trained_);
        const std::size_t n = this->batch_, steps = this->steps_, u = this->units_, g = 4 * u;
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
            this->hold_masked(t, n, 0, dh);
            this->hold_masked(t, n, 1, dc_.data());
            backend::parallel_ranges(
                n, this->rows_per_task(4), [&](std::size_t r0, std::size_t r1) {
                    backend::lstm::step_backward(this->activation_, z_.data() + t * n * g,
                                                 c_.data() + t * n * u, tc_.data() + t * n * u, dh,
                                                 dc_.data(), dzt, r0, r1, u);
                });
            this->drop_masked(t, n, g, dzt);
            if (t > 0) this->state_gradient(dzt, n, g, T(0), dh);  // for step t - 1
            this->restore_masked(t, n, 0, dh);
            this->restore_masked(t, n, 1, dc_.data());
        }
        if (this->use_bias_) backend::column_sums(dz, steps * n, g, this->bias_.grad.data());
        return this->kernel_and_input_gradients(dz, dz, h_.data(), n, g, need_input_grad);
    }

    nlohmann::json get_config() const override {
        auto c = this->cell_config(opt_);
        c["unit_forget_bias"] = opt_.unit_forget_bias;
        return c;
    }

    static layer_example example() {
        return {{{"units", 3}, {"return_sequences", true}, {"go_backwards", true}}, {4, 2}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "LSTM");
        LSTMOptions o;
        const int units = LSTM::read_cell_config(r, cfg, o);
        o.unit_forget_bias = r.get("unit_forget_bias", true);
        r.finish();
        auto layer = std::make_unique<LSTM<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        detail::recurrent<T>::build_weights(in);
        const std::size_t u = this->units_;
        this->build_cell_weights(opt_, 4, {4 * u});
        if (this->use_bias_ && opt_.unit_forget_bias) {
            std::fill_n(this->bias_.value.data() + u, u, T(1));
            this->bias_.changed();
        }
    }

  private:
    LSTMOptions opt_;
    // time-major: the gates (pre-activations, then activations), the hidden and cell states
    // from the initial zeros on, act(c); and the gradients'
    tensor<T> z_, h_, c_, tc_, dz_, dh_, dc_;
};

}  // namespace xkeras::layers
