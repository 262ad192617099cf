// xkeras/model.hpp - basic_sequential<T> / Sequential: Keras's Sequential model.
//
//   xkeras::Sequential model;
//   model.add(xkeras::layers::Dense(512, {.activation = "relu", .input_shape = {784}}));
//   model.add(xkeras::layers::Dense(10, "softmax"));
//   model.compile("adam", "categorical_crossentropy", {"accuracy"});
//   auto history = model.fit(x, y, {.batch_size = 128, .epochs = 30});
//   auto scores = model.evaluate(x_test, y_test, {.verbose = 0});  // {loss, accuracy}
//
// The model is the layer stack, its weights, its config and its compile settings. Training
// (fit, evaluate, train_on_batch, test_on_batch) runs in training/trainer.hpp, the forward pass
// in inference/forward.hpp, predict in inference/executor.hpp, the summary table in
// utils/summary.hpp, saving in io/.
// Semantics follow Keras 3: see docs/api/model.md for every default.
#pragma once

#include <concepts>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/model_lock.hpp"
#include "detail/random.hpp"
#include "inference/executor.hpp"
#include "layers/input_layer.hpp"
#include "layers/layer.hpp"
#include "layers/nested_sequential.hpp"
#include "losses.hpp"
#include "metrics.hpp"
#include "optimizers.hpp"
#include "tensor.hpp"
#include "training/trainer.hpp"
#include "utils/summary.hpp"

namespace xkeras {

namespace detail {
/// What `add` takes: a layer, an InputLayer, an owning pointer to a layer, or a model moved in
/// (nested as one layer).
template <class L, class T>
concept sequential_element = std::derived_from<std::decay_t<L>, layers::Layer<T>> ||
                             std::same_as<std::decay_t<L>, layers::InputLayer> ||
                             (!std::is_lvalue_reference_v<L> &&
                              std::convertible_to<L, std::unique_ptr<layers::Layer<T>>>) ||
                             (!std::is_lvalue_reference_v<L> &&
                              std::same_as<std::decay_t<L>, basic_sequential<T>>);
}  // namespace detail

/// A linear stack of layers. `T` is the scalar type; `Sequential` is basic_sequential<float>.
/// Calls on one model from several threads take turns: each holds the model's lock, which a
/// callback may take again (docs/api/model.md, "Threads").
template <class T>
class basic_sequential {
  public:
    using value_type = T;
    using layer_type = layers::Layer<T>;
    template <class L>
    static constexpr bool addable = detail::sequential_element<L, T>;

    /// Set by a callback to stop fit after the current batch.
    bool stop_training = false;

    /// `name` defaults to Keras's automatic "sequential", "sequential_1", ...
    explicit basic_sequential(std::string name = {})
        : name_(name.empty() ? layers::detail::unique_name("sequential") : std::move(name)) {}

    /// Keras's `Sequential([...])`: the layers (or an InputLayer first) added in order, as
    /// `Sequential model{Input({784}), Dense(128, "relu"), Dense(10, "softmax")}`.
    template <class... L>
    requires(sizeof...(L) > 0 && (addable<L> && ...)) explicit basic_sequential(L&&... layers)
        : basic_sequential(std::string{}) {
        (add(std::forward<L>(layers)), ...);
    }

    /// The same with the model's name first: `Sequential model("mnist", Dense(10), ...)`.
    template <class... L>
    requires(sizeof...(L) > 0 && (addable<L> && ...))
        basic_sequential(std::string name, L&&... layers)
        : basic_sequential(std::move(name)) {
        (add(std::forward<L>(layers)), ...);
    }

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

    void add(std::unique_ptr<layer_type> layer) { append(layer); }

    /// Adds a model as one layer, as Keras's `Sequential([model, Softmax()])`: its layers, with
    /// their weights, move into a layers::NestedSequential of its name (the model is left
    /// empty; if the layer is refused, they move back). `Sequential{std::move(m)}` alone moves
    /// the model itself, as C++ does.
    void add(basic_sequential&& inner) {
        if (&inner == this)
            throw value_error(detail::cat("model '", name_, "': a model cannot contain itself"));
        if (inner.layers_.empty())
            throw value_error(detail::cat("model '", name_, "': the model '", inner.name_,
                                          "' added as a layer has no layers"));
        auto nested = std::make_unique<layers::NestedSequential<T>>(
            inner.name_, std::move(inner.layers_), inner.input_shape());
        inner.layers_.clear();
        inner.layers_changed();
        std::unique_ptr<layer_type> layer = std::move(nested);
        try {
            append(layer);
        } catch (...) {
            inner.layers_ = static_cast<layers::NestedSequential<T>&>(*layer).release_layers();
            inner.layers_changed();
            throw;
        }
    }

  private:
    /// add's checks and build, then the layer joins the model (moved from `layer` only then).
    void append(std::unique_ptr<layer_type>& layer) {
        if (!layer) throw value_error(detail::cat("model '", name_, "': add() got a null layer"));
        for (const auto& l : layers_)
            if (l->name() == layer->name())
                throw value_error(detail::cat("model '", name_,
                                              "': all layers must have unique names; '",
                                              layer->name(), "' is already in the model"));
        // As in Keras, `input_shape` counts on the first layer only; later layers' are ignored
        // (tutorials pass the same input_shape to every Conv2D of a stack).
        if (layers_.empty() && !input_shape_ && !layer->declared_input_shape().empty())
            input_shape_ = layer->declared_input_shape();
        // Built on the previous output, so that shape errors show up at add() and a layer that
        // does not fit is not added.
        if (input_shape_)
            layer->build(layers_.empty() ? *input_shape_ : layers_.back()->output_shape());
        check_mask_reaching(*layer);
        layers_.push_back(std::move(layer));
        layers_changed();
    }

  public:
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
        layers_changed();
    }

    bool built() const { return !layers_.empty() && layers_.back()->built(); }

    /// Whether the model's output carries a mask (Keras's: an Embedding with mask_zero whose
    /// mask the layers after it pass on, layers/layer.hpp); the loss and the metrics then count
    /// only the unmasked steps.
    bool output_masked() const { return masked_after(layers_.size()); }

    /// Input shape (batch excluded); empty until known.
    const shape_t& input_shape() const { return input_shape_ ? *input_shape_ : no_shape_; }
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
        auto lock = lock_.hold();
        require_built("get_weights");
        std::vector<tensor<T>> out;
        for (const auto& l : layers_)
            for (auto& w : l->get_weights()) out.push_back(std::move(w));
        return out;
    }

    /// Sets all weights from get_weights()'s layout; checks the count and every shape first, so
    /// that a bad list changes nothing.
    void set_weights(const std::vector<tensor<T>>& weights) {
        auto lock = lock_.hold();
        require_built("set_weights");
        std::size_t total = 0;
        for (const auto& l : layers_) total += l->params().size();
        if (weights.size() != total)
            throw value_error(detail::cat("model '", name_, "' has ", total,
                                          " weight tensors, set_weights got ", weights.size()));
        for (std::size_t i = 0; const auto& l : layers_) {
            l->check_weights(weights.data() + i, l->params().size());
            i += l->params().size();
        }
        for (std::size_t i = 0; const auto& l : layers_) {
            l->set_weights(weights.data() + i, l->params().size());
            i += l->params().size();
        }
    }

    /// The weights the optimizer updates (those of trainable layers), in layer order, as of the
    /// last compile() (Keras applies a change of `trainable` at the next compile).
    const std::vector<layers::Param<T>*>& trainable_params() const { return trainable_; }

    // ---- summary and saving (utils/summary.hpp, io/) ----------------------------------------

    /// Prints Keras 3's summary table (utils::print_summary).
    void summary(std::ostream& os = std::cout, int line_length = -1) const {
        utils::print_summary(*this, os, line_length);
    }
    std::string summary_string(int line_length = -1) const {
        return utils::summary_string(*this, line_length);
    }

    /// The architecture (and compile config) as Keras 3's JSON; `indent` < 0: one line.
    std::string to_json(int indent = -1) const;
    /// Saves architecture, weights, compile config and optimizer state to one file, atomically.
    void save(const std::filesystem::path& path) const;
    /// Saves the weights only (loaded by load_weights into a model of the same layers).
    void save_weights(const std::filesystem::path& path) const;
    /// Loads weights saved by save_weights or save, matched by layer class and position
    /// ("dense_1/kernel"); a missing weight or a different shape changes nothing and throws.
    void load_weights(const std::filesystem::path& path);

    // ---- compiling --------------------------------------------------------------------------

    /// Configures the model for training. `metrics`: "accuracy" (resolved like Keras from the
    /// shapes), "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy", "mse",
    /// "mae"; `weighted_metrics` the same, weighted by fit's and evaluate's sample weights (the
    /// `metrics` are not), logged as "weighted_<name>" when a metric has that name. The layers'
    /// `trainable` flags are read here.
    void compile(optimizer_arg<T> optimizer = "rmsprop",
                 loss_arg<T> loss = "categorical_crossentropy",
                 std::vector<std::string> metrics = {},
                 std::vector<std::string> weighted_metrics = {}) {
        auto opt = optimizer.release();
        auto l = loss.release();
        auto compiled = metrics::compile_metrics(metrics, weighted_metrics);
        optimizer_ = std::move(opt);
        loss_ = std::move(l);
        shuffle_seed_ = detail::next_seed();
        metric_names_ = std::move(metrics);
        weighted_metric_names_ = std::move(weighted_metrics);
        compiled_metrics_ = std::move(compiled);
        collect_params();
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
    /// The compiled weighted metric names, as given.
    const std::vector<std::string>& weighted_metric_names() const { return weighted_metric_names_; }
    /// Both, in the order of the logs and of evaluate's results, with their log names.
    const std::vector<metrics::compiled_metric>& compiled_metrics() const {
        return compiled_metrics_;
    }

    /// The seed of fit's shuffling: epoch e's order depends on (seed, e) only, so a model saved
    /// after epoch e and loaded again resumes with the order an uninterrupted run would use.
    std::uint64_t shuffle_seed() const { return shuffle_seed_; }
    void set_shuffle_seed(std::uint64_t s) { shuffle_seed_ = s; }

    // ---- training and inference (training/trainer.hpp, inference/executor.hpp) --------------

    /// Trains for `epochs` epochs; returns the History (per-epoch logs). x and y must be finite
    /// and hold at least one sample (value_error naming the first bad value otherwise); a NaN /
    /// infinite training loss throws numerical_error before that batch's update (see
    /// docs/api/model.md, "Faults and edge cases"). epochs <= initial_epoch trains nothing.
    callbacks::History<T> fit(const tensor<T>& x, const tensor<T>& y,
                              const fit_options<T>& o = {}) {
        return trainer_.fit(*this, x, y, o);
    }
    /// Returns {loss, metric 1, ...} over the whole dataset (regularization penalties included
    /// in the loss, as Keras).
    std::vector<double> evaluate(const tensor<T>& x, const tensor<T>& y,
                                 const evaluate_options<T>& o = {}) {
        return trainer_.evaluate(*this, x, y, o);
    }
    /// One optimizer step on one batch; returns {loss, metrics...} of that batch.
    std::vector<double> train_on_batch(const tensor<T>& x, const tensor<T>& y) {
        return trainer_.train_on_batch(*this, x, y);
    }
    /// The same with one weight per sample in the loss (Keras's sample_weight).
    std::vector<double> train_on_batch(const tensor<T>& x, const tensor<T>& y,
                                       const tensor<T>& sample_weight) {
        return trainer_.train_on_batch(*this, x, y, &sample_weight);
    }
    /// Loss and metrics of one batch, in inference mode.
    std::vector<double> test_on_batch(const tensor<T>& x, const tensor<T>& y) {
        return trainer_.test_on_batch(*this, x, y);
    }
    /// The same with one weight per sample in the loss.
    std::vector<double> test_on_batch(const tensor<T>& x, const tensor<T>& y,
                                      const tensor<T>& sample_weight) {
        return trainer_.test_on_batch(*this, x, y, &sample_weight);
    }
    /// The model's output for `x`, batch by batch, in inference mode. x must be finite; 0 samples
    /// give an empty (0, outputs...) result. A small model runs a slice of each batch per thread
    /// (inference/executor.hpp; docs/api/model.md, "Threads").
    tensor<T> predict(const tensor<T>& x, std::size_t batch_size = 32) {
        return executor_.predict(*this, x, batch_size);
    }
    /// Forward pass of a whole batch (training mode enables dropout); the reference is valid
    /// until the next call.
    const tensor<T>& forward(const tensor<T>& x, bool training) {
        return inference::Executor<T>::forward(layers_, x, training);
    }

  private:
    friend class training::Trainer<T>;
    friend class inference::Executor<T>;

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

    /// Whether the output of the first `count` layers carries a mask.
    bool masked_after(std::size_t count) const {
        bool masked = false;
        for (std::size_t i = 0; i < count; ++i)
            masked = layers_[i]->output_masked(masked && layers_[i]->supports_masking());
        return masked;
    }

    /// Before `layer` joins the model: a mask reaching it is refused by a layer that cannot
    /// compute Keras's result with it (the model stays as it was); one that does not support
    /// masking drops it, with Keras 3's warning.
    void check_mask_reaching(const layer_type& layer) const {
        if (!masked_after(layers_.size())) return;
        if (layer.supports_masking()) return layer.check_input_mask();
        std::cerr << "UserWarning: Layer '" << layer.name() << "' (of type " << layer.class_name()
                  << ") was passed an input with a mask attached to it. However, this layer "
                     "does not support masking and will therefore destroy the mask "
                     "information. Downstream layers will not see the mask.\n";
    }

    void layers_changed() {
        executor_.layers_changed();
        collect_params();
    }

    /// The optimizer's list (weights of trainable layers) and the non-trainable weights that
    /// a training step may move and must restore after a bad batch (moving statistics).
    void collect_params() {
        trainable_.clear();
        state_.clear();
        for (auto& l : layers_)
            for (auto* p : l->params()) {
                if (l->trains(*p)) trainable_.push_back(p);
                if (!p->trainable) state_.push_back(p);
            }
    }

    std::string name_;
    std::vector<std::unique_ptr<layer_type>> layers_;
    std::optional<shape_t> input_shape_;
    inline static const shape_t no_shape_{};
    std::vector<layers::Param<T>*> trainable_;
    std::vector<layers::Param<T>*> state_;  ///< non-trainable weights (moving statistics)
    std::unique_ptr<optimizers::Optimizer<T>> optimizer_;
    std::unique_ptr<losses::Loss<T>> loss_;
    std::vector<std::string> metric_names_, weighted_metric_names_;
    std::vector<metrics::compiled_metric> compiled_metrics_;
    std::uint64_t shuffle_seed_ = 0;
    training::Trainer<T> trainer_;
    inference::Executor<T> executor_;
    mutable detail::model_lock lock_;
};

/// The float model, as Keras's.
using Sequential = basic_sequential<float>;

}  // namespace xkeras

// The saving members are defined with the file code.
#include "io/detail/model_file_impl.hpp"
