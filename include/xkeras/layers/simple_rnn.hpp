// xkeras/layers/simple_rnn.hpp - SimpleRNN: the fully connected recurrent layer over
// (batch, steps, features), h_t = act(x_t W + b + h_{t-1} U).
//
// Weights in Keras's order and shapes: kernel (features, units), recurrent_kernel
// (units, units), bias (units). Output, go_backwards and the initial state as LSTM's
// (recurrent.hpp). How it computes: as LSTM, with the step's activation in
// backend/simple_rnn_cell.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "../backend/parallel.hpp"
#include "../backend/simple_rnn_cell.hpp"
#include "../initializers.hpp"
#include "recurrent.hpp"

namespace xkeras::layers {

/// Options of SimpleRNN, in Keras's order; every default is Keras 3's.
struct SimpleRNNOptions {
    std::string activation = "tanh";  ///< tanh, sigmoid, relu or linear.
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer recurrent_initializer = initializers::Orthogonal();
    initializers::Initializer bias_initializer = initializers::Zeros();
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
    std::string name{};     ///< Defaults to "simple_rnn", "simple_rnn_1", ...
};

/// `SimpleRNN(32)`, `SimpleRNN(16, {.activation = "relu", .return_sequences = true})`.
template <class T = float>
class SimpleRNN : public detail::recurrent<T> {
  public:
    SimpleRNN(int units, SimpleRNNOptions options = {})
        : detail::recurrent<T>("simple_rnn", "SimpleRNN", units, options),
          opt_(std::move(options)) {}

    std::string class_name() const override { return "SimpleRNN"; }
    const SimpleRNNOptions& options() const { return opt_; }

  protected:
    const tensor<T>& call(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], steps = this->steps_, u = this->units_;
        this->ensure_shape(z_, {steps * n, u});
        this->ensure_shape(h_, {(steps + 1) * n, u});
        this->project_inputs(x, this->use_bias_ ? this->bias_.value.data() : nullptr, u, z_.data(),
                             training);
        std::fill_n(h_.data(), n * u, T(0));  // the initial state
        for (std::size_t t = 0; t < steps; ++t) {
            T* zt = z_.data() + t * n * u;
            this->project_state(h_.data() + t * n * u, n, u, T(1), zt);
            backend::parallel_ranges(
                n, this->rows_per_task(1), [&](std::size_t r0, std::size_t r1) {
                    backend::simple_rnn::step_forward(this->activation_, zt,
                                                      h_.data() + (t + 1) * n * u, r0, r1, u);
                });
            this->carry_masked(t, n, h_.data() + t * n * u, h_.data() + (t + 1) * n * u);
        }
        this->trained_ = training;
        this->batch_ = n;
        return this->output(h_.data(), n);
    }

  public:
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(this->trained_);
        const std::size_t n = this->batch_, steps = this->steps_, u = this->units_;
        this->ensure_shape(dz_, {steps * n, u});
        this->ensure_shape(dh_, {n, u});
        T *dz = dz_.data(), *dh = dh_.data();
        std::fill_n(dh, n * u, T(0));
        for (std::size_t t = steps; t-- > 0;) {
            // dh: what step t + 1 sent back, plus the output's gradient at this step
            this->add_output_gradient(dy, t, n, dh);
            T* dzt = dz + t * n * u;
            this->hold_masked(t, n, 0, dh);
            backend::parallel_ranges(
                n, this->rows_per_task(1), [&](std::size_t r0, std::size_t r1) {
                    backend::simple_rnn::step_backward(
                        this->activation_, h_.data() + (t + 1) * n * u, dh, dzt, r0, r1, u);
                });
            this->drop_masked(t, n, u, dzt);
            if (t > 0) this->state_gradient(dzt, n, u, T(0), dh);  // for step t - 1
            this->restore_masked(t, n, 0, dh);
        }
        if (this->use_bias_) backend::column_sums(dz, steps * n, u, this->bias_.grad.data());
        return this->kernel_and_input_gradients(dz, dz, h_.data(), n, u, need_input_grad);
    }

    nlohmann::json get_config() const override { return this->cell_config(opt_); }

    static layer_example example() {
        return {{{"units", 3},
                 {"return_sequences", true},
                 {"activation", "sigmoid"},
                 {"dropout", 0.25},
                 {"seed", 9}},
                {4, 2}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "SimpleRNN");
        SimpleRNNOptions o;
        const int units = SimpleRNN::read_cell_config(r, cfg, o);
        r.finish();
        auto layer = std::make_unique<SimpleRNN<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        detail::recurrent<T>::build_weights(in);
        this->build_cell_weights(opt_, 1, {this->units_});
    }

  private:
    SimpleRNNOptions opt_;
    // time-major: the steps' pre-activations; the outputs from the initial zeros on; and the
    // gradients'
    tensor<T> z_, h_, dz_, dh_;
};

}  // namespace xkeras::layers
