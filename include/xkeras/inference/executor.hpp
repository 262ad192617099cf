// xkeras/inference/executor.hpp - predict, and the model's forward pass.
//
// The model owns one Executor. Its forward pass runs the layers in order (inference/forward.hpp).
// predict runs the data batch by batch; a small model (the MLPs) runs a slice of each batch per
// thread instead, each thread with its own copy of the layers (detail/layer_replicas.hpp), so
// that a batch crosses between the cores once.
// Past max_replica_values the layers' own splitting over the threads stays: their work per batch is
// long enough to pay for it, and copies would hold tens of MB of activations.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "../backend/parallel.hpp"
#include "../backend/rows.hpp"
#include "../config.hpp"
#include "../detail/layer_replicas.hpp"
#include "../layers/layer.hpp"
#include "../tensor.hpp"
#include "../training/data.hpp"
#include "forward.hpp"

namespace xkeras {

template <class T>
class basic_sequential;

namespace inference {

template <class T>
class Executor {
  public:
    using model_type = basic_sequential<T>;
    using layer_list = std::vector<std::unique_ptr<layers::Layer<T>>>;

    /// x through `layers` (inference/forward.hpp); the result is valid until the next pass.
    static const tensor<T>& forward(layer_list& layers, const tensor<T>& x, bool training,
                                    const tensor<T>** output_mask = nullptr,
                                    const tensor<T>* input_mask = nullptr) {
        return inference::forward(layers, x, training, output_mask, input_mask);
    }

    /// The model's output for x, batch by batch, in inference mode (basic_sequential::predict).
    tensor<T> predict(model_type& m, const tensor<T>& x, std::size_t batch_size);

    /// Drops the copies of the layers (the model's layers changed).
    void layers_changed() { replicas_.clear(); }

  private:
    /// A slice of a batch has at least this many rows...
    static constexpr std::size_t min_slice_rows = 32;
    /// ...and the per-slice route runs when a sample's activations (every layer's output) take
    /// at most this many values (see the file comment).
    static constexpr std::size_t max_replica_values = std::size_t(1) << 14;

    /// The number of slices predict splits a batch of `rows` into: 1 (the per-layer route)
    /// unless the pool has threads to spare, the model is small and its layers can be copied.
    std::size_t slices_for(layer_list& layers, std::size_t rows) {
        const std::size_t slices =
            std::min(std::size_t(backend::pool_size()), rows / min_slice_rows);
        if (slices < 2) return 1;
        std::size_t values = 0;
        for (const auto& l : layers) values += shape_size(l->output_shape());
        if (values > max_replica_values) return 1;
        return replicas_.sync(layers, slices - 1) ? slices : 1;
    }

    /// Runs rows [begin, begin + rows) of x through the layers in `slices` slices, one per
    /// thread (the model's own layers take the first) into the same rows of `out`. Returns the
    /// index in x of the first NaN or infinite value among those rows, x.size() if none.
    std::size_t predict_sliced(layer_list& layers, const tensor<T>& x, std::size_t begin,
                               std::size_t rows, std::size_t slices, tensor<T>& out) {
        const std::size_t row = out.size() / out.shape()[0];
        std::atomic<std::size_t> first{x.size()};
        backend::parallel_for(slices, [&](std::size_t t, int) {
            const std::size_t b = begin + rows * t / slices, e = begin + rows * (t + 1) / slices;
            auto& own = t == 0 ? layers : replicas_.layers(t - 1);
            tensor<T>& in = t == 0 ? x_ : replicas_.input(t - 1);
            if (const std::size_t k = backend::copy_rows(x, b, e - b, in); k < x.size()) {
                backend::keep_smallest(first, k);
                return;
            }
            const tensor<T>& h = forward(own, in, false);
            std::copy_n(h.data(), (e - b) * row, out.data() + b * row);
        });
        return first.load();
    }

    tensor<T> x_;  ///< the current batch
    detail::layer_replicas<T> replicas_;
};

template <class T>
tensor<T> Executor<T>::predict(model_type& m, const tensor<T>& x, std::size_t batch_size) {
    auto lock = m.lock_.hold();
    if (batch_size == 0) throw value_error("predict: batch_size must be >= 1, got 0");
    training::prepare_input(m, x, "predict", true);  // 0 samples give an empty (0, ...) result
    const std::size_t n = x.shape()[0];
    shape_t out_shape = m.output_shape();
    out_shape.insert(out_shape.begin(), n);
    tensor<T> out(out_shape);
    const std::size_t row = shape_size(m.output_shape());
    const std::size_t slices = slices_for(m.layers_, std::min(batch_size, n));
    auto bad_value = [&](std::size_t k) {  // the message is made only when thrown
        training::throw_nonfinite(x, k, detail::cat("model '", m.name(), "': predict"), "x");
    };
    for (std::size_t s = 0; s < n; s += std::min(batch_size, n - s)) {
        const std::size_t bn = std::min(batch_size, n - s);
        // the batch's copy and the check for NaN / infinite values in one pass: at most the
        // batches before a bad one are computed, and nothing of them is returned
        if (const std::size_t parts = std::min(slices, bn / min_slice_rows); parts > 1) {
            if (const std::size_t k = predict_sliced(m.layers_, x, s, bn, parts, out); k < x.size())
                bad_value(k);
            continue;
        }
        if (const std::size_t k = backend::copy_rows(x, s, bn, x_); k < x.size()) bad_value(k);
        const tensor<T>& y = forward(m.layers_, x_, false);
        std::copy_n(y.data(), bn * row, out.data() + s * row);
    }
    return out;
}

}  // namespace inference
}  // namespace xkeras
