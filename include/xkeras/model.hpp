// xkeras/model.hpp - basic_sequential<T> / Sequential: Keras's Sequential model.
//
//   xkeras::Sequential model;
//   model.add(xkeras::layers::Dense(512, {.activation = "relu", .input_shape = {784}}));
//   model.add(xkeras::layers::Dense(10, "softmax"));
//   model.compile("adam", "categorical_crossentropy", {"accuracy"});
//   auto history = model.fit(x, y, {.batch_size = 128, .epochs = 30});
//   auto scores = model.evaluate(x_test, y_test, {.verbose = 0});  // {loss, accuracy}
//
// Semantics follow Keras 3: see docs/api/model.md for every default.
#pragma once

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <concepts>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "backend/parallel.hpp"
#include "callbacks/callback.hpp"
#include "callbacks/history.hpp"
#include "callbacks/progbar_logger.hpp"
#include "config.hpp"
#include "detail/format.hpp"
#include "detail/layer_replicas.hpp"
#include "detail/random.hpp"
#include "layers/input_layer.hpp"
#include "layers/layer.hpp"
#include "losses.hpp"
#include "metrics.hpp"
#include "optimizers.hpp"
#include "tensor.hpp"

namespace xkeras {

/// Options of fit(); every default is Keras's.
template <class T>
struct fit_options {
    std::size_t batch_size = 32;
    int epochs = 1;
    int verbose = 1;  ///< 0 silent, 1 progress bar, 2 one line per epoch.
    std::vector<std::shared_ptr<callbacks::Callback<T>>> callbacks{};
    /// Fraction of the data held out for validation: the LAST samples, taken before shuffling.
    double validation_split = 0.0;
    /// (x_val, y_val); overrides validation_split. `.validation_data = std::pair{x, y}`.
    std::optional<std::pair<tensor<T>, tensor<T>>> validation_data{};
    bool shuffle = true;  ///< Reshuffle the training samples every epoch.
    int initial_epoch = 0;
};

/// Options of evaluate().
template <class T>
struct evaluate_options {
    std::size_t batch_size = 32;
    int verbose = 1;
    std::vector<std::shared_ptr<callbacks::Callback<T>>> callbacks{};
};

/// An optimizer given to compile(): a name ("adam") or an optimizer object (Adam(1e-3)).
template <class T>
class optimizer_arg {
  public:
    optimizer_arg(const char* name) : ptr_(optimizers::get<T>(name)) {}         // NOLINT
    optimizer_arg(const std::string& name) : ptr_(optimizers::get<T>(name)) {}  // NOLINT
    template <class O>
    requires std::derived_from<std::decay_t<O>, optimizers::Optimizer<T>> optimizer_arg(
        O&& o)  // NOLINT
        : ptr_(std::make_unique<std::decay_t<O>>(std::forward<O>(o))) {}
    optimizer_arg(std::unique_ptr<optimizers::Optimizer<T>> p) : ptr_(std::move(p)) {}  // NOLINT
    std::unique_ptr<optimizers::Optimizer<T>> release() { return std::move(ptr_); }

  private:
    std::unique_ptr<optimizers::Optimizer<T>> ptr_;
};

/// A loss given to compile(): a name ("categorical_crossentropy") or a loss object.
template <class T>
class loss_arg {
  public:
    loss_arg(const char* name) : ptr_(losses::get<T>(name)) {}         // NOLINT
    loss_arg(const std::string& name) : ptr_(losses::get<T>(name)) {}  // NOLINT
    template <class L>
    requires std::derived_from<std::decay_t<L>, losses::Loss<T>> loss_arg(L&& l)  // NOLINT
        : ptr_(std::make_unique<std::decay_t<L>>(std::forward<L>(l))) {}
    loss_arg(std::unique_ptr<losses::Loss<T>> p) : ptr_(std::move(p)) {}  // NOLINT
    std::unique_ptr<losses::Loss<T>> release() { return std::move(ptr_); }

  private:
    std::unique_ptr<losses::Loss<T>> ptr_;
};

namespace detail {

/// The lock that serialises calls on one model (see basic_sequential's comment). Moving a model
/// gives the new one a lock of its own: a mutex cannot move, and a lock held during a move
/// would be a bug in the caller anyway.
struct model_lock {
    std::recursive_mutex mutex;
    model_lock() = default;
    model_lock(model_lock&&) noexcept {}
    model_lock& operator=(model_lock&&) noexcept { return *this; }
    std::unique_lock<std::recursive_mutex> hold() { return std::unique_lock(mutex); }
};

}  // namespace detail

/// A linear stack of layers. `T` is the scalar type; `Sequential` is basic_sequential<float>.
///
/// Threads: fit, evaluate, predict, train_on_batch, test_on_batch, get_weights, set_weights,
/// save, save_weights and load_weights may be called on one model from several threads; the
/// model runs them one at a time (each call holds the model's lock, re-entrant, so a callback
/// may call them during fit). Each call still uses all of the thread pool. Changing the model
/// itself (add, compile, build) while another thread uses it is not supported. Different
/// models may be used from different threads at the same time.
template <class T>
class basic_sequential {
  public:
    using value_type = T;
    using layer_type = layers::Layer<T>;

    /// Set by a callback to stop fit after the current batch.
    bool stop_training = false;

    /// `name` defaults to Keras's automatic "sequential", "sequential_1", ...
    explicit basic_sequential(std::string name = {})
        : name_(name.empty() ? layers::detail::unique_name("sequential") : std::move(name)) {}

    basic_sequential(const basic_sequential&) = delete;
    basic_sequential& operator=(const basic_sequential&) = delete;
    basic_sequential(basic_sequential&&) noexcept = default;
    basic_sequential& operator=(basic_sequential&&) noexcept = default;

    const std::string& name() const { return name_; }

    // ---- building ---------------------------------------------------------------------------

    /// Adds a layer at the end. The first layer may carry `input_shape`; then the model is
    /// built at once (otherwise at the first fit / predict / build call).
    template <class L>
    requires std::derived_from<std::decay_t<L>, layer_type>
    void add(L&& layer) {
        add(std::unique_ptr<layer_type>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))));
    }

    /// Adds a layer and declares the model's input shape (Keras's `input_shape=`).
    template <class L>
    requires std::derived_from<std::decay_t<L>, layer_type>
    void add(L&& layer, shape_t input_shape) {
        if (!layers_.empty())
            throw value_error(detail::cat("model '", name_,
                                          "': an input shape can only be given with the first "
                                          "layer; the model already has ",
                                          layers_.size(), " layer(s)"));
        input_shape_ = std::move(input_shape);
        add(std::forward<L>(layer));
    }

    void add(std::unique_ptr<layer_type> layer) {
        if (!layer) throw value_error(detail::cat("model '", name_, "': add() got a null layer"));
        for (const auto& l : layers_)
            if (l->name() == layer->name())
                throw value_error(detail::cat("model '", name_,
                                              "': all layers must have unique names; '",
                                              layer->name(), "' is already in the model"));
        // As in Keras, `input_shape` counts on the first layer only; later layers' are ignored
        // (E1's tutorial passes input_shape=[28, 28, 1] to all three of its Conv2D layers).
        if (layers_.empty() && !input_shape_ && !layer->declared_input_shape().empty())
            input_shape_ = layer->declared_input_shape();
        if (input_shape_) {
            // Build the new layer on the previous output, so shape errors show up at add()
            // and a layer that does not fit is not added.
            layer->build(layers_.empty() ? *input_shape_ : layers_.back()->output_shape());
        }
        layers_.push_back(std::move(layer));
        replicas_.clear();
        collect_params();
        configure_fusion();
    }

    /// Keras's `keras.Input(shape)` / InputLayer as the first element.
    void add(const layers::InputLayer& input) {
        if (!layers_.empty() || input_shape_)
            throw value_error(
                detail::cat("model '", name_, "': an InputLayer must come first and only once"));
        if (input.shape.empty())
            throw value_error(detail::cat("model '", name_, "': InputLayer needs a shape"));
        input_shape_ = input.shape;
    }

    /// Builds every layer for `input_shape` (batch axis excluded).
    void build(const shape_t& input_shape) {
        if (layers_.empty())
            throw state_error(detail::cat("model '", name_, "' has no layers to build"));
        if (built() && *input_shape_ == input_shape) return;
        if (built())
            throw shape_error(detail::cat("model '", name_, "' is built for input shape ",
                                          shape_str(*input_shape_, true), ", got ",
                                          shape_str(input_shape, true)));
        shape_t s = input_shape;
        for (auto& l : layers_) {
            l->build(s);
            s = l->output_shape();
        }
        input_shape_ = input_shape;
        replicas_.clear();
        collect_params();
        configure_fusion();
    }

    bool built() const { return !layers_.empty() && layers_.back()->built(); }

    /// Input shape (batch excluded); empty until known.
    shape_t input_shape() const { return input_shape_.value_or(shape_t{}); }
    /// Output shape (batch excluded); requires a built model.
    const shape_t& output_shape() const {
        require_built("output_shape");
        return layers_.back()->output_shape();
    }

    /// The layers, in order (an InputLayer is not one of them, as in Keras 3).
    std::vector<layer_type*> layers() const {
        std::vector<layer_type*> out;
        for (const auto& l : layers_) out.push_back(l.get());
        return out;
    }
    /// The layer named `name`; throws value_error listing the names when absent.
    layer_type& get_layer(const std::string& name) const {
        std::string names;
        for (const auto& l : layers_) {
            if (l->name() == name) return *l;
            names += (names.empty() ? "" : ", ") + l->name();
        }
        throw value_error(
            detail::cat("model '", name_, "' has no layer '", name, "'; layers: ", names));
    }

    // ---- weights ----------------------------------------------------------------------------

    std::size_t count_params() const {
        require_built("count_params");
        std::size_t n = 0;
        for (const auto& l : layers_) n += l->count_params();
        return n;
    }

    /// All weights, layer by layer, in Keras order and shapes.
    std::vector<tensor<T>> get_weights() const {
        auto guard = lock_.hold();
        require_built("get_weights");
        std::vector<tensor<T>> out;
        for (const auto& l : layers_)
            for (auto& w : l->get_weights()) out.push_back(std::move(w));
        return out;
    }

    /// Sets all weights from get_weights()'s layout; checks the count and every shape first.
    void set_weights(const std::vector<tensor<T>>& weights) {
        auto guard = lock_.hold();
        require_built("set_weights");
        std::size_t total = 0;
        for (const auto& l : layers_) total += l->params().size();
        if (weights.size() != total)
            throw value_error(detail::cat("model '", name_, "' has ", total,
                                          " weight tensors, set_weights got ", weights.size()));
        std::size_t i = 0;
        std::vector<std::vector<tensor<T>>> per_layer;
        for (const auto& l : layers_) {
            std::size_t k = l->params().size();
            per_layer.emplace_back(weights.begin() + std::ptrdiff_t(i),
                                   weights.begin() + std::ptrdiff_t(i + k));
            // Check every layer before changing any, so a bad list changes nothing.
            auto ps = l->params();
            for (std::size_t j = 0; j < k; ++j)
                if (shape_of(weights[i + j]) != shape_of(ps[j]->value))
                    throw shape_error(detail::cat("model '", name_, "', layer '", l->name(),
                                                  "': weight '", ps[j]->name, "' has shape ",
                                                  shape_str(shape_of(ps[j]->value)), ", got ",
                                                  shape_str(shape_of(weights[i + j]))));
            i += k;
        }
        for (std::size_t l = 0; l < layers_.size(); ++l) layers_[l]->set_weights(per_layer[l]);
    }

    // ---- summary ----------------------------------------------------------------------------

    /// Prints Keras 3's summary table. `line_length` defaults to min(88, terminal columns - 4)
    /// on a terminal and 76 otherwise, as Keras.
    void summary(std::ostream& os = std::cout, int line_length = -1) const {
        os << summary_string(line_length);
    }

    std::string summary_string(int line_length = -1) const;

    // ---- saving (io/model_json.hpp, io/model_file.hpp) ---------------------------------------

    /// The architecture (and compile config) as Keras 3's JSON; `indent` < 0: one line.
    std::string to_json(int indent = -1) const;
    /// Saves architecture, weights, compile config and optimizer state to one file, atomically.
    void save(const std::filesystem::path& path) const;
    /// Saves the weights only (loaded by load_weights into a model of the same layers).
    void save_weights(const std::filesystem::path& path) const;
    /// Loads weights saved by save_weights or save, matched by layer class and position
    /// ("dense_1/kernel"); a missing weight or a different shape changes nothing and throws.
    void load_weights(const std::filesystem::path& path);

    // ---- training ---------------------------------------------------------------------------

    /// Configures the model for training. `metrics`: "accuracy" (resolved like Keras from the
    /// shapes), "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy", "mse",
    /// "mae".
    void compile(optimizer_arg<T> optimizer = "rmsprop",
                 loss_arg<T> loss = "categorical_crossentropy",
                 std::vector<std::string> metrics = {}) {
        auto opt = optimizer.release();
        auto l = loss.release();
        std::set<std::string> seen;
        for (const auto& m : metrics) {
            metrics::check_name(m);
            if (!seen.insert(m).second || m == "loss")
                throw value_error(detail::cat("compile: metric '", m, "' is given twice"));
        }
        optimizer_ = std::move(opt);
        loss_ = std::move(l);
        shuffle_seed_ = detail::next_seed();
        metric_names_ = std::move(metrics);
        metrics_.clear();
        configure_fusion();
    }

    bool compiled() const { return loss_ != nullptr; }
    optimizers::Optimizer<T>& optimizer() const {
        require_compiled("optimizer");
        return *optimizer_;
    }
    const losses::Loss<T>& loss() const {
        require_compiled("loss");
        return *loss_;
    }
    /// The compiled metric names, as given.
    const std::vector<std::string>& metric_names() const { return metric_names_; }

    /// Trains for `epochs` epochs; returns the History (per-epoch logs). x and y must be finite
    /// and hold at least one sample (value_error naming the first bad value otherwise); a NaN /
    /// infinite training loss throws numerical_error before that batch's update (see
    /// docs/api/model.md, "Faults and edge cases"). epochs <= initial_epoch trains nothing.
    callbacks::History<T> fit(const tensor<T>& x, const tensor<T>& y, const fit_options<T>& o = {});

    /// Returns {loss, metric 1, ...} over the whole dataset (regularization penalties included
    /// in the loss, as Keras).
    std::vector<double> evaluate(const tensor<T>& x, const tensor<T>& y,
                                 const evaluate_options<T>& o = {});

    /// The model's output for `x`, batch by batch, in inference mode. x must be finite; 0 samples
    /// give an empty (0, outputs...) result. A small model runs a slice of each batch per thread,
    /// each with its own copy of the layers (predict_slices; docs/api/model.md, "Threads").
    tensor<T> predict(const tensor<T>& x, std::size_t batch_size = 32);

    /// One optimizer step on one batch; returns {loss, metrics...} of that batch.
    std::vector<double> train_on_batch(const tensor<T>& x, const tensor<T>& y);
    /// Loss and metrics of one batch, in inference mode.
    std::vector<double> test_on_batch(const tensor<T>& x, const tensor<T>& y);

    /// Forward pass of a whole batch (training mode enables dropout); the reference is valid
    /// until the next call.
    const tensor<T>& forward(const tensor<T>& x, bool training) {
        return run_layers(layers_, x, training);
    }

    /// The seed of fit's shuffling: epoch e's order depends on (seed, e) only, so a model saved
    /// after epoch e and loaded again resumes with the order an uninterrupted run would use.
    std::uint64_t shuffle_seed() const { return shuffle_seed_; }
    void set_shuffle_seed(std::uint64_t s) { shuffle_seed_ = s; }

    /// Trainable parameters (those of trainable layers), in layer order.
    const std::vector<layers::Param<T>*>& trainable_params() const { return trainable_; }

  private:
    struct batch_state {
        tensor<T> x, y, grad;
    };

    void shuffle_order(std::vector<std::size_t>& order, int epoch) const {
        std::iota(order.begin(), order.end(), std::size_t(0));
        detail::rng gen(
            detail::splitmix64(shuffle_seed_ ^ detail::splitmix64(std::uint64_t(epoch))));
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
    }

    void require_built(const char* what) const {
        if (!built())
            throw state_error(detail::cat(
                "model '", name_, "': ", what,
                " needs a built model; give the first layer an input_shape, add an InputLayer, "
                "or call build(), fit() or predict() first"));
    }
    void require_compiled(const char* what) const {
        if (!compiled())
            throw state_error(detail::cat("model '", name_, "': ", what,
                                          " needs a compiled model; call compile() first"));
    }

    void collect_params() {
        trainable_.clear();
        state_.clear();
        for (auto& l : layers_)
            for (auto* p : l->params()) {
                if (l->trainable && p->trainable) trainable_.push_back(p);
                if (!p->trainable) state_.push_back(p);
            }
        state_backup_.resize(state_.size());
    }

    /// Fuses the last activation with the loss when both allow it (softmax + crossentropy).
    void configure_fusion() {
        fused_ = false;
        if (layers_.empty()) return;
        auto& last = *layers_.back();
        fused_ = loss_ && loss_->fuses_with(last.output_activation());
        last.set_output_logits(fused_);
        for (std::size_t i = 0; i + 1 < layers_.size(); ++i) layers_[i]->set_output_logits(false);
    }

    /// Builds from the data when needed and checks x against the input shape; x must hold at
    /// least one sample unless `allow_empty` (predict).
    void prepare_input(const tensor<T>& x, const char* who, bool allow_empty = false) {
        if (layers_.empty())
            throw state_error(
                detail::cat("model '", name_, "': ", who, " on a model with no layers"));
        if (x.dimension() < 2)
            throw shape_error(detail::cat("model '", name_, "': ", who,
                                          " expects x with a batch axis, got shape ",
                                          shape_str(shape_of(x))));
        if (x.shape()[0] == 0 && !allow_empty)
            throw value_error(
                detail::cat("model '", name_, "': ", who, ": the data has 0 samples (x has shape ",
                            shape_str(shape_of(x)), "); at least one sample is needed"));
        shape_t sample(x.shape().begin() + 1, x.shape().end());
        if (!built()) {
            build(sample);
            return;
        }
        if (sample != *input_shape_)
            throw shape_error(detail::cat("model '", name_, "': ", who, " expects x of shape ",
                                          shape_str(*input_shape_, true), ", got ",
                                          shape_str(shape_of(x))));
    }

    /// Checks x and y (`prefix` "validation_data " names the validation pair): finite, as many
    /// samples each, targets that fit the loss and the output.
    void check_xy(const tensor<T>& x, const tensor<T>& y, const char* who,
                  const std::string& prefix = "") {
        check_finite(x, who, prefix + "x");
        check_finite(y, who, prefix + "y");
        const std::string what = prefix + "x";
        if (y.dimension() == 0 || y.shape()[0] != x.shape()[0])
            throw shape_error(detail::cat(
                "model '", name_, "': ", who, ": ", what, " has ", x.shape()[0],
                " samples but its targets have ", y.dimension() ? y.shape()[0] : 0, " (shapes ",
                shape_str(shape_of(x)), " and ", shape_str(shape_of(y)), ")"));
        loss_->check_targets(y, output_shape());
    }

    /// Throws value_error naming the first NaN or infinite value of `a` (`what`: "x", "y",
    /// "validation_data x", ...): its sample and its position inside the sample. One pass that
    /// vectorises; the position is looked for only once something was found.
    void check_finite(const tensor<T>& a, const char* who, const std::string& what) const {
        const std::size_t k = first_nonfinite(a.data(), nullptr, a.size());
        if (k < a.size()) throw_nonfinite(a, k, who, what);
    }
    /// Copies n values from `from` to `to` (nullptr: none) and returns the index of the first
    /// NaN or infinite one, n if none: a scan that vectorises, spread over the threads, each
    /// checking blocks of its range as it copies them (while they are in L1).
    static std::size_t first_nonfinite(const T* from, T* to, std::size_t n) {
        const T big = std::numeric_limits<T>::max();
        constexpr std::size_t block = 1024;
        std::atomic<std::size_t> first{n};
        backend::parallel_ranges(n, copy_grain, [&](std::size_t i, std::size_t end) {
            int count = 0;
            for (; count == 0 && i < end; i += block) {
                const std::size_t m = std::min(block, end - i);
                if (to != nullptr) std::copy_n(from + i, m, to + i);
                if (m == block)  // a fixed count vectorises without a remainder loop
                    for (std::size_t j = 0; j < block; ++j)
                        count += !(std::abs(from[i + j]) <= big);
                else
                    for (std::size_t j = i; j < i + m; ++j) count += !(std::abs(from[j]) <= big);
                if (count != 0) {
                    std::size_t k = i;
                    while (std::abs(from[k]) <= big) ++k;
                    for (std::size_t seen = first.load(); k < seen;)
                        if (first.compare_exchange_weak(seen, k)) break;
                }
            }
        });
        return first.load();
    }
    /// Throws value_error naming a's value at k: its sample and its position inside the sample.
    [[noreturn]] void throw_nonfinite(const tensor<T>& a, std::size_t k, const char* who,
                                      const std::string& what) const {
        const T* p = a.data();
        const std::size_t n = a.size();
        const std::size_t row = a.dimension() > 1 ? n / a.shape()[0] : 1;
        std::string where = "(";
        std::size_t rest = k % row;
        for (std::size_t d = 1; d < a.dimension(); ++d) {
            std::size_t inner = 1;
            for (std::size_t e = d + 1; e < a.dimension(); ++e) inner *= a.shape()[e];
            where += detail::cat(d > 1 ? ", " : "", rest / inner);
            rest %= inner;
        }
        where += ")";
        throw value_error(detail::cat(
            "model '", name_, "': ", who, ": ", what, " contains ", double(p[k]), " at sample ",
            k / row, (a.dimension() > 1 ? detail::cat(", position ", where) : std::string()), " (",
            what, " has shape ", shape_str(shape_of(a)),
            "); the data must be finite: replace or drop the NaN / infinite values first"));
    }

    void make_metrics(const tensor<T>& y) {
        shape_t ys = shape_of(y), ps = output_shape();
        ps.insert(ps.begin(), ys[0]);
        metrics_.clear();
        for (const auto& m : metric_names_) metrics_.push_back(metrics::get<T>(m, ys, ps));
    }

    /// Gives `dst` src's shape with n rows (keeping its buffer when it has it already); returns
    /// the values per row.
    static std::size_t resize_rows(const tensor<T>& src, std::size_t n, tensor<T>& dst) {
        shape_t s = shape_of(src);
        const std::size_t row = src.size() / s[0];
        s[0] = n;
        if (dst.dimension() != s.size() || !std::equal(s.begin(), s.end(), dst.shape().begin()))
            dst.resize(s);
        return row;
    }
    /// Copies rows idx[0..n) of `src` into `dst` (resized to (n, ...)).
    static void gather(const tensor<T>& src, const std::size_t* idx, std::size_t n,
                       tensor<T>& dst) {
        const std::size_t row = resize_rows(src, n, dst);
        backend::parallel_ranges(
            n, copy_grain / std::max<std::size_t>(row, 1), [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i)
                    std::copy_n(src.data() + idx[i] * row, row, dst.data() + i * row);
            });
    }
    /// Copies rows [begin, begin + n) of `src` into `dst` and returns the index in src of the
    /// first NaN or infinite value among them, src.size() if none.
    static std::size_t slice(const tensor<T>& src, std::size_t begin, std::size_t n,
                             tensor<T>& dst) {
        const std::size_t row = resize_rows(src, n, dst);
        const std::size_t k = first_nonfinite(src.data() + begin * row, dst.data(), n * row);
        return k < n * row ? begin * row + k : src.size();
    }
    /// Values copied or scanned per thread at the least: 256 KiB of floats, about 10 us.
    static constexpr std::size_t copy_grain = std::size_t(1) << 16;

    /// predict's data-parallel route: each thread runs the whole forward pass on a slice of the
    /// batch of at least this many rows, with its own copy of the layers...
    static constexpr std::size_t min_slice_rows = 32;
    /// ...when a sample's activations (every layer's output) take at most this many values. Up
    /// to there (the MLPs) a layer's work on a batch is short and each hand-over between the
    /// threads costs a large share of it; past it (the CNNs) the layers' own splitting stays,
    /// and copies of the layers would hold tens of MB of activations.
    static constexpr std::size_t max_replica_values = std::size_t(1) << 14;

    /// The number of slices predict splits a batch of `rows` into: 1 (the per-layer route)
    /// unless the pool has threads to spare, the model is small and its layers can be copied.
    std::size_t predict_slices(std::size_t rows) {
        const std::size_t slices =
            std::min(std::size_t(backend::pool_size()), rows / min_slice_rows);
        if (slices < 2) return 1;
        std::size_t values = 0;
        for (const auto& l : layers_) values += shape_size(l->output_shape());
        if (values > max_replica_values) return 1;
        return replicas_.sync(layers_, slices - 1) ? slices : 1;
    }

    /// Runs rows [begin, begin + rows) of x through the layers in `slices` slices, one per
    /// thread (the model's own layers take the first) into the same rows of `out`. Returns the
    /// index in x of the first NaN or infinite value among those rows, x.size() if none.
    std::size_t predict_sliced(const tensor<T>& x, std::size_t begin, std::size_t rows,
                               std::size_t slices, tensor<T>& out) {
        const std::size_t row = shape_size(output_shape());
        std::atomic<std::size_t> first{x.size()};
        backend::parallel_for(slices, [&](std::size_t t, int) {
            const std::size_t b = begin + rows * t / slices, e = begin + rows * (t + 1) / slices;
            auto& layers = t == 0 ? layers_ : replicas_.layers(t - 1);
            tensor<T>& in = t == 0 ? eval_.x : replicas_.input(t - 1);
            if (const std::size_t k = slice(x, b, e - b, in); k < x.size()) {
                for (std::size_t seen = first.load(); k < seen;)
                    if (first.compare_exchange_weak(seen, k)) break;
                return;
            }
            const tensor<T>& h = run_layers(layers, in, false);
            std::copy_n(h.data(), (e - b) * row, out.data() + b * row);
        });
        return first.load();
    }

    /// x through `layers`. At inference a layer may run the one after it in the same pass
    /// (Layer::forward_fused: a convolution and the pooling after it).
    static const tensor<T>& run_layers(std::vector<std::unique_ptr<layer_type>>& layers,
                                       const tensor<T>& x, bool training) {
        const tensor<T>* h = &x;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (!training && i + 1 < layers.size())
                if (const tensor<T>* y = layers[i]->forward_fused(*h, *layers[i + 1])) {
                    h = y;
                    ++i;
                    continue;
                }
            h = &layers[i]->forward(*h, training);
        }
        return *h;
    }

    double regularization_penalty() const {
        double p = 0.0;
        for (const auto& l : layers_)
            for (const auto* prm : std::as_const(*l).params())
                if (prm->regularizer)
                    p += prm->regularizer->penalty(prm->value.data(), prm->value.size());
        return p;
    }

    /// Loss of the batch's current output, with dL/d(output or logits) in `grad`.
    double batch_loss(const tensor<T>& y, const tensor<T>& out, tensor<T>& grad) {
        if (fused_) return loss_->compute_from_logits(y, *layers_.back()->logits(), grad);
        return loss_->compute(y, out, grad);
    }

    /// Forward, loss, backward and one optimizer step. When the loss is not finite no weight
    /// changes (moving statistics included): numerical_error is thrown, or, with `tolerate_invalid`
    /// (a TerminateOnNaN among the callbacks), the loss is returned for the callbacks to see.
    double train_step(batch_state& b, int epoch, int step, bool tolerate_invalid = false) {
        // The forward pass in training mode moves the non-trainable state (BatchNormalization's
        // moving statistics): keep a copy (a few floats per channel) to undo a bad batch.
        for (std::size_t i = 0; i < state_.size(); ++i) {
            const auto& v = state_[i]->value;
            auto& keep = state_backup_[i];
            if (keep.size() != v.size())
                keep = v;
            else
                std::copy_n(v.data(), v.size(), keep.data());
        }
        const tensor<T>& out = forward(b.x, true);
        double loss = batch_loss(b.y, out, b.grad) + regularization_penalty();
        if (!std::isfinite(loss))
            for (std::size_t i = 0; i < state_.size(); ++i) {
                std::copy_n(state_backup_[i].data(), state_backup_[i].size(),
                            state_[i]->value.data());
                state_[i]->changed();
            }
        if (!std::isfinite(loss) && tolerate_invalid) return loss;  // no update; callbacks decide
        if (!std::isfinite(loss))
            throw numerical_error(detail::cat(
                "model '", name_, "': the training loss is ", loss, " at epoch ", epoch + 1,
                ", batch ", step,
                "; training stopped before applying this batch's update (the data is finite, so "
                "training diverged: lower the learning rate)"));
        const tensor<T>* g = &b.grad;
        for (std::size_t i = layers_.size(); i-- > 0;) g = &layers_[i]->backward(*g, i > 0);
        for (auto* p : trainable_)
            if (p->regularizer)
                p->regularizer->add_gradient(p->value.data(), p->grad.data(), p->value.size());
        optimizer_->apply(trainable_);
        for (auto& m : metrics_) m->update(b.y, out);
        return loss;
    }

    /// Mean loss and metrics over rows [begin, end) of (x, y), in inference mode.
    callbacks::Logs run_evaluation(const tensor<T>& x, const tensor<T>& y, std::size_t begin,
                                   std::size_t end, std::size_t batch_size,
                                   callbacks::CallbackList<T>& cbs) {
        for (auto& m : metrics_) m->reset();
        double loss_sum = 0.0;
        std::size_t seen = 0;
        const double penalty = regularization_penalty();
        callbacks::Logs logs;
        cbs.on_test_begin(logs);
        int step = 0;
        for (std::size_t s = begin; s < end; s += batch_size, ++step) {
            const std::size_t n = std::min(batch_size, end - s);
            cbs.on_test_batch_begin(step, {});
            slice(x, s, n, eval_.x);
            slice(y, s, n, eval_.y);
            const tensor<T>& out = forward(eval_.x, false);
            loss_sum += (batch_loss(eval_.y, out, eval_.grad) + penalty) * double(n);
            seen += n;
            for (auto& m : metrics_) m->update(eval_.y, out);
            logs = current_logs(loss_sum / double(seen));
            cbs.on_test_batch_end(step, logs);
        }
        cbs.on_test_end(logs);
        return logs;
    }

    callbacks::Logs current_logs(double loss) const {
        callbacks::Logs logs{{"loss", loss}};
        for (const auto& m : metrics_) logs[m->name()] = m->result();
        return logs;
    }

    std::vector<double> logs_to_list(const callbacks::Logs& logs) const {
        std::vector<double> out{logs.at("loss")};
        for (const auto& m : metric_names_) out.push_back(logs.at(m));
        return out;
    }

    std::string name_;
    std::vector<std::unique_ptr<layer_type>> layers_;
    std::optional<shape_t> input_shape_;
    std::vector<layers::Param<T>*> trainable_;
    std::vector<layers::Param<T>*> state_;  ///< non-trainable weights (moving statistics)
    std::vector<tensor<T>> state_backup_;   ///< their values before the current training batch
    std::unique_ptr<optimizers::Optimizer<T>> optimizer_;
    std::unique_ptr<losses::Loss<T>> loss_;
    std::vector<std::string> metric_names_;
    std::vector<std::unique_ptr<metrics::Metric<T>>> metrics_;
    bool fused_ = false;
    std::uint64_t shuffle_seed_ = 0;
    batch_state train_, eval_;
    detail::layer_replicas<T> replicas_;  ///< predict's copies of the layers (see predict)
    mutable detail::model_lock lock_;
};

/// The float model, as Keras's.
using Sequential = basic_sequential<float>;

// ---- implementation ------------------------------------------------------------------------

template <class T>
callbacks::History<T> basic_sequential<T>::fit(const tensor<T>& x, const tensor<T>& y,
                                               const fit_options<T>& o) {
    auto guard = lock_.hold();
    require_compiled("fit");
    if (o.batch_size == 0) throw value_error("fit: batch_size must be >= 1, got 0");
    if (o.epochs < 0) throw value_error(detail::cat("fit: epochs must be >= 0, got ", o.epochs));
    if (o.initial_epoch < 0)
        throw value_error(detail::cat("fit: initial_epoch must be >= 0, got ", o.initial_epoch));
    if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
        throw value_error(
            detail::cat("fit: validation_split must be in [0, 1), got ", o.validation_split));
    if (o.verbose < 0 || o.verbose > 2)
        throw value_error(detail::cat("fit: verbose must be 0, 1 or 2, got ", o.verbose));
    prepare_input(x, "fit");
    check_xy(x, y, "fit");

    // validation: explicit data, else the LAST fraction of (x, y), split before shuffling.
    const std::size_t n = x.shape()[0];
    std::size_t n_train = n;
    const tensor<T>* vx = nullptr;
    const tensor<T>* vy = nullptr;
    std::size_t v_begin = 0, v_end = 0;
    if (o.validation_data) {
        vx = &o.validation_data->first;
        vy = &o.validation_data->second;
        prepare_input(*vx, "fit (validation_data)");
        check_xy(*vx, *vy, "fit", "validation_data ");
        v_end = vx->shape()[0];
    } else if (o.validation_split > 0.0) {
        n_train = static_cast<std::size_t>(std::floor(double(n) * (1.0 - o.validation_split)));
        if (n_train == 0 || n_train == n)
            throw value_error(detail::cat("fit: validation_split=", o.validation_split, " of ", n,
                                          " samples leaves ", n_train, " for training and ",
                                          n - n_train, " for validation; both must be > 0"));
        vx = &x;
        vy = &y;
        v_begin = n_train;
        v_end = n;
    }
    make_metrics(y);

    auto history = std::make_shared<callbacks::History<T>>();
    callbacks::CallbackList<T> cbs(o.callbacks);
    cbs.add(history);
    if (o.verbose > 0) cbs.add(std::make_shared<callbacks::ProgbarLogger<T>>());
    const int steps = int((n_train + o.batch_size - 1) / o.batch_size);
    cbs.set_model(this);
    cbs.set_params({o.verbose, o.epochs, steps});

    callbacks::CallbackList<T> no_callbacks;
    std::vector<std::size_t> order(n_train);
    std::iota(order.begin(), order.end(), std::size_t(0));

    stop_training = false;
    const bool tolerate_invalid = cbs.handles_invalid_loss();
    callbacks::Logs logs;
    cbs.on_train_begin(logs);
    for (int epoch = o.initial_epoch; epoch < o.epochs; ++epoch) {
        for (auto& m : metrics_) m->reset();
        cbs.on_epoch_begin(epoch, {});
        if (o.shuffle) shuffle_order(order, epoch);
        double loss_sum = 0.0;
        std::size_t seen = 0;
        for (int step = 0; step < steps; ++step) {
            const std::size_t s = std::size_t(step) * o.batch_size;
            const std::size_t bn = std::min(o.batch_size, n_train - s);
            cbs.on_train_batch_begin(step, {});
            gather(x, order.data() + s, bn, train_.x);
            gather(y, order.data() + s, bn, train_.y);
            loss_sum += train_step(train_, epoch, step, tolerate_invalid) * double(bn);
            seen += bn;
            logs = current_logs(loss_sum / double(seen));
            cbs.on_train_batch_end(step, logs);
            if (stop_training) break;
        }
        if (vx) {
            auto train_metrics = std::move(metrics_);
            make_metrics(*vy);
            auto val = run_evaluation(*vx, *vy, v_begin, v_end, o.batch_size, no_callbacks);
            metrics_ = std::move(train_metrics);
            for (const auto& [k, v] : val) logs["val_" + k] = v;
        }
        cbs.on_epoch_end(epoch, logs);
        if (stop_training) break;
    }
    cbs.on_train_end(logs);
    return *history;
}

template <class T>
std::vector<double> basic_sequential<T>::evaluate(const tensor<T>& x, const tensor<T>& y,
                                                  const evaluate_options<T>& o) {
    auto guard = lock_.hold();
    require_compiled("evaluate");
    if (o.batch_size == 0) throw value_error("evaluate: batch_size must be >= 1, got 0");
    prepare_input(x, "evaluate");
    check_xy(x, y, "evaluate");
    make_metrics(y);
    callbacks::CallbackList<T> cbs(o.callbacks);
    if (o.verbose > 0) cbs.add(std::make_shared<callbacks::ProgbarLogger<T>>());
    const std::size_t n = x.shape()[0];
    cbs.set_model(this);
    cbs.set_params({o.verbose, 1, int((n + o.batch_size - 1) / o.batch_size)});
    return logs_to_list(run_evaluation(x, y, 0, n, o.batch_size, cbs));
}

template <class T>
tensor<T> basic_sequential<T>::predict(const tensor<T>& x, std::size_t batch_size) {
    auto guard = lock_.hold();
    if (batch_size == 0) throw value_error("predict: batch_size must be >= 1, got 0");
    prepare_input(x, "predict", true);  // 0 samples give an empty (0, ...) result
    const std::size_t n = x.shape()[0];
    shape_t out_shape = output_shape();
    out_shape.insert(out_shape.begin(), n);
    tensor<T> out(out_shape);
    const std::size_t row = shape_size(output_shape());
    const std::size_t slices = predict_slices(std::min(batch_size, n));
    for (std::size_t s = 0; s < n; s += batch_size) {
        const std::size_t bn = std::min(batch_size, n - s);
        // the batch's copy and the check for NaN / infinite values in one pass: at most the
        // batches before a bad one are computed, and nothing of them is returned
        if (const std::size_t parts = std::min(slices, bn / min_slice_rows); parts > 1) {
            if (const std::size_t k = predict_sliced(x, s, bn, parts, out); k < x.size())
                throw_nonfinite(x, k, "predict", "x");
            continue;
        }
        if (const std::size_t k = slice(x, s, bn, eval_.x); k < x.size())
            throw_nonfinite(x, k, "predict", "x");
        const tensor<T>& y = forward(eval_.x, false);
        std::copy_n(y.data(), bn * row, out.data() + s * row);
    }
    return out;
}

template <class T>
std::vector<double> basic_sequential<T>::train_on_batch(const tensor<T>& x, const tensor<T>& y) {
    auto guard = lock_.hold();
    require_compiled("train_on_batch");
    prepare_input(x, "train_on_batch");
    check_xy(x, y, "train_on_batch");
    make_metrics(y);
    std::vector<std::size_t> idx(x.shape()[0]);
    std::iota(idx.begin(), idx.end(), std::size_t(0));
    gather(x, idx.data(), idx.size(), train_.x);
    gather(y, idx.data(), idx.size(), train_.y);
    double loss = train_step(train_, 0, 0);
    return logs_to_list(current_logs(loss));
}

template <class T>
std::vector<double> basic_sequential<T>::test_on_batch(const tensor<T>& x, const tensor<T>& y) {
    auto guard = lock_.hold();
    require_compiled("test_on_batch");
    prepare_input(x, "test_on_batch");
    check_xy(x, y, "test_on_batch");
    make_metrics(y);
    callbacks::CallbackList<T> none;
    return logs_to_list(run_evaluation(x, y, 0, x.shape()[0], x.shape()[0], none));
}

template <class T>
std::string basic_sequential<T>::summary_string(int line_length) const {
    int L = line_length;
    if (L <= 0) {
        L = 76;
        winsize ws{};
        if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
            ws.ws_col > 0)
            L = std::min(88, int(ws.ws_col) - 4);
    }
    L = std::max(L, 40);
    // Keras 3 (rich): columns at 45% / 35% / 20% of the inner width, rounded up.
    const int inner = L - 4;
    const int w1 = int(std::ceil(0.45 * inner)), w3 = int(std::ceil(0.20 * inner));
    const int w2 = inner - w1 - w3;
    auto rep = [](const char* s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) out += s;
        return out;
    };
    auto cell = [](const std::string& text, int w, bool right) {
        int pad = w - 2 - int(detail::display_width(text));
        std::string fill(std::size_t(std::max(0, pad)), ' ');
        return " " + (right ? fill + text : text + fill) + " ";
    };
    std::ostringstream os;
    os << "Model: \"" << name_ << "\"\n";
    os << "┏" << rep("━", w1) << "┳" << rep("━", w2) << "┳" << rep("━", w3) << "┓\n";
    os << "┃" << cell("Layer (type)", w1, false) << "┃" << cell("Output Shape", w2, false) << "┃"
       << cell("Param #", w3, true) << "┃\n";
    os << "┡" << rep("━", w1) << "╇" << rep("━", w2) << "╇" << rep("━", w3) << "┩\n";
    std::size_t trainable = 0, non_trainable = 0;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const auto& l = *layers_[i];
        std::string shape = l.built() ? shape_str(l.output_shape(), true) : "?";
        std::string count = l.built() ? detail::thousands(l.count_params()) : "0 (unbuilt)";
        for (const auto* p : l.params())
            (l.trainable && p->trainable ? trainable : non_trainable) += p->value.size();
        os << "│" << cell(l.name() + " (" + l.class_name() + ")", w1, false) << "│"
           << cell(shape, w2, false) << "│" << cell(count, w3, true) << "│\n";
        if (i + 1 < layers_.size())
            os << "├" << rep("─", w1) << "┼" << rep("─", w2) << "┼" << rep("─", w3) << "┤\n";
    }
    os << "└" << rep("─", w1) << "┴" << rep("─", w2) << "┴" << rep("─", w3) << "┘\n";
    const double b = double(sizeof(T));
    std::size_t opt_vars = 0;
    if (optimizer_ && optimizer_->iterations() > 0) opt_vars = optimizer_->count_variables();
    const std::size_t total = trainable + non_trainable + opt_vars;
    // Optimizer variables: `iterations` is an int64 (8 bytes), the rest are of type T.
    const double opt_bytes = opt_vars ? 8.0 + b * double(opt_vars - 1) : 0.0;
    os << " Total params: " << detail::thousands(total) << " ("
       << detail::readable_memory_size(b * double(trainable + non_trainable) + opt_bytes) << ")\n";
    os << " Trainable params: " << detail::thousands(trainable) << " ("
       << detail::readable_memory_size(b * double(trainable)) << ")\n";
    os << " Non-trainable params: " << detail::thousands(non_trainable) << " ("
       << detail::readable_memory_size(b * double(non_trainable)) << ")\n";
    if (opt_vars)
        os << " Optimizer params: " << detail::thousands(opt_vars) << " ("
           << detail::readable_memory_size(opt_bytes) << ")\n";
    return os.str();
}

}  // namespace xkeras

// The saving members are defined with the file code.
#include "io/detail/model_file_impl.hpp"
