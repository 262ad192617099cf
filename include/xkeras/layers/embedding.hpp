// xkeras/layers/embedding.hpp - Embedding: row i of a learned table for each index i.
//
// Input (batch, ...) of indices in [0, input_dim), held as numbers of the model's type (a
// float represents every index below 2^24 exactly) and cast to integers as Keras casts them
// (toward zero); output (batch, ..., output_dim); weight "embeddings" (input_dim, output_dim).
// An index outside the table is refused, naming it and where it is, as TensorFlow's CPU
// kernels refuse it (JAX would clamp it silently). Indices have no gradient: the input gradient
// is zero, as Keras's is none. With mask_zero, index 0 is padding: the output carries a mask,
// 0 where the index is 0, for the layers after it (layers/layer.hpp, "masks").
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// Options of Embedding, in Keras's order; every default is Keras's.
struct EmbeddingOptions {
    /// Keras's "uniform": RandomUniform(-0.05, 0.05).
    initializers::Initializer embeddings_initializer = initializers::RandomUniform();
    std::optional<regularizers::Regularizer> embeddings_regularizer{};
    /// Whether index 0 is padding: the output then carries a mask, 0 where the index is 0,
    /// that the layers after it take into account (layers/layer.hpp, "masks").
    bool mask_zero = false;
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, ...), for a first layer.
    std::string name{};     ///< Defaults to "embedding", "embedding_1", ...
};

/// `Embedding(10000, 64)`: indices below 10,000 to vectors of 64.
template <class T = float>
class Embedding : public Layer<T> {
  public:
    Embedding(int input_dim, int output_dim, EmbeddingOptions options = {})
        : Layer<T>("embedding", options.name, options.input_shape),
          input_dim_(detail::positive_size(input_dim, "Embedding", "input_dim")),
          output_dim_(detail::positive_size(output_dim, "Embedding", "output_dim")),
          opt_(std::move(options)) {}

    std::string class_name() const override { return "Embedding"; }
    std::size_t input_dim() const { return input_dim_; }
    std::size_t output_dim() const { return output_dim_; }
    const EmbeddingOptions& options() const { return opt_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        shape_t out = in;
        out.push_back(output_dim_);
        return out;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        return {&embeddings_};
    }

    bool output_masked(bool) const override { return opt_.mask_zero; }

    /// With mask_zero, 1 where the last forward pass's index is not 0; else none.
    const tensor<T>* compute_mask(const tensor<T>&, const tensor<T>*) const override {
        return opt_.mask_zero ? &mask_ : nullptr;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.size(), d = output_dim_;
        indices_.resize(n);
        for (std::size_t r = 0; r < n; ++r) indices_[r] = index(x, r);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        const T* table = embeddings_.value.data();
        T* y = y_.data();
        backend::parallel_ranges(n, std::max<std::size_t>(1, 4096 / d),
                                 [&](std::size_t r0, std::size_t r1) {
                                     for (std::size_t r = r0; r < r1; ++r)
                                         std::copy_n(table + indices_[r] * d, d, y + r * d);
                                 });
        if (opt_.mask_zero) {
            this->ensure_shape(mask_, shape_of(x));
            for (std::size_t r = 0; r < n; ++r) mask_.data()[r] = indices_[r] != 0 ? T(1) : T(0);
        }
        x_shape_ = training ? shape_of(x) : shape_t{};
        trained_ = training;
        return y_;
    }

    /// Adds each output row's gradient to its index's row of the table's gradient, in the
    /// order of the rows, and shares the table's columns out over the threads: the same bits on
    /// any number of threads.
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(trained_);
        const std::size_t n = indices_.size(), d = output_dim_;
        T* g = embeddings_.grad.data();
        const T* dyp = dy.data();
        backend::parallel_ranges(d, 16, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t i = 0; i < input_dim_; ++i)
                std::fill(g + i * d + c0, g + i * d + c1, T(0));
            for (std::size_t r = 0; r < n; ++r) {
                T* gi = g + indices_[r] * d;
                const T* dr = dyp + r * d;
                for (std::size_t c = c0; c < c1; ++c) gi[c] += dr[c];
            }
        });
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, x_shape_);
        dx_.fill(T(0));
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["input_dim"] = input_dim_;
        c["output_dim"] = output_dim_;
        c["embeddings_initializer"] = config::to_json(opt_.embeddings_initializer);
        c["embeddings_regularizer"] = config::to_json(opt_.embeddings_regularizer);
        c["activity_regularizer"] = nullptr;
        c["embeddings_constraint"] = nullptr;
        c["mask_zero"] = opt_.mask_zero;
        return c;
    }

    static layer_example example() { return {{{"input_dim", 7}, {"output_dim", 3}}, {5}, 7}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Embedding");
        EmbeddingOptions o;
        o.name = r.name();
        const int input_dim = r.get_int("input_dim");
        const int output_dim = r.get_int("output_dim");
        o.embeddings_initializer =
            r.initializer("embeddings_initializer", initializers::RandomUniform());
        o.embeddings_regularizer = r.regularizer("embeddings_regularizer");
        o.mask_zero = r.get("mask_zero", false);
        r.mark("input_length");  // Keras 2's sequence length; the model's input shape has it
        for (const char* k :
             {"activity_regularizer", "embeddings_constraint", "lora_rank", "lora_alpha"})
            r.expect(k, nullptr);
        r.finish();
        auto layer = std::make_unique<Embedding<T>>(input_dim, output_dim, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t&) override {
        embeddings_ = this->make_param("embeddings", {input_dim_, output_dim_},
                                       opt_.embeddings_initializer, opt_.embeddings_regularizer);
    }

  private:
    /// Entry r of the indices x, cast toward zero as Keras casts; refused outside the table.
    std::size_t index(const tensor<T>& x, std::size_t r) const {
        const T v = x.data()[r];
        if (std::isfinite(v) && v > T(-1) && v < T(input_dim_)) return std::size_t(v);
        const shape_t s = shape_of(x);
        shape_t at(s.size());
        for (std::size_t a = s.size(), rest = r; a-- > 0;) {
            at[a] = rest % s[a];
            rest /= s[a];
        }
        throw value_error(xkeras::detail::cat(
            "layer '", this->name(), "' (Embedding): index ", v, " at ", shape_str(at),
            " of the input is outside ", "[0, ", input_dim_, ") (input_dim ", input_dim_, ")"));
    }

    std::size_t input_dim_, output_dim_;
    EmbeddingOptions opt_;
    Param<T> embeddings_;
    tensor<T> y_, dx_, mask_;
    std::vector<std::size_t> indices_;  ///< the last forward pass's rows of the table
    shape_t x_shape_;
    bool trained_ = false;
};

}  // namespace xkeras::layers
