// xkeras/layers/layer.hpp - the Layer base class and Param.
//
// A layer's life, as in Keras: the constructor stores and validates the configuration;
// `build(input_shape)` checks the input shape and creates the weights; `forward(x, training)`
// computes the output and keeps what `backward` needs; `backward(dy)` fills each Param's `grad`
// and returns the gradient with respect to the input.
//
// Shapes passed to `build` exclude the batch axis, as Keras's `input_shape`. Tensors passed to
// `forward` have the batch axis first. Layers own their output and input-gradient buffers, which
// are reused from batch to batch: `forward` and `backward` return references to them, valid
// until the next call. The input given to `forward(x, true)` must stay alive until `backward`.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../activations.hpp"
#include "../backend/pool2d.hpp"
#include "../config.hpp"
#include "../initializers.hpp"
#include "../regularizers.hpp"
#include "../tensor.hpp"
#include "config.hpp"

namespace xkeras::layers {

/// A weight of a layer: its value, its gradient and what the optimizer needs to know about it.
template <class T>
struct Param {
    std::string name;  ///< "<layer name>/<weight name>", e.g. "dense_1/kernel".
    tensor<T> value;
    tensor<T> grad;
    bool trainable = true;
    std::optional<regularizers::Regularizer> regularizer{};
    /// Changes whenever the library writes `value` (its initialisation, set_weights, loading, an
    /// optimizer step): what a layer derives from its weights and keeps (Conv2D's Winograd
    /// kernel) is remade when it changes. Code that writes `value` itself calls changed() after.
    std::uint64_t version = 0;
    void changed() { version = next_version(); }

  private:
    /// Process-wide, so that no two writes of any Param share a version.
    static std::uint64_t next_version() {
        static std::atomic<std::uint64_t> last{0};
        return last.fetch_add(1, std::memory_order_relaxed) + 1;
    }
};

namespace detail {

struct name_counters {
    std::mutex mutex;
    std::map<std::string, int> next;
};
inline name_counters& counters() {
    static name_counters c;
    return c;
}

/// Keras's automatic names: "dense", then "dense_1", "dense_2", ... per prefix and process.
inline std::string unique_name(const std::string& prefix) {
    auto& c = counters();
    std::lock_guard<std::mutex> lock(c.mutex);
    int n = c.next[prefix]++;
    return n == 0 ? prefix : prefix + "_" + std::to_string(n);
}

/// The number of elements of `s`, or nothing when it does not fit a size_t.
inline std::optional<std::size_t> checked_size(const shape_t& s) {
    std::size_t n = 1;
    for (auto d : s)
        if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
    return n;
}

/// The bytes left for new weights on this thread (see weight_limit).
inline std::size_t& weight_bytes_left() {
    thread_local std::size_t left = std::size_t(-1);
    return left;
}

}  // namespace detail

/// While it lives, the weights layers create on this thread may take at most `bytes` bytes in
/// all (values only; gradients and optimizer slots are proportional); a layer whose weights
/// would exceed that throws value_error before allocating them. `load_model` sets one to the
/// size of the file's data, which must hold every weight, so that a file announcing a huge layer
/// is refused instead of exhausting memory; set one when building models from JSON of unknown
/// origin (`model_from_json`). Nested limits: the innermost counts while it lives.
class weight_limit {
  public:
    /// `source` says where the limit comes from, for messages ("the file's data").
    explicit weight_limit(std::size_t bytes, std::string source = "the weight_limit")
        : previous_(detail::weight_bytes_left()), previous_source_(source_ref()) {
        detail::weight_bytes_left() = bytes;
        source_ref() = std::move(source);
    }
    ~weight_limit() {
        detail::weight_bytes_left() = previous_;
        source_ref() = std::move(previous_source_);
    }
    weight_limit(const weight_limit&) = delete;
    weight_limit& operator=(const weight_limit&) = delete;

    /// Where the current limit comes from, for messages (empty without one).
    static const std::string& source() { return source_ref(); }

  private:
    static std::string& source_ref() {
        thread_local std::string s;
        return s;
    }
    std::size_t previous_;
    std::string previous_source_;
};

}  // namespace xkeras::layers

namespace xkeras::backend {
/// Resets the automatic layer and model names ("dense", "dense_1", ...), like
/// keras.backend.clear_session().
inline void clear_session() {
    auto& c = layers::detail::counters();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.next.clear();
}
}  // namespace xkeras::backend

namespace xkeras::layers {

/// A configuration and input shape (batch axis excluded) a layer class can be built with: its
/// static example(), which the tests that run on every registered layer use
/// (tests/test_every_layer.cpp).
struct layer_example {
    nlohmann::json config;
    shape_t input_shape;
    /// Nonzero for a layer whose inputs are indices (Embedding's): they are drawn from
    /// [0, index_range), and have no gradient to check.
    std::size_t index_range = 0;
};

/// Base of every layer. `T` is the scalar type (float for training, double for gradient checks).
template <class T>
class Layer {
  public:
    using value_type = T;

    virtual ~Layer() = default;
    Layer(const Layer&) = default;
    Layer(Layer&&) noexcept = default;
    Layer& operator=(const Layer&) = default;
    Layer& operator=(Layer&&) noexcept = default;

    /// Keras's class name, e.g. "Dense"; also the type's name in C++.
    virtual std::string class_name() const = 0;

    /// Whether the layer runs only at inference: Keras's random augmentation layers, which
    /// xkeras runs as the identities they are at inference but cannot train through. fit and
    /// train_on_batch refuse a model that has one.
    virtual bool inference_only() const { return false; }

    /// Whether training computes over the whole global batch of a data-parallel step, not the
    /// process's part (BatchNormalization's synchronized=True): the step then runs one
    /// micro-batch per process (docs/distributed.md).
    virtual bool synchronized() const { return false; }

    /// The layer's name: given in the options, or Keras's automatic one ("dense_1"), fixed
    /// when the layer is constructed.
    const std::string& name() const { return name_; }

    /// Makes this layer's weights "<owner>/<name>/<what>": a wrapper (Bidirectional) calls it
    /// on the layers it holds before building them, so that their weights carry its name, as
    /// Keras's do.
    void set_weight_owner(std::string owner) { weight_owner_ = std::move(owner); }

    /// Whether the optimizer updates this layer's weights. Defaults to true.
    bool trainable = true;

    /// Whether the optimizer updates weight `p`, one of params(): a trainable weight of a
    /// trainable layer (a nested model asks the layer that holds it as well).
    virtual bool trains(const Param<T>& p) const { return trainable && p.trainable; }

    /// Input shape declared on the layer (Keras's `input_shape=`), empty when not given.
    const shape_t& declared_input_shape() const { return declared_input_shape_; }

    bool built() const { return built_; }
    const shape_t& input_shape() const { return input_shape_; }
    const shape_t& output_shape() const { return output_shape_; }

    /// Checks `input_shape` (batch axis excluded), creates the weights and fixes the output
    /// shape. Throws shape_error naming the layer when the shape does not fit.
    void build(const shape_t& input_shape) {
        check_countable(input_shape, "input");
        output_shape_ = compute_output_shape(input_shape);
        check_countable(output_shape_, "output");
        input_shape_ = input_shape;
        build_weights(input_shape);
        built_ = true;
    }

    /// The output shape for an input shape (both without the batch axis).
    virtual shape_t compute_output_shape(const shape_t& input_shape) const = 0;

    /// Computes the output for a batch `x`. `training` enables dropout and the like.
    virtual const tensor<T>& forward(const tensor<T>& x, bool training) = 0;

    // ---- masks ----------------------------------------------------------------------------
    // Keras's masks: a (batch, steps) tensor beside a batch of sequences, 1 for the steps that
    // count and 0 for padding. Embedding(mask_zero) makes one; the model hands it from layer to
    // layer as Keras does (inference/forward.hpp): a layer that supports masking receives it
    // (forward_masked) and its output carries one (output_masked, compute_mask); any other
    // layer drops it, as Keras 3 does with a warning.

    /// Keras's `supports_masking`: whether the layer takes an input with a mask.
    virtual bool supports_masking() const { return false; }

    /// Whether the output carries a mask when the input does (`input_masked`): the input's, for
    /// a layer that supports masking (Dense, Dropout), none for one that consumes it (an RNN's
    /// last step, GlobalAveragePooling1D); Embedding(mask_zero) makes its own.
    virtual bool output_masked(bool input_masked) const {
        return input_masked && supports_masking();
    }

    /// Throws when the layer cannot compute what Keras computes with a mask on its input
    /// (checked when the model is built, before any batch).
    virtual void check_input_mask() const {}

    /// The output's mask after forward(x) (x being the input the forward pass had) given the
    /// input's `mask` (null for none): that mask, none, or one the layer made. Valid until
    /// the next forward pass.
    virtual const tensor<T>* compute_mask(const tensor<T>& /*x*/, const tensor<T>* mask) const {
        return output_masked(mask != nullptr) ? mask : nullptr;
    }

    /// forward(x, training) for an input with a mask ((batch, steps), 1 or 0): the layers
    /// that read the mask (the recurrent layers, GlobalAveragePooling1D) override it.
    virtual const tensor<T>& forward_masked(const tensor<T>& x, const tensor<T>& /*mask*/,
                                            bool training) {
        return forward(x, training);
    }

    /// When this layer is a 2-D pooling: what it computes (kind and window geometry), so that
    /// the layer before it can pool its own output at inference (forward_pooled); else null.
    virtual const backend::pool2d* as_pooling() const { return nullptr; }

    /// Inference (training false) of this layer followed by `pool`, in one pass where this layer
    /// knows how (Conv2D: each thread pools the part it computed, with no hand-over between the
    /// threads in between). Returns the pooled output, valid until the next call; or nullptr,
    /// computing nothing, and the caller runs this layer's and the pooling's forward calls.
    virtual const tensor<T>* forward_pooled(const tensor<T>& /*x*/,
                                            const backend::pool2d& /*pool*/) {
        return nullptr;
    }

    /// Given dL/d(output) of the last forward(x, true), fills the params' grads and returns
    /// dL/dx (or an empty tensor when `need_input_grad` is false).
    virtual const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad = true) = 0;

    /// The layer's weights in Keras order (trainable first, then non-trainable).
    virtual std::vector<Param<T>*> params() { return {}; }
    std::vector<const Param<T>*> params() const {
        auto ps = const_cast<Layer*>(this)->params();
        return {ps.begin(), ps.end()};
    }

    /// Number of weights (scalars), trainable or not.
    std::size_t count_params() const {
        std::size_t n = 0;
        for (auto* p : params()) n += p->value.size();
        return n;
    }

    /// Copies of the weights, in Keras order and shapes.
    std::vector<tensor<T>> get_weights() const {
        std::vector<tensor<T>> out;
        for (auto* p : params()) out.push_back(p->value);
        return out;
    }

    /// Throws unless w[0, count) hold one tensor of the right shape for each of the layer's
    /// weights, in Keras order; changes nothing.
    void check_weights(const tensor<T>* w, std::size_t count) const {
        auto ps = params();
        if (count != ps.size())
            throw value_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  ") expects ", ps.size(), " weight tensors, got ",
                                                  count));
        for (std::size_t i = 0; i < ps.size(); ++i)
            if (shape_of(w[i]) != shape_of(ps[i]->value))
                throw shape_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                      "): weight '", ps[i]->name, "' has shape ",
                                                      shape_str(shape_of(ps[i]->value)), ", got ",
                                                      shape_str(shape_of(w[i]))));
    }

    /// Sets the weights from w[0, count), tensors in Keras order and shapes; checks count and
    /// shapes first.
    void set_weights(const tensor<T>* w, std::size_t count) {
        check_weights(w, count);
        auto ps = params();
        for (std::size_t i = 0; i < ps.size(); ++i) {
            ps[i]->value = w[i];
            ps[i]->changed();
        }
    }
    void set_weights(const std::vector<tensor<T>>& weights) {
        set_weights(weights.data(), weights.size());
    }

    /// Keras's config of the layer (the "config" of its to_json entry); each layer adds its own
    /// keys to these.
    virtual nlohmann::json get_config() const {
        return {{"name", name()}, {"trainable", trainable}, {"dtype", config::dtype_policy<T>()}};
    }

    /// State beyond the weights that a saved model keeps for an exact resume (Dropout: its
    /// seed and the number of masks drawn); null when the layer has none.
    virtual nlohmann::json training_state() const { return nullptr; }
    /// Restores what training_state() gave; throws value_error naming the layer for a state it
    /// cannot take.
    virtual void set_training_state(const nlohmann::json& state) {
        if (!state.is_null())
            throw value_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  ") keeps no training state, but one was given"));
    }

    /// Where Keras 3's weights files keep this layer's weights below the layer's own group, in
    /// the order of params(): one entry per object of Keras's that owns some of them, with the
    /// groups leading to its `vars` and how many weights it holds. A layer that keeps its
    /// weights itself has one entry with no groups (`layers/dense/vars/0`); LSTM's belong to
    /// its cell ({"cell"}: `layers/lstm/cell/vars/0`); Bidirectional's to its two layers' cells.
    struct keras_weight_group {
        std::vector<std::string> path;
        std::size_t count = 0;
    };
    virtual std::vector<keras_weight_group> keras_weight_groups() const {
        return {{{}, params().size()}};
    }

    /// The activation applied last by this layer (softmax for Dense(10, "softmax")).
    virtual activations::kind output_activation() const { return activations::kind::linear; }

    /// When on, the layer keeps the values before its output activation (logits) and
    /// `backward` takes dL/d(logits) instead of dL/d(output): the model uses this to fuse softmax
    /// (or sigmoid) with crossentropy into one stable gradient, as Keras's TensorFlow backend.
    void set_output_logits(bool on) { output_logits_ = on; }
    bool output_logits() const { return output_logits_; }

    /// The logits of the last forward pass (only with set_output_logits(true)).
    virtual const tensor<T>* logits() const { return nullptr; }

  protected:
    /// `auto_prefix` is Keras's snake_case class name ("dense"), used when `name` is empty.
    Layer(const char* auto_prefix, std::string name, shape_t declared_input_shape)
        : declared_input_shape_(std::move(declared_input_shape)),
          name_(name.empty() ? detail::unique_name(auto_prefix) : std::move(name)) {}

    /// Creates the weights for an input shape already checked by compute_output_shape.
    virtual void build_weights(const shape_t& /*input_shape*/) {}

    /// Throws unless the layer is built and `x` has the built input shape (batch aside).
    void check_input(const tensor<T>& x) const {
        if (!built_)
            throw state_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  ") is called before it is built"));
        bool ok = x.dimension() == input_shape_.size() + 1;
        for (std::size_t i = 0; ok && i < input_shape_.size(); ++i)
            ok = x.shape()[i + 1] == input_shape_[i];
        if (!ok)
            throw shape_error(xkeras::detail::cat(
                "layer '", name(), "' (", class_name(), ") expects input shape ",
                shape_str(input_shape_, true), ", got ", shape_str(shape_of(x))));
    }

    /// Throws unless `mask` is (batch, steps) for the input x (batch, steps, ...).
    void check_mask(const tensor<T>& x, const tensor<T>& mask) const {
        if (mask.dimension() != 2 || x.dimension() < 2 || mask.shape()[0] != x.shape()[0] ||
            mask.shape()[1] != x.shape()[1])
            throw shape_error(xkeras::detail::cat(
                "layer '", name(), "' (", class_name(), "): expected a mask of shape (",
                x.dimension() ? x.shape()[0] : 0, ", ", x.dimension() > 1 ? x.shape()[1] : 0,
                ") (batch, steps) for input ", shape_str(shape_of(x)), ", got ",
                shape_str(shape_of(mask))));
    }

    /// Throws unless forward(x, training=true) ran since the last build (`ran`).
    void require_training_forward(bool ran) const {
        if (!ran)
            throw state_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  "): backward without forward(x, training=true)"));
    }

    /// A new weight "<layer name>/<what>" of `shape` ("<owner>/<layer name>/<what>" for a
    /// layer a wrapper holds), initialised by `init`.
    Param<T> make_param(const char* what, const shape_t& shape,
                        const initializers::Initializer& init,
                        const std::optional<regularizers::Regularizer>& reg = {},
                        bool trainable = true) const {
        const auto n = detail::checked_size(shape);
        std::size_t bytes = 0;
        if (!n || __builtin_mul_overflow(*n, sizeof(T), &bytes))
            throw value_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  "): weight '", what, "' of shape ",
                                                  shape_str(shape), " is too large to count"));
        auto& left = detail::weight_bytes_left();
        if (bytes > left)
            throw value_error(xkeras::detail::cat(
                "layer '", name(), "' (", class_name(), "): weight '", what, "' of shape ",
                shape_str(shape), " needs ", bytes, " bytes, more than the ", left,
                " bytes left by ", weight_limit::source()));
        if (left != std::size_t(-1)) left -= bytes;
        Param<T> p;
        p.name = (weight_owner_.empty() ? "" : weight_owner_ + "/") + name() + "/" + what;
        p.value = tensor<T>(shape);
        p.grad = xt::zeros<T>(shape);
        init.fill(p.value.data(), shape);
        p.regularizer = reg;
        p.trainable = trainable;
        p.changed();
        return p;
    }

    /// Throws shape_error when the elements of one sample of `shape` cannot be counted.
    void check_countable(const shape_t& shape, const char* what) const {
        if (!detail::checked_size(shape))
            throw shape_error(xkeras::detail::cat("layer '", name(), "' (", class_name(),
                                                  "): ", what, " shape ", shape_str(shape, true),
                                                  " has more elements than a size_t can count"));
    }

    /// Shape with the batch axis `n` put in front of `s`.
    static shape_t batched(std::size_t n, const shape_t& s) {
        shape_t out{n};
        out.insert(out.end(), s.begin(), s.end());
        return out;
    }

    /// Resizes `t` to `shape` unless it already has it (keeps the buffer across batches).
    static void ensure_shape(tensor<T>& t, const shape_t& shape) {
        if (t.dimension() != shape.size() ||
            !std::equal(shape.begin(), shape.end(), t.shape().begin()))
            t.resize(shape);
    }

    shape_t declared_input_shape_;
    shape_t input_shape_;
    shape_t output_shape_;
    bool built_ = false;
    bool output_logits_ = false;

  private:
    std::string name_;
    std::string weight_owner_;
};

}  // namespace xkeras::layers
