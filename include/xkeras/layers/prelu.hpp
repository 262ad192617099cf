// xkeras/layers/prelu.hpp - PReLU: x for x >= 0, alpha x below, with alpha learned (He et al.,
// 2015), one alpha per value of a sample or shared along `shared_axes`.
//
// Weight: alpha, shaped as the input without its batch axis, 1 along each shared axis (Keras's
// count: PReLU over (28, 28, 32) with shared_axes [1, 2] has 32). Defaults: alpha initialised
// to zeros (the layer starts as a ReLU), no regularizer. As Keras's relu(x) - alpha relu(-x),
// the gradient is 0 at x = 0.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// Options of PReLU, in Keras's order; every default is Keras 3's.
struct PReLUOptions {
    initializers::Initializer alpha_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> alpha_regularizer{};
    /// Axes along which one alpha is shared, counted as Keras counts them (1 the first axis
    /// after the batch): {1, 2} after a Conv2D gives one alpha per channel.
    std::vector<int> shared_axes{};
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "p_re_lu", "p_re_lu_1", ...
};

/// `PReLU()`, `PReLU({.shared_axes = {1, 2}})`.
template <class T = float>
class PReLU : public Layer<T> {
  public:
    explicit PReLU(PReLUOptions o = {}) : Layer<T>("p_re_lu", o.name, o.input_shape), opt_(o) {}

    std::string class_name() const override { return "PReLU"; }
    bool supports_masking() const override { return true; }
    const PReLUOptions& options() const { return opt_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        alpha_shape(in);  // throws when the shared axes do not fit the input
        return in;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        return {&alpha_};
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        const std::size_t S = index_.size(), rows = x.size() / std::max<std::size_t>(S, 1);
        const T* a = alpha_.value.data();
        backend::parallel_ranges(rows, rows_per_task(), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* xr = x.data() + r * S;
                T* yr = y_.data() + r * S;
                for (std::size_t j = 0; j < S; ++j)
                    yr[j] = xr[j] < T(0) ? a[index_[j]] * xr[j] : xr[j];
            }
        });
        x_ = training ? &x : nullptr;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        const std::size_t S = index_.size(), rows = dy.size() / std::max<std::size_t>(S, 1);
        const T* x = x_->data();
        const T* d = dy.data();
        // alpha's gradient: the sum of dy x over the negative inputs, in one fixed order (the
        // same bits on any number of threads)
        T* da = alpha_.grad.data();
        std::fill(da, da + alpha_.grad.size(), T(0));
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < S; ++j) {
                const T v = x[r * S + j];
                if (v < T(0)) da[index_[j]] += d[r * S + j] * v;
            }
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        const T* a = alpha_.value.data();
        backend::parallel_ranges(rows, rows_per_task(), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r)
                for (std::size_t j = 0; j < S; ++j) {
                    const T v = x[r * S + j];
                    const T g = v > T(0) ? T(1) : v < T(0) ? a[index_[j]] : T(0);
                    dx_.data()[r * S + j] = d[r * S + j] * g;
                }
        });
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["alpha_initializer"] = config::to_json(opt_.alpha_initializer);
        c["alpha_regularizer"] = config::to_json(opt_.alpha_regularizer);
        c["alpha_constraint"] = nullptr;
        if (opt_.shared_axes.empty())
            c["shared_axes"] = nullptr;
        else
            c["shared_axes"] = opt_.shared_axes;
        return c;
    }

    static layer_example example() {
        return {{{"shared_axes", {1}},
                 {"alpha_initializer",
                  {{"class_name", "RandomUniform"},
                   {"config", {{"minval", 0.1}, {"maxval", 0.4}, {"seed", 5}}}}}},
                {3, 4}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "PReLU");
        PReLUOptions o;
        o.name = r.name();
        o.alpha_initializer = r.initializer("alpha_initializer", initializers::Zeros());
        o.alpha_regularizer = r.regularizer("alpha_regularizer");
        r.expect("alpha_constraint", nullptr);
        o.shared_axes = r.axes("shared_axes", 1, {});
        r.finish();
        auto layer = std::make_unique<PReLU<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        const shape_t shape = alpha_shape(in);
        alpha_ = this->make_param("alpha", shape, opt_.alpha_initializer, opt_.alpha_regularizer);
        // index_[j]: the alpha of a sample's j-th value (row-major; a shared axis has stride 0)
        std::size_t S = 1;
        for (auto d : in) S *= d;
        index_.assign(S, 0);
        std::vector<std::size_t> stride(in.size(), 0);
        for (std::size_t k = in.size(), s = 1; k-- > 0;) {
            stride[k] = shape[k] == 1 ? 0 : s;
            s *= shape[k];
        }
        for (std::size_t j = 0; j < S; ++j) {
            std::size_t rest = j, at = 0;
            for (std::size_t k = in.size(); k-- > 0;) {
                at += (rest % in[k]) * stride[k];
                rest /= in[k];
            }
            index_[j] = at;
        }
    }

  private:
    /// alpha's shape for input `in` (without the batch axis); throws for a shared axis that is
    /// the batch axis or beyond the input's.
    shape_t alpha_shape(const shape_t& in) const {
        shape_t shape = in;
        for (int a : opt_.shared_axes) {
            if (a < 1 || std::size_t(a) > in.size())
                throw value_error(xkeras::detail::cat(
                    "layer '", this->name(), "' (PReLU): shared axis ", a, " does not fit input ",
                    shape_str(in, true), " (expected axes 1 to ", in.size(), ")"));
            shape[std::size_t(a) - 1] = 1;
        }
        for (auto d : in)
            if (d == 0)
                throw value_error(xkeras::detail::cat("layer '", this->name(),
                                                      "' (PReLU): expected no empty axis, got ",
                                                      shape_str(in, true)));
        return shape;
    }

    std::size_t rows_per_task() const {
        return std::max<std::size_t>(1, 16384 / std::max<std::size_t>(index_.size(), 1));
    }

    PReLUOptions opt_;
    Param<T> alpha_;
    std::vector<std::size_t> index_;  ///< Per value of a sample: its alpha's offset.
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
};

}  // namespace xkeras::layers
