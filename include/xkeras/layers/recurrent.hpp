// xkeras/layers/recurrent.hpp - what the recurrent layers (SimpleRNN, LSTM, GRU) share: the
// shapes, the weights (kernel, recurrent kernel, bias) and their options, the batch-major input
// and output against the time-major buffers they compute in, go_backwards, the inputs' dropout,
// masks, and the config keys of Keras's RNN base class and of its cells.
//
// With a mask (Embedding's mask_zero), a masked step leaves a sample's states as they were and
// its output is the previous step's (zeros before the first unmasked step), or zeros with
// zero_output_for_mask, as Keras's RNN; backward, such a step hands its states' gradients back
// unchanged and gives its gates and its input none.
//
// Time-major: row t * batch + i of a buffer is sample i at step t, so that one step's rows are
// contiguous (each step's GEMM reads them in place) and every step's rows together form one
// matrix (the input projection and the kernels' gradients are one GEMM each).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "../backend/cell_activations.hpp"
#include "../backend/gemm.hpp"
#include "../backend/parallel.hpp"
#include "../backend/rows.hpp"
#include "../initializers.hpp"
#include "conv_utils.hpp"
#include "dropout_stream.hpp"
#include "layer.hpp"

namespace xkeras::layers::detail {

/// Base of SimpleRNN, LSTM and GRU.
template <class T>
class recurrent : public Layer<T> {
  public:
    std::size_t units() const { return units_; }
    bool return_sequences() const { return return_sequences_; }
    bool go_backwards() const { return go_backwards_; }

    /// Keras keeps the weights in the layer's cell: `layers/<name>/cell/vars` in its files.
    std::vector<typename Layer<T>::keras_weight_group> keras_weight_groups() const override {
        return {{{"cell"}, static_cast<const Layer<T>&>(*this).params().size()}};
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        if (!use_bias_) return {&kernel_, &recurrent_};
        return {&kernel_, &recurrent_, &bias_};
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() != 2 || in[0] == 0 || in[1] == 0)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (", this->class_name(),
                ") expects inputs of shape (batch, steps, features) with at least one step and "
                "one feature, got ",
                shape_str(in, true)));
        if (return_sequences_) return {in[0], units_};
        return {units_};
    }

    /// The layer's computation (Keras's `call`): the derived class's, each step masked or not
    /// by the last forward's mask (step_mask).
    const tensor<T>& forward(const tensor<T>& x, bool training) final {
        step_masked_ = false;
        return call(x, training);
    }

    bool supports_masking() const override { return true; }
    bool output_masked(bool input_masked) const override {
        return input_masked && return_sequences_;
    }

    const tensor<T>& forward_masked(const tensor<T>& x, const tensor<T>& mask,
                                    bool training) override {
        this->check_input(x);
        this->check_mask(x, mask);
        const std::size_t n = x.shape()[0];
        this->ensure_shape(step_mask_, {steps_ * n});
        for (std::size_t t = 0; t < steps_; ++t)
            for (std::size_t i = 0; i < n; ++i)
                step_mask_.data()[t * n + i] = mask.data()[i * steps_ + source_step(t)];
        step_masked_ = true;
        return call(x, training);
    }

    /// Keras's zero_output_for_mask: whether a masked step's output is zeros instead of the
    /// previous step's. Bidirectional sets it to its return_sequences, as Keras's does.
    bool zero_output_for_mask() const { return zero_output_for_mask_; }
    void set_zero_output_for_mask(bool on) { zero_output_for_mask_ = on; }

    /// With `dropout`, the mask stream's state ({"seed", "calls"}); else none.
    nlohmann::json training_state() const override {
        return dropout_ > 0.0 ? stream_.state() : nlohmann::json();
    }
    void set_training_state(const nlohmann::json& s) override {
        if (dropout_ == 0.0) return Layer<T>::set_training_state(s);
        stream_.set_state(s, "layer '" + this->name() + "' (" + this->class_name() + ")");
    }

  protected:
    /// From the layer's options (SimpleRNNOptions, LSTMOptions, GRUOptions); refuses an
    /// activation the cells do not compute and a gates' activation other than the sigmoid.
    template <class Options>
    recurrent(const char* prefix, const char* cls, int units, const Options& o)
        : Layer<T>(prefix, o.name, o.input_shape),
          units_(positive_size(units, cls, "units")),
          return_sequences_(o.return_sequences),
          go_backwards_(o.go_backwards),
          use_bias_(o.use_bias),
          zero_output_for_mask_(o.zero_output_for_mask),
          activation_(activations::get(o.activation)),
          dropout_(o.dropout),
          seed_(o.seed) {
        const std::string who = std::string(cls) + " '" + this->name() + "'";
        if (!(dropout_ >= 0.0 && dropout_ <= 1.0))
            throw value_error(
                xkeras::detail::cat(who, ": expected `dropout` in [0, 1], got ", dropout_));
        if (!backend::cell::supported_activation(activation_))
            throw value_error(who + ": activation '" + o.activation +
                              "' is not supported (tanh, sigmoid, relu or linear)");
        if constexpr (has_gates<Options>)
            if (o.recurrent_activation != "sigmoid")
                throw value_error(who + ": recurrent_activation '" + o.recurrent_activation +
                                  "' is not supported (only sigmoid, Keras's default)");
    }

    /// Whether the cell has gates (LSTM, GRU), and so a `recurrent_activation`.
    template <class Options>
    static constexpr bool has_gates = requires(const Options& o) {
        o.recurrent_activation;
    };

    /// The forward pass of x (batch, steps, features), checked here.
    virtual const tensor<T>& call(const tensor<T>& x, bool training) = 0;

    void build_weights(const shape_t& in) override {
        steps_ = in[0];
        features_ = in[1];
        // a seed drawn only with dropout: a layer without keeps the global sequence as it was
        if (dropout_ > 0.0) stream_ = {seed_ ? *seed_ : xkeras::detail::next_seed(), 0};
        masked_ = false;
    }

    /// The kernel (features, gates x units), the recurrent kernel (units, gates x units) and,
    /// with use_bias, the bias of `bias_shape`, from the options' initializers and regularizers.
    template <class Options>
    void build_cell_weights(const Options& o, std::size_t gates, const shape_t& bias_shape) {
        const std::size_t g = gates * units_;
        kernel_ =
            this->make_param("kernel", {features_, g}, o.kernel_initializer, o.kernel_regularizer);
        recurrent_ = this->make_param("recurrent_kernel", {units_, g}, o.recurrent_initializer,
                                      o.recurrent_regularizer);
        if (use_bias_)
            bias_ = this->make_param("bias", bias_shape, o.bias_initializer, o.bias_regularizer);
        batch_ = 0;
        trained_ = false;
    }

    /// The input step read at step t.
    std::size_t source_step(std::size_t t) const { return go_backwards_ ? steps_ - 1 - t : t; }

    /// x (batch, steps, features) into xt_, time-major in the order the steps are read; then
    /// every step's input projection in one GEMM: z (steps x batch rows of g) = xt_ W, plus
    /// `bias` (g values, or null for none) on every row.
    /// In training with `dropout`, each sample's features are masked first, with one mask per
    /// batch for every step.
    void project_inputs(const tensor<T>& x, const T* bias, std::size_t g, T* z, bool training) {
        const std::size_t n = x.shape()[0], rows = steps_ * n;
        this->ensure_shape(xt_, {rows, features_});
        masked_ = training && dropout_ > 0.0;
        if (masked_) {
            this->ensure_shape(mask_, {n, features_});
            stream_.next(mask_.data(), n, features_, dropout_);
        }
        for (std::size_t t = 0; t < steps_; ++t)
            for (std::size_t i = 0; i < n; ++i)
                copy_features(x.data() + (i * steps_ + source_step(t)) * features_,
                              xt_.data() + (t * n + i) * features_, i);
        if (bias)
            for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias, g, z + r * g);
        backend::gemm_parallel(false, false, rows, g, features_, T(1), xt_.data(), features_,
                               kernel_.value.data(), g, bias ? T(1) : T(0), z, g);
    }

    /// out (n rows of g) = h_prev U + beta out: a step's recurrent projection.
    void project_state(const T* h_prev, std::size_t n, std::size_t g, T beta, T* out) const {
        backend::gemm_parallel(false, false, n, g, units_, T(1), h_prev, units_,
                               recurrent_.value.data(), g, beta, out, g);
    }

    /// dh (n rows of units) = dz U^T + beta dh: h_prev's gradient through its projection.
    void state_gradient(const T* dz, std::size_t n, std::size_t g, T beta, T* dh) const {
        backend::gemm_parallel(false, true, n, units_, g, T(1), dz, g, recurrent_.value.data(), g,
                               beta, dh, units_);
    }

    /// After the steps' backward pass, from the time-major gradients of the input's projections
    /// (dzx) and of the states' (dzh, against h: the states from the initial one on): the
    /// kernels' gradients over every step, one GEMM each, and, when asked, the input's
    /// gradient, batch-major. The bias's gradient is the caller's (its layout is the class's).
    const tensor<T>& kernel_and_input_gradients(const T* dzx, const T* dzh, const T* h,
                                                std::size_t n, std::size_t g,
                                                bool need_input_grad) {
        const std::size_t rows = steps_ * n;
        backend::gemm_parallel(true, false, features_, g, rows, T(1), xt_.data(), features_, dzx, g,
                               T(0), kernel_.grad.data(), g);
        backend::gemm_parallel(true, false, units_, g, rows, T(1), h, units_, dzh, g, T(0),
                               recurrent_.grad.data(), g);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dxt_, {rows, features_});
        backend::gemm_parallel(false, true, rows, features_, g, T(1), dzx, g, kernel_.value.data(),
                               g, T(0), dxt_.data(), features_);
        return from_time_major(dxt_, n);
    }

    /// The time-major input gradient dxt into dx_, batch-major, through the dropout mask of the
    /// forward pass; returns dx_.
    const tensor<T>& from_time_major(const tensor<T>& dxt, std::size_t n) {
        this->ensure_shape(dx_, {n, steps_, features_});
        for (std::size_t t = 0; t < steps_; ++t)
            for (std::size_t i = 0; i < n; ++i)
                copy_features(dxt.data() + (t * n + i) * features_,
                              dx_.data() + (i * steps_ + source_step(t)) * features_, i);
        return dx_;
    }

    /// One step's features of sample i from `in` to `out`, through sample i's dropout mask
    /// when the last forward drew one.
    void copy_features(const T* in, T* out, std::size_t i) const {
        if (!masked_) {
            std::copy_n(in, features_, out);
            return;
        }
        const T* m = mask_.data() + i * features_;
        for (std::size_t k = 0; k < features_; ++k) out[k] = in[k] * m[k];
    }

    /// Step t's mask in the last forward pass (n values, 0 for a masked sample), or null
    /// when it had none.
    const T* step_mask(std::size_t t, std::size_t n) const {
        return step_masked_ ? step_mask_.data() + t * n : nullptr;
    }

    /// After step t's forward pass: each masked sample's state (a row of `units` values) in
    /// `next` is its state before, from `prev`.
    void carry_masked(std::size_t t, std::size_t n, const T* prev, T* next) const {
        if (const T* m = step_mask(t, n))
            for (std::size_t i = 0; i < n; ++i)
                if (m[i] == T(0)) std::copy_n(prev + i * units_, units_, next + i * units_);
    }

    /// Backward, step t, masked samples: hold_masked keeps their rows of a state's gradient
    /// (units wide; `slot` 0 or 1) before the cell's backward step; drop_masked zeroes their
    /// rows of a gate gradient (`width` wide), so that the step changes no weight's gradient
    /// and no input's; restore_masked puts the held rows back, handed to step t - 1 unchanged.
    void hold_masked(std::size_t t, std::size_t n, std::size_t slot, const T* grad) {
        const T* m = step_mask(t, n);
        if (!m) return;
        this->ensure_shape(held_, {2, n, units_});
        T* keep = held_.data() + slot * n * units_;
        for (std::size_t i = 0; i < n; ++i)
            if (m[i] == T(0)) std::copy_n(grad + i * units_, units_, keep + i * units_);
    }
    void drop_masked(std::size_t t, std::size_t n, std::size_t width, T* dz) const {
        if (const T* m = step_mask(t, n))
            for (std::size_t i = 0; i < n; ++i)
                if (m[i] == T(0)) std::fill_n(dz + i * width, width, T(0));
    }
    void restore_masked(std::size_t t, std::size_t n, std::size_t slot, T* grad) const {
        const T* m = step_mask(t, n);
        if (!m) return;
        const T* keep = held_.data() + slot * n * units_;
        for (std::size_t i = 0; i < n; ++i)
            if (m[i] == T(0)) std::copy_n(keep + i * units_, units_, grad + i * units_);
    }

    /// Whether sample i's output at step t is zeros: a masked step with zero_output_for_mask.
    bool zero_output(std::size_t t, std::size_t n, std::size_t i) const {
        const T* m = zero_output_for_mask_ ? step_mask(t, n) : nullptr;
        return m && m[i] == T(0);
    }

    /// The output from h ((steps + 1) batch rows of `units`: the initial state, then each
    /// step's), batch-major: every step's, or the last.
    const tensor<T>& output(const T* h, std::size_t n) {
        const std::size_t u = units_;
        if (return_sequences_) {
            this->ensure_shape(y_, {n, steps_, u});
            for (std::size_t t = 0; t < steps_; ++t)
                for (std::size_t i = 0; i < n; ++i) {
                    T* row = y_.data() + (i * steps_ + t) * u;
                    if (zero_output(t, n, i))
                        std::fill_n(row, u, T(0));
                    else
                        std::copy_n(h + ((t + 1) * n + i) * u, u, row);
                }
        } else {
            this->ensure_shape(y_, {n, u});
            std::copy_n(h + steps_ * n * u, n * u, y_.data());
            for (std::size_t i = 0; i < n; ++i)
                if (zero_output(steps_ - 1, n, i)) std::fill_n(y_.data() + i * u, u, T(0));
        }
        return y_;
    }

    /// Adds the output gradient dy's share at step t to dh (batch x units): every step's, or
    /// the last step's only (none for an output of zeros). dh holds what step t + 1 sent back
    /// (zeros at the last step).
    void add_output_gradient(const tensor<T>& dy, std::size_t t, std::size_t n, T* dh) const {
        const std::size_t u = units_;
        if (!return_sequences_ && t + 1 != steps_) return;
        for (std::size_t i = 0; i < n; ++i) {
            if (zero_output(t, n, i)) continue;
            const T* d = dy.data() + (return_sequences_ ? i * steps_ + t : i) * u;
            T* row = dh + i * u;
            for (std::size_t j = 0; j < u; ++j) row[j] += d[j];
        }
    }

    /// The config: the keys of Keras's RNN base class and of its cell's, as Keras 3 writes
    /// them (the class's own, unit_forget_bias or reset_after, are the caller's).
    template <class Options>
    nlohmann::json cell_config(const Options& o) const {
        auto c = Layer<T>::get_config();
        c["return_sequences"] = return_sequences_;
        c["return_state"] = false;
        c["go_backwards"] = go_backwards_;
        c["stateful"] = false;
        c["unroll"] = false;
        c["zero_output_for_mask"] = zero_output_for_mask_;
        c["units"] = units_;
        c["activation"] = activations::name(activation_);
        if constexpr (has_gates<Options>) c["recurrent_activation"] = "sigmoid";
        c["use_bias"] = use_bias_;
        c["kernel_initializer"] = config::to_json(o.kernel_initializer);
        c["recurrent_initializer"] = config::to_json(o.recurrent_initializer);
        c["bias_initializer"] = config::to_json(o.bias_initializer);
        c["kernel_regularizer"] = config::to_json(o.kernel_regularizer);
        c["recurrent_regularizer"] = config::to_json(o.recurrent_regularizer);
        c["bias_regularizer"] = config::to_json(o.bias_regularizer);
        for (const char* k : {"activity_regularizer", "kernel_constraint", "recurrent_constraint",
                              "bias_constraint"})
            c[k] = nullptr;
        c["dropout"] = dropout_;
        c["recurrent_dropout"] = 0.0;
        c["seed"] = config::seed_json(seed_);
        return c;
    }

    /// Reads what cell_config writes into o (absent keys: Keras's defaults; a null activation
    /// is linear, as Keras reads None) and returns the units, refusing what a Sequential cannot
    /// use or xkeras has not; the keys that change how Keras computes but not what are accepted.
    template <class Options>
    static int read_cell_config(config::reader& r, const nlohmann::json& cfg, Options& o) {
        o.name = r.name();
        const int units = r.get_int("units");
        if (cfg.contains("activation")) o.activation = r.activation();
        if constexpr (has_gates<Options>)
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
        for (const char* k : {"activity_regularizer", "kernel_constraint", "recurrent_constraint",
                              "bias_constraint"})
            r.expect(k, nullptr);
        o.return_sequences = r.get("return_sequences", false);
        o.go_backwards = r.get("go_backwards", false);
        r.expect("return_state", false);  // a Sequential cannot take several outputs
        r.expect("stateful", false);
        r.expect("time_major", false);
        o.dropout = r.get("dropout", 0.0);
        if (r.has("seed")) o.seed = r.get<std::uint64_t>("seed", 0);
        r.mark("seed");
        r.expect("recurrent_dropout", 0.0);
        o.zero_output_for_mask = r.get("zero_output_for_mask", false);
        for (const char* k : {"unroll", "implementation", "use_cudnn"}) r.mark(k);
        return units;
    }

    /// Rows of a step per task of the pool: about 16K gate values each.
    std::size_t rows_per_task(std::size_t gates) const {
        return std::max<std::size_t>(1, 16384 / (gates * units_));
    }

    std::size_t units_;
    bool return_sequences_, go_backwards_, use_bias_, zero_output_for_mask_;
    activations::kind activation_;
    double dropout_;
    std::optional<std::uint64_t> seed_;
    dropout_stream stream_;
    bool masked_ = false;  ///< Whether the last forward masked its inputs (mask_).
    tensor<T> mask_;
    std::size_t steps_ = 0, features_ = 0;
    Param<T> kernel_, recurrent_, bias_;
    std::size_t batch_ = 0;     ///< The last training forward's batch, for backward.
    bool trained_ = false;      ///< Whether the last forward kept what backward needs.
    tensor<T> xt_, dxt_;        ///< The input, time-major in the order read, and its gradient.
    bool step_masked_ = false;  ///< Whether the last forward had a mask (step_mask_).
    tensor<T> step_mask_;       ///< Its mask, time-major in the order read.
    tensor<T> held_;            ///< Masked samples' state gradients kept over a backward step.
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers::detail
