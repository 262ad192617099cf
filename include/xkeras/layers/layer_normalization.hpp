// xkeras/layers/layer_normalization.hpp - LayerNormalization: each sample normalised over its
// last axes (Ba et al., 2016), y = gamma (x - mean) / sqrt(var + epsilon) + beta, with the mean
// and the biased variance of the sample's values over those axes.
//
// Weights, in Keras's order: gamma (with scale), beta (with center), each shaped as the
// normalised axes. Defaults: axis -1, epsilon 1e-3, center and scale on. Unlike
// BatchNormalization it computes the same in training and at inference, and keeps no moving
// statistics. The axes must be the last ones of the input (-1, or e.g. [-2, -1]): what every
// Keras model normalises over; other sets are refused at build.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// Options of LayerNormalization, in Keras's order; every default is Keras 3's.
struct LayerNormalizationOptions {
    /// The axes normalised over, counted as Keras counts them (-1 the last, 0 the batch
    /// axis): the input's last axes.
    std::vector<int> axis{-1};
    double epsilon = 1e-3;  ///< Added to the variance; > 0.
    bool center = true;     ///< Learn beta.
    bool scale = true;      ///< Learn gamma.
    initializers::Initializer beta_initializer = initializers::Zeros();
    initializers::Initializer gamma_initializer = initializers::Ones();
    std::optional<regularizers::Regularizer> beta_regularizer{};
    std::optional<regularizers::Regularizer> gamma_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "layer_normalization", ...
};

/// `LayerNormalization()`, `LayerNormalization({.epsilon = 1e-6})`.
template <class T = float>
class LayerNormalization : public Layer<T> {
  public:
    explicit LayerNormalization(LayerNormalizationOptions o = {})
        : Layer<T>("layer_normalization", o.name, o.input_shape), opt_(std::move(o)) {
        if (!(opt_.epsilon > 0.0) || !std::isfinite(opt_.epsilon))
            throw value_error(xkeras::detail::cat("LayerNormalization '", this->name(),
                                                  "': expected epsilon > 0, got ", opt_.epsilon));
        if (opt_.axis.empty())
            throw value_error("LayerNormalization '" + this->name() +
                              "': expected at least one axis, got none");
    }

    std::string class_name() const override { return "LayerNormalization"; }
    bool supports_masking() const override { return true; }
    const LayerNormalizationOptions& options() const { return opt_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        normalized_axes(in);  // throws when the axes do not fit the input
        return in;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        std::vector<Param<T>*> ps;
        if (opt_.scale) ps.push_back(&gamma_);
        if (opt_.center) ps.push_back(&beta_);
        return ps;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t G = group_, rows = x.size() / G;
        this->ensure_shape(y_, shape_of(x));
        if (training) this->ensure_shape(xhat_, shape_of(x));  // only backward reads it
        inv_std_.resize(rows);
        const T* gamma = gamma_.value.data();
        const T* beta = beta_.value.data();
        backend::parallel_ranges(rows, rows_per_task(), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* xr = x.data() + r * G;
                T* yr = y_.data() + r * G;
                // two passes, the sums in double: no cancellation for a large mean
                double sum = 0.0;
                for (std::size_t c = 0; c < G; ++c) sum += double(xr[c]);
                const double mean = sum / double(G);
                double sq = 0.0;
                for (std::size_t c = 0; c < G; ++c) {
                    const double d = double(xr[c]) - mean;
                    sq += d * d;
                }
                const T inv = T(1.0 / std::sqrt(sq / double(G) + opt_.epsilon));
                inv_std_[r] = inv;
                // x - mean in double: the mean rounded to T would shift every output
                for (std::size_t c = 0; c < G; ++c) yr[c] = T((double(xr[c]) - mean) * double(inv));
                if (training) std::copy(yr, yr + G, xhat_.data() + r * G);
                for (std::size_t c = 0; c < G; ++c) yr[c] = yr[c] * gamma[c] + beta[c];
            }
        });
        trained_ = training;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(trained_);
        const std::size_t G = group_, rows = dy.size() / G;
        const T* d = dy.data();
        const T* xh = xhat_.data();
        const T* gamma = gamma_.value.data();
        // gamma's and beta's gradients: sums over the samples, by blocks of columns (the same
        // bits on any number of threads)
        backend::parallel_ranges(G, 64, [&](std::size_t c0, std::size_t c1) {
            T* dg = opt_.scale ? gamma_.grad.data() : nullptr;
            T* db = opt_.center ? beta_.grad.data() : nullptr;
            if (dg) {
                std::fill(dg + c0, dg + c1, T(0));
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t c = c0; c < c1; ++c) dg[c] += d[r * G + c] * xh[r * G + c];
            }
            if (db) {
                std::fill(db + c0, db + c1, T(0));
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t c = c0; c < c1; ++c) db[c] += d[r * G + c];
            }
        });
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        // dx = inv_std (g - mean(g) - xhat mean(g xhat)), g = dy gamma, per sample
        backend::parallel_ranges(rows, rows_per_task(), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* dr = d + r * G;
                const T* hr = xh + r * G;
                T* o = dx_.data() + r * G;
                double s1 = 0.0, s2 = 0.0;
                for (std::size_t c = 0; c < G; ++c) {
                    const double g = double(dr[c]) * double(gamma[c]);
                    s1 += g;
                    s2 += g * double(hr[c]);
                }
                const T m1 = T(s1 / double(G)), m2 = T(s2 / double(G)), inv = inv_std_[r];
                for (std::size_t c = 0; c < G; ++c)
                    o[c] = inv * (dr[c] * gamma[c] - m1 - hr[c] * m2);
            }
        });
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        if (opt_.axis.size() == 1)
            c["axis"] = opt_.axis[0];
        else
            c["axis"] = opt_.axis;
        c["epsilon"] = opt_.epsilon;
        c["center"] = opt_.center;
        c["scale"] = opt_.scale;
        c["rms_scaling"] = false;
        c["beta_initializer"] = config::to_json(opt_.beta_initializer);
        c["gamma_initializer"] = config::to_json(opt_.gamma_initializer);
        c["beta_regularizer"] = config::to_json(opt_.beta_regularizer);
        c["gamma_regularizer"] = config::to_json(opt_.gamma_regularizer);
        c["beta_constraint"] = nullptr;
        c["gamma_constraint"] = nullptr;
        return c;
    }

    static layer_example example() { return {{{"epsilon", 0.01}}, {3, 4}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "LayerNormalization");
        LayerNormalizationOptions o;
        o.name = r.name();
        o.axis = r.axes("axis", -64, {-1});
        o.epsilon = r.get("epsilon", 1e-3);
        o.center = r.get("center", true);
        o.scale = r.get("scale", true);
        r.expect("rms_scaling", false);
        o.beta_initializer = r.initializer("beta_initializer", initializers::Zeros());
        o.gamma_initializer = r.initializer("gamma_initializer", initializers::Ones());
        o.beta_regularizer = r.regularizer("beta_regularizer");
        o.gamma_regularizer = r.regularizer("gamma_regularizer");
        r.expect("beta_constraint", nullptr);
        r.expect("gamma_constraint", nullptr);
        r.finish();
        auto layer = std::make_unique<LayerNormalization<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        const std::size_t k = normalized_axes(in);
        const shape_t param_shape(in.end() - long(k), in.end());
        group_ = 1;
        for (auto d : param_shape) group_ *= d;
        // Both made, so that forward and backward read both without a test per value; the one
        // the options leave out is not a weight, and holds ones (gamma) or zeros (beta).
        gamma_ =
            this->make_param("gamma", param_shape, opt_.gamma_initializer, opt_.gamma_regularizer);
        beta_ = this->make_param("beta", param_shape, opt_.beta_initializer, opt_.beta_regularizer);
        if (!opt_.scale) gamma_.value.fill(T(1));
        if (!opt_.center) beta_.value.fill(T(0));
        trained_ = false;
    }

  private:
    /// The number of trailing axes of `in` (without the batch axis) the options name; throws
    /// when they are not the last ones, or name the batch axis or an axis `in` lacks.
    std::size_t normalized_axes(const shape_t& in) const {
        const long rank = long(in.size()) + 1;  // with the batch axis
        std::vector<long> axes;
        for (int a : opt_.axis) axes.push_back(a < 0 ? a + rank : a);
        std::sort(axes.begin(), axes.end());
        const bool unique = std::adjacent_find(axes.begin(), axes.end()) == axes.end();
        bool trailing = unique && !axes.empty() && axes.front() >= 1 && axes.back() == rank - 1 &&
                        axes.back() - axes.front() + 1 == long(axes.size());
        for (auto d : in) trailing = trailing && d > 0;
        if (!trailing) {
            std::string list;
            for (int a : opt_.axis) list += (list.empty() ? "" : ", ") + std::to_string(a);
            throw value_error(xkeras::detail::cat(
                "layer '", this->name(), "' (LayerNormalization): axis [", list,
                "] does not fit input ", shape_str(in, true),
                " (expected the last axes of a sample, each once, none empty: -1, or e.g. [-2, "
                "-1])"));
        }
        return axes.size();
    }

    std::size_t rows_per_task() const { return std::max<std::size_t>(1, 16384 / group_); }

    LayerNormalizationOptions opt_;
    std::size_t group_ = 1;  ///< Values normalised together (the product of the axes' sizes).
    Param<T> gamma_, beta_;
    std::vector<T> inv_std_;  ///< Per sample of the last forward.
    tensor<T> y_, xhat_, dx_;
    bool trained_ = false;
};

}  // namespace xkeras::layers
