// xkeras/layers/gru.hpp - GRU: gated recurrent unit over (batch, steps, features), in Keras's
// default form (reset_after: the reset gate multiplies the previous output's projection).
//
// Weights in Keras's order and shapes: kernel (features, 3 units), recurrent_kernel
// (units, 3 units), bias (2, 3 units) (the input's bias, then the recurrent one), each split
// into the gates z, r, h in that order. Output, go_backwards and the initial state as LSTM's
// (recurrent.hpp). How it computes: as LSTM, with the gates in backend/gru_cell.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

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
    /// The fraction of the inputs' features dropped in training: one mask per batch, the same
    /// at every step (Keras's DropoutRNNCell).
    double dropout = 0.0;
    std::optional<std::uint64_t> seed{};  ///< The dropout masks' seed; defaults to a drawn one.
    bool return_sequences = false;        ///< Every step's output, not only the last.
    bool go_backwards = false;            ///< Reads the steps last to first.
    /// With a mask, a masked step's output is zeros instead of the previous step's (Keras's
    /// RNN argument; Bidirectional sets it to return_sequences).
    bool zero_output_for_mask = false;
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
        : detail::recurrent<T>("gru", "GRU", units, options), opt_(std::move(options)) {
        if (!opt_.reset_after)
            throw value_error("GRU '" + this->name() +
                              "': reset_after=False is not supported (only Keras's default, "
                              "reset_after=True)");
    }

    std::string class_name() const override { return "GRU"; }
    const GRUOptions& options() const { return opt_; }

  protected:
    const tensor<T>& call(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], steps = this->steps_, u = this->units_, g = 3 * u;
        this->ensure_shape(zx_, {steps * n, g});
        this->ensure_shape(m_, {steps * n, g});
        this->ensure_shape(h_, {(steps + 1) * n, u});
        const T* b = this->use_bias_ ? this->bias_.value.data() : nullptr;
        this->project_inputs(x, b, g, zx_.data(), training);  // with the input's bias
        if (b)  // the recurrent bias, for each step's projection of h_prev to add to
            for (std::size_t r = 0; r < steps * n; ++r) std::copy_n(b + g, g, m_.data() + r * g);
        std::fill_n(h_.data(), n * u, T(0));  // the initial state
        for (std::size_t t = 0; t < steps; ++t) {
            T *zt = zx_.data() + t * n * g, *mt = m_.data() + t * n * g;
            this->project_state(h_.data() + t * n * u, n, g, b ? T(1) : T(0), mt);
            backend::parallel_ranges(
                n, this->rows_per_task(3), [&](std::size_t r0, std::size_t r1) {
                    backend::gru::step_forward(this->activation_, zt, mt, h_.data() + t * n * u,
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
        const std::size_t n = this->batch_, steps = this->steps_, u = this->units_, g = 3 * u;
        this->ensure_shape(dzx_, {steps * n, g});
        this->ensure_shape(dm_, {steps * n, g});
        this->ensure_shape(dh_, {n, u});
        T *dzx = dzx_.data(), *dm = dm_.data(), *dh = dh_.data();
        std::fill_n(dh, n * u, T(0));
        for (std::size_t t = steps; t-- > 0;) {
            this->add_output_gradient(dy, t, n, dh);
            T *dzt = dzx + t * n * g, *dmt = dm + t * n * g;
            this->hold_masked(t, n, 0, dh);
            backend::parallel_ranges(
                n, this->rows_per_task(3), [&](std::size_t r0, std::size_t r1) {
                    backend::gru::step_backward(this->activation_, zx_.data() + t * n * g,
                                                m_.data() + t * n * g, h_.data() + t * n * u, dh,
                                                dzt, dmt, r0, r1, u);
                });
            this->drop_masked(t, n, g, dzt);
            this->drop_masked(t, n, g, dmt);
            // h_prev's gradient through its projection, added to the blend's
            if (t > 0) this->state_gradient(dmt, n, g, T(1), dh);
            this->restore_masked(t, n, 0, dh);
        }
        if (this->use_bias_) {
            backend::column_sums(dzx, steps * n, g, this->bias_.grad.data());
            backend::column_sums(dm, steps * n, g, this->bias_.grad.data() + g);
        }
        return this->kernel_and_input_gradients(dzx, dm, h_.data(), n, g, need_input_grad);
    }

    nlohmann::json get_config() const override {
        auto c = this->cell_config(opt_);
        c["reset_after"] = true;
        return c;
    }

    static layer_example example() { return {{{"units", 3}, {"activation", "relu"}}, {4, 2}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "GRU");
        GRUOptions o;
        const int units = GRU::read_cell_config(r, cfg, o);
        o.reset_after = r.get("reset_after", true);
        r.finish();
        auto layer = std::make_unique<GRU<T>>(units, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        detail::recurrent<T>::build_weights(in);
        this->build_cell_weights(opt_, 3, {2, 3 * this->units_});
    }

  private:
    GRUOptions opt_;
    // time-major: the input's projections (then the gates' activations z, r, g); h_prev's
    // projections; the outputs from the initial zeros on; and the gradients'
    tensor<T> zx_, m_, h_, dzx_, dm_, dh_;
};

}  // namespace xkeras::layers
