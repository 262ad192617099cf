// xkeras/layers/recurrent.hpp - what the recurrent layers (LSTM, GRU) share: the shapes, the
// batch-major input and output against the time-major buffers they compute in, go_backwards,
// and the config keys of Keras's RNN base class.
//
// Time-major: row t * batch + i of a buffer is sample i at step t, so that one step's rows are
// contiguous (each step's GEMM reads them in place) and every step's rows together form one
// matrix (the input projection and the kernels' gradients are one GEMM each).
#pragma once

#include <algorithm>
#include <string>

#include "../backend/parallel.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers::detail {

/// Base of LSTM and GRU.
template <class T>
class recurrent : public Layer<T> {
  public:
    std::size_t units() const { return units_; }
    bool return_sequences() const { return return_sequences_; }
    bool go_backwards() const { return go_backwards_; }

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

  protected:
    recurrent(const char* prefix, const char* cls, std::string name, shape_t input_shape, int units,
              bool return_sequences, bool go_backwards)
        : Layer<T>(prefix, std::move(name), std::move(input_shape)),
          units_(positive_size(units, cls, "units")),
          return_sequences_(return_sequences),
          go_backwards_(go_backwards) {}

    void build_weights(const shape_t& in) override {
        steps_ = in[0];
        features_ = in[1];
    }

    /// The input step read at step t.
    std::size_t source_step(std::size_t t) const { return go_backwards_ ? steps_ - 1 - t : t; }

    /// x (batch, steps, features) into xt, time-major in the order the steps are read.
    void to_time_major(const tensor<T>& x, tensor<T>& xt) const {
        const std::size_t n = x.shape()[0];
        this->ensure_shape(xt, {steps_ * n, features_});
        for (std::size_t t = 0; t < steps_; ++t)
            for (std::size_t i = 0; i < n; ++i)
                std::copy_n(x.data() + (i * steps_ + source_step(t)) * features_, features_,
                            xt.data() + (t * n + i) * features_);
    }

    /// The time-major input gradient dxt into dx_, batch-major; returns dx_.
    const tensor<T>& from_time_major(const tensor<T>& dxt, std::size_t n) {
        this->ensure_shape(dx_, {n, steps_, features_});
        for (std::size_t t = 0; t < steps_; ++t)
            for (std::size_t i = 0; i < n; ++i)
                std::copy_n(dxt.data() + (t * n + i) * features_, features_,
                            dx_.data() + (i * steps_ + source_step(t)) * features_);
        return dx_;
    }

    /// The output from h ((steps + 1) batch rows of `units`: the initial state, then each
    /// step's), batch-major: every step's, or the last.
    const tensor<T>& output(const T* h, std::size_t n) {
        const std::size_t u = units_;
        if (return_sequences_) {
            this->ensure_shape(y_, {n, steps_, u});
            for (std::size_t t = 0; t < steps_; ++t)
                for (std::size_t i = 0; i < n; ++i)
                    std::copy_n(h + ((t + 1) * n + i) * u, u, y_.data() + (i * steps_ + t) * u);
        } else {
            this->ensure_shape(y_, {n, u});
            std::copy_n(h + steps_ * n * u, n * u, y_.data());
        }
        return y_;
    }

    /// Adds the output gradient dy's share at step t to dh (batch x units): every step's, or
    /// the last step's only. dh holds what step t + 1 sent back (zeros at the last step).
    void add_output_gradient(const tensor<T>& dy, std::size_t t, std::size_t n, T* dh) const {
        const std::size_t u = units_;
        if (!return_sequences_) {
            if (t + 1 == steps_)
                for (std::size_t k = 0; k < n * u; ++k) dh[k] += dy.data()[k];
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const T* d = dy.data() + (i * steps_ + t) * u;
            T* row = dh + i * u;
            for (std::size_t j = 0; j < u; ++j) row[j] += d[j];
        }
    }

    /// Writes the keys of Keras's RNN base class.
    void write_rnn_config(nlohmann::json& c) const {
        c["return_sequences"] = return_sequences_;
        c["return_state"] = false;
        c["go_backwards"] = go_backwards_;
        c["stateful"] = false;
        c["unroll"] = false;
        c["zero_output_for_mask"] = false;
    }

    /// Reads the keys of Keras's RNN base class and the dropouts, refusing what a Sequential
    /// cannot use or xkeras has not; the ones that change how Keras computes but not what are
    /// accepted.
    template <class Options>
    static void read_rnn_config(config::reader& r, Options& o) {
        o.return_sequences = r.get("return_sequences", false);
        o.go_backwards = r.get("go_backwards", false);
        r.expect("return_state", false);  // a Sequential cannot take several outputs
        r.expect("stateful", false);
        r.expect("time_major", false);
        r.expect("dropout", 0.0);
        r.expect("recurrent_dropout", 0.0);
        for (const char* k :
             {"unroll", "implementation", "use_cudnn", "zero_output_for_mask", "seed"})
            r.mark(k);
    }

    /// out[c] = the sum of column c of m (rows x cols), rows in order: the same bits on any
    /// number of threads (a bias's gradient over every step).
    static void column_sums(const T* m, std::size_t rows, std::size_t cols, T* out) {
        backend::parallel_ranges(cols, 64, [&](std::size_t c0, std::size_t c1) {
            std::fill(out + c0, out + c1, T(0));
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t c = c0; c < c1; ++c) out[c] += m[r * cols + c];
        });
    }

    /// Rows of a step per task of the pool: about 16K gate values each.
    std::size_t rows_per_task(std::size_t gates) const {
        return std::max<std::size_t>(1, 16384 / (gates * units_));
    }

    std::size_t units_;
    bool return_sequences_, go_backwards_;
    std::size_t steps_ = 0, features_ = 0;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers::detail
