// xkeras/training/data.hpp - what fit and evaluate read: checks of the data, the validation
// split, and the batches of an epoch in its order.
//
// `DataAdapter` is the interface the trainer reads batches through (Keras's DataAdapter and
// EpochIterator): a sample count, a batch size and, per epoch, batches in an order fixed by the
// epoch. `ArrayDataAdapter` serves rows of in-memory arrays; a sharded feed (each process its
// share of the samples) implements the same interface.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "../backend/rows.hpp"
#include "../config.hpp"
#include "../detail/random.hpp"
#include "../tensor.hpp"

namespace xkeras::training {

/// Throws value_error naming a's value at k: its sample and its position inside the sample.
/// `where` names the call ("model 'sequential': fit"), `what` the array ("x", "validation_data y").
template <class T>
[[noreturn]] void throw_nonfinite(const tensor<T>& a, std::size_t k, const std::string& where,
                                  const std::string& what) {
    const std::size_t row = a.dimension() > 1 ? a.size() / a.shape()[0] : 1;
    std::string position = "(";
    std::size_t rest = k % row;
    for (std::size_t d = 1; d < a.dimension(); ++d) {
        std::size_t inner = 1;
        for (std::size_t e = d + 1; e < a.dimension(); ++e) inner *= a.shape()[e];
        position += detail::cat(d > 1 ? ", " : "", rest / inner);
        rest %= inner;
    }
    position += ")";
    throw value_error(
        detail::cat(where, ": ", what, " contains ", double(a.data()[k]), " at sample ", k / row,
                    (a.dimension() > 1 ? detail::cat(", position ", position) : std::string()),
                    " (", what, " has shape ", shape_str(shape_of(a)),
                    "); the data must be finite: replace or drop the NaN / infinite values first"));
}

/// Throws value_error naming the first NaN or infinite value of `a` (see throw_nonfinite);
/// where() makes the call's name, only when thrown.
template <class T, class Where>
void check_finite(const tensor<T>& a, Where&& where, const std::string& what) {
    const std::size_t k = backend::first_nonfinite(a.data(), static_cast<T*>(nullptr), a.size());
    if (k < a.size()) throw_nonfinite(a, k, where(), what);
}

/// Checks x against the model's input shape, building the model from it when it is not built
/// yet; x must hold at least one sample unless `allow_empty` (predict). Messages are built only
/// when thrown: predict at batch 1 takes a few microseconds in all.
template <class Model, class T>
void prepare_input(Model& m, const tensor<T>& x, const char* who, bool allow_empty = false) {
    auto where = [&] { return detail::cat("model '", m.name(), "': ", who); };
    const bool built = m.built();
    if (!built && m.layers().empty()) throw state_error(where() + " on a model with no layers");
    if (x.dimension() < 2)
        throw shape_error(where() + " expects x with a batch axis, got shape " +
                          shape_str(shape_of(x)));
    if (x.shape()[0] == 0 && !allow_empty)
        throw value_error(detail::cat(where(), ": the data has 0 samples (x has shape ",
                                      shape_str(shape_of(x)), "); at least one sample is needed"));
    if (!built) return m.build(shape_t(x.shape().begin() + 1, x.shape().end()));
    const shape_t& in = m.input_shape();
    if (!std::equal(in.begin(), in.end(), x.shape().begin() + 1, x.shape().end()))
        throw shape_error(detail::cat(where(), " expects x of shape ", shape_str(in, true),
                                      ", got ", shape_str(shape_of(x))));
}

/// The number of training samples that `validation_split` of n leaves: Keras holds out the LAST
/// samples, before any shuffling. Throws value_error when either part would be empty.
inline std::size_t training_samples(std::size_t n, double validation_split) {
    if (validation_split <= 0.0) return n;
    const auto n_train = static_cast<std::size_t>(std::floor(double(n) * (1.0 - validation_split)));
    if (n_train == 0 || n_train == n)
        throw value_error(detail::cat("fit: validation_split=", validation_split, " of ", n,
                                      " samples leaves ", n_train, " for training and ",
                                      n - n_train, " for validation; both must be > 0"));
    return n_train;
}

/// Checks Keras's sample_weight for n samples: one finite weight per sample, of shape (n,) or
/// (n, 1). `where` names the call and `what` the array ("sample_weight").
template <class T>
void check_sample_weight(const tensor<T>& w, std::size_t n, const std::string& where,
                         const std::string& what) {
    const bool fits =
        (w.dimension() == 1 || (w.dimension() == 2 && w.shape()[1] == 1)) && w.shape()[0] == n;
    if (!fits)
        throw shape_error(detail::cat(where, ": ", what, " has shape ", shape_str(shape_of(w)),
                                      "; expected one weight per sample, (", n, ",) or (", n,
                                      ", 1)"));
    check_finite(
        w, [&] { return where; }, what);
}

/// Keras's sample weights from class_weight for targets y: a sample's class is its label,
/// rounded (targets (n,) or (n, 1)), or the index of its largest target (one-hot, (n, classes));
/// a class that class_weight does not name weighs 1.
template <class T>
tensor<T> class_sample_weights(const tensor<T>& y, const std::map<int, double>& class_weight,
                               const std::string& where) {
    if (y.dimension() == 0 || y.dimension() > 2)
        throw shape_error(detail::cat(where, ": class_weight needs targets of shape (samples,), ",
                                      "(samples, 1) or (samples, classes), got ",
                                      shape_str(shape_of(y))));
    for (const auto& [c, weight] : class_weight)
        if (!std::isfinite(weight))
            throw value_error(detail::cat(where, ": class_weight of class ", c, " is ", weight,
                                          "; weights must be finite"));
    const std::size_t n = y.shape()[0], row = n ? y.size() / n : 1;
    tensor<T> w = tensor<T>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        const T* r = y.data() + i * row;
        const double label =
            row == 1 ? std::round(double(*r)) : double(std::max_element(r, r + row) - r);
        const auto it = label >= double(INT_MIN) && label <= double(INT_MAX)
                            ? class_weight.find(int(label))
                            : class_weight.end();
        w(i) = static_cast<T>(it == class_weight.end() ? 1.0 : it->second);
    }
    return w;
}

/// Where the trainer reads (x, y) batches from (see the file comment).
template <class T>
class DataAdapter {
  public:
    virtual ~DataAdapter() = default;

    /// The samples of one epoch.
    virtual std::size_t num_samples() const = 0;
    /// The samples per batch; the last batch of an epoch may hold fewer.
    virtual std::size_t batch_size() const = 0;
    /// The shape of one sample's targets (batch axis excluded): the metrics' kinds follow it.
    virtual shape_t target_shape() const = 0;
    /// Batches per epoch (written so that no batch size can make it wrap).
    std::size_t num_batches() const {
        return num_samples() / batch_size() + (num_samples() % batch_size() != 0);
    }
    /// Whether the samples have weights (Keras's sample_weight): get_batch then gives them.
    virtual bool has_sample_weights() const { return false; }
    /// Fixes the order of epoch `epoch`'s batches; the same epoch gives the same order.
    virtual void on_epoch_begin(int /*epoch*/) {}
    /// The samples of batch `step`.
    std::size_t batch_rows(std::size_t step) const {
        return std::min(batch_size(), num_samples() - step * batch_size());
    }
    /// Fills x and y with rows [first, first + count) of batch `step` of the current epoch (a
    /// process's share of a global batch), and w with their weights when the data has them;
    /// first + count <= batch_rows(step).
    virtual void get_rows(std::size_t step, std::size_t first, std::size_t count, tensor<T>& x,
                          tensor<T>& y, tensor<T>& w) = 0;
    /// Fills x, y (and w) with all of batch `step`; returns its sample count.
    std::size_t get_batch(std::size_t step, tensor<T>& x, tensor<T>& y, tensor<T>& w) {
        const std::size_t n = batch_rows(step);
        get_rows(step, 0, n, x, y, w);
        return n;
    }
};

/// Rows [begin, end) of in-memory arrays x and y (and the samples' weights w, when not null), in
/// batches of `batch_size`, in their own order or shuffled each epoch: epoch e's order depends on
/// (seed, e) only, so a run resumed from a saved model sees the order an uninterrupted run would.
/// The arrays must outlive the adapter.
template <class T>
class ArrayDataAdapter : public DataAdapter<T> {
  public:
    ArrayDataAdapter(const tensor<T>& x, const tensor<T>& y, std::size_t begin, std::size_t end,
                     std::size_t batch_size, bool shuffle = false, std::uint64_t seed = 0,
                     const tensor<T>* w = nullptr)
        : x_(x), y_(y), w_(w), begin_(begin), end_(end), batch_(batch_size), seed_(seed) {
        if (shuffle) order_.resize(end - begin);
    }

    bool has_sample_weights() const override { return w_ != nullptr; }

    std::size_t num_samples() const override { return end_ - begin_; }
    std::size_t batch_size() const override { return batch_; }
    shape_t target_shape() const override {
        return shape_t(y_.shape().begin() + 1, y_.shape().end());
    }

    void on_epoch_begin(int epoch) override {
        if (order_.empty()) return;
        std::iota(order_.begin(), order_.end(), begin_);
        detail::rng gen(detail::splitmix64(seed_ ^ detail::splitmix64(std::uint64_t(epoch))));
        for (std::size_t i = order_.size(); i > 1; --i)
            std::swap(order_[i - 1], order_[gen.below(i)]);
    }

    void get_rows(std::size_t step, std::size_t first, std::size_t count, tensor<T>& x,
                  tensor<T>& y, tensor<T>& w) override {
        const std::size_t s = step * batch_ + first;
        if (order_.empty()) {
            backend::copy_rows(x_, begin_ + s, count, x);
            backend::copy_rows(y_, begin_ + s, count, y);
            if (w_) backend::copy_rows(*w_, begin_ + s, count, w);
        } else {
            backend::gather_rows(x_, order_.data() + s, count, x);
            backend::gather_rows(y_, order_.data() + s, count, y);
            if (w_) backend::gather_rows(*w_, order_.data() + s, count, w);
        }
    }

  private:
    const tensor<T>& x_;
    const tensor<T>& y_;
    const tensor<T>* w_;
    std::size_t begin_, end_, batch_;
    std::uint64_t seed_;
    std::vector<std::size_t> order_;  ///< the epoch's rows when shuffling, else empty
};

}  // namespace xkeras::training
