// xkeras/layers/batch_normalization.hpp - BatchNormalization over the last axis (channels).
//
// Training (fit, with the layer trainable): each channel is normalised with the batch mean and
// the biased batch variance (over every other axis), y = gamma (x - mean) / sqrt(var + eps) +
// beta, and the moving statistics move: moving = moving * momentum + batch * (1 - momentum).
// Otherwise (evaluate, predict, or a frozen layer) the moving statistics are used.
// With `synchronized` (Keras's synchronized=True) and a data-parallel step split over processes,
// the batch moments, and the sums of the backward pass, are those of the whole global batch
// (distribution/cross_replica.hpp); in one process the option changes nothing.
// Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance
// (non-trainable), each (C,). Defaults: momentum 0.99, epsilon 1e-3, center and scale on.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../backend/parallel.hpp"
#include "../distribution/cross_replica.hpp"
#include "../initializers.hpp"
#include "../io/json_limits.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct BatchNormalizationOptions {
    int axis = -1;  ///< Only the last axis (channels last) is supported.
    double momentum = 0.99;
    double epsilon = 1e-3;
    bool center = true;  ///< Learn beta.
    bool scale = true;   ///< Learn gamma.
    /// The moments of the whole global batch under data-parallel training, not of the process's
    /// part (Keras's synchronized=True); each process then runs one micro-batch per step.
    bool synchronized = false;
    initializers::Initializer beta_initializer = initializers::Zeros();
    initializers::Initializer gamma_initializer = initializers::Ones();
    initializers::Initializer moving_mean_initializer = initializers::Zeros();
    initializers::Initializer moving_variance_initializer = initializers::Ones();
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "batch_normalization", ...
};

/// `BatchNormalization()`.
template <class T = float>
class BatchNormalization : public Layer<T> {
  public:
    explicit BatchNormalization(BatchNormalizationOptions o = {})
        : Layer<T>("batch_normalization", o.name, o.input_shape), opt_(std::move(o)) {
        if (!(opt_.momentum >= 0.0 && opt_.momentum <= 1.0))
            throw value_error(xkeras::detail::cat(
                "BatchNormalization: expected momentum in [0, 1], got ", opt_.momentum));
        if (!(opt_.epsilon > 0.0))
            throw value_error(xkeras::detail::cat("BatchNormalization: expected epsilon > 0, got ",
                                                  opt_.epsilon));
    }

    std::string class_name() const override { return "BatchNormalization"; }
    bool supports_masking() const override { return true; }
    bool synchronized() const override { return opt_.synchronized && this->trainable; }
    /// Keras computes the batch's moments over the unmasked steps only; xkeras does not yet,
    /// and refuses a mask rather than count the padding.
    void check_input_mask() const override {
        throw value_error(xkeras::detail::cat(
            "layer '", this->name(),
            "' (BatchNormalization): its input carries a mask (Embedding's mask_zero), and "
            "the moments over the unmasked steps only are not supported; LayerNormalization, "
            "which normalizes each step alone, takes a mask"));
    }
    const BatchNormalizationOptions& options() const { return opt_; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["axis"] = opt_.axis;
        c["momentum"] = opt_.momentum;
        c["epsilon"] = opt_.epsilon;
        c["center"] = opt_.center;
        c["scale"] = opt_.scale;
        c["beta_initializer"] = config::to_json(opt_.beta_initializer);
        c["gamma_initializer"] = config::to_json(opt_.gamma_initializer);
        c["moving_mean_initializer"] = config::to_json(opt_.moving_mean_initializer);
        c["moving_variance_initializer"] = config::to_json(opt_.moving_variance_initializer);
        c["beta_regularizer"] = nullptr;
        c["gamma_regularizer"] = nullptr;
        c["beta_constraint"] = nullptr;
        c["gamma_constraint"] = nullptr;
        c["synchronized"] = opt_.synchronized;
        return c;
    }

    static layer_example example() { return {{{"momentum", 0.9}}, {3, 4}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "BatchNormalization");
        BatchNormalizationOptions o;
        o.name = r.name();
        if (r.has("axis")) {
            // tf.keras 2.x writes the axis as a list, e.g. [3]
            const auto& a = cfg["axis"];
            if (a.is_number_integer())
                o.axis = a.get<int>();
            else if (a.is_array() && a.size() == 1 && a[0].is_number_integer())
                o.axis = a[0].get<int>();
            else
                throw value_error("BatchNormalization '" + r.name() +
                                  "': config key 'axis' = " + io::describe(a) +
                                  " is not supported by xkeras (one axis, the last)");
        }
        r.mark("axis");
        o.momentum = r.get("momentum", 0.99);
        o.epsilon = r.get("epsilon", 1e-3);
        o.center = r.get("center", true);
        o.scale = r.get("scale", true);
        o.beta_initializer = r.initializer("beta_initializer", initializers::Zeros());
        o.gamma_initializer = r.initializer("gamma_initializer", initializers::Ones());
        o.moving_mean_initializer = r.initializer("moving_mean_initializer", initializers::Zeros());
        o.moving_variance_initializer =
            r.initializer("moving_variance_initializer", initializers::Ones());
        for (const char* k :
             {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
              "renorm_clipping", "virtual_batch_size", "adjustment"})
            r.expect(k, nullptr);
        o.synchronized = r.get("synchronized", false);
        r.expect("renorm", false);
        r.get("renorm_momentum", 0.99);  // meaningful only with renorm
        r.get("fused", true);            // an implementation choice of tf.keras
        r.finish();
        auto layer = std::make_unique<BatchNormalization<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.empty() || in.back() == 0)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (BatchNormalization) needs a channel axis, got ",
                shape_str(in, true)));
        const long rank = long(in.size()) + 1;  // with the batch axis
        if (opt_.axis != -1 && opt_.axis != rank - 1)
            throw value_error(
                xkeras::detail::cat("layer '", this->name(),
                                    "' (BatchNormalization): only axis -1 (channels last) is "
                                    "supported, got axis=",
                                    opt_.axis, " for input ", shape_str(in, true)));
        return in;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        std::vector<Param<T>*> ps;
        if (opt_.scale) ps.push_back(&gamma_);
        if (opt_.center) ps.push_back(&beta_);
        ps.push_back(&moving_mean_);
        ps.push_back(&moving_variance_);
        return ps;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t C = channels(), rows = x.size() / C;
        this->ensure_shape(y_, shape_of(x));
        batch_stats_ = training && this->trainable && rows > 0;  // an empty batch moves nothing
        synced_ = batch_stats_ && opt_.synchronized && distribution::in_cross_replica_step();
        if (batch_stats_) {
            // the moments about a shift: the first row here, or the global batch's mean
            const T* shift = x.data();
            double n = double(rows);
            if (synced_) {
                n = global_mean(x.data(), rows);
                shift = mean_.data();
            }
            column_sums(x.data(), nullptr, shift, rows, sum_, sumsq_);
            if (synced_) global_sums(0.0);
            const double eps = opt_.epsilon, m = opt_.momentum;
            T* mm = moving_mean_.value.data();
            T* mv = moving_variance_.value.data();
            for (std::size_t c = 0; c < C; ++c) {
                const double shifted = sum_[c] / n;
                const double var = std::max(0.0, sumsq_[c] / n - shifted * shifted);
                const double mean = double(shift[c]) + shifted;
                mean_[c] = T(mean);
                inv_std_[c] = T(1.0 / std::sqrt(var + eps));
                mm[c] = T(double(mm[c]) * m + mean * (1.0 - m));
                mv[c] = T(double(mv[c]) * m + var * (1.0 - m));
            }
            moving_mean_.changed();
            moving_variance_.changed();
        } else {
            for (std::size_t c = 0; c < C; ++c) {
                mean_[c] = moving_mean_.value.data()[c];
                inv_std_[c] =
                    T(1.0 / std::sqrt(double(moving_variance_.value.data()[c]) + opt_.epsilon));
            }
        }
        // y = x * a + b with a = gamma * inv_std, b = beta - mean * a
        for (std::size_t c = 0; c < C; ++c) {
            scale_[c] = gamma(c) * inv_std_[c];
            shift_[c] = beta(c) - mean_[c] * scale_[c];
        }
        for_rows(rows, [&](std::size_t r0, std::size_t r1) {
            const T* xp = x.data();
            T* yp = y_.data();
            for (std::size_t r = r0; r < r1; ++r)
                for (std::size_t c = 0; c < C; ++c)
                    yp[r * C + c] = xp[r * C + c] * scale_[c] + shift_[c];
        });
        x_ = training ? &x : nullptr;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        const std::size_t C = channels(), rows = dy.size() / C;
        // sum_[c] = sum(dy), sumsq_[c] = sum(dy * xhat)
        column_sums(dy.data(), x_->data(), nullptr, rows, sum_, sumsq_);
        // the weights' gradients are this process's share, summed with the gradient reducer's
        if (opt_.scale)
            for (std::size_t c = 0; c < C; ++c) gamma_.grad.data()[c] = T(sumsq_[c]);
        if (opt_.center)
            for (std::size_t c = 0; c < C; ++c) beta_.grad.data()[c] = T(sum_[c]);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        const T inv_n = T(1.0 / (synced_ ? global_sums(double(rows)) : double(rows)));
        for (std::size_t c = 0; c < C; ++c) {
            // batch statistics: dx = g inv_std (dy - mean(dy) - xhat mean(dy xhat));
            // moving statistics (constants): dx = g inv_std dy
            scale_[c] = gamma(c) * inv_std_[c];
            mean_dy_[c] = batch_stats_ ? T(sum_[c]) * inv_n : T(0);
            mean_dyx_[c] = batch_stats_ ? T(sumsq_[c]) * inv_n : T(0);
        }
        for_rows(rows, [&](std::size_t r0, std::size_t r1) {
            const T* d = dy.data();
            const T* xp = x_->data();
            T* o = dx_.data();
            for (std::size_t r = r0; r < r1; ++r)
                for (std::size_t c = 0; c < C; ++c) {
                    const std::size_t i = r * C + c;
                    const T xhat = (xp[i] - mean_[c]) * inv_std_[c];
                    o[i] = scale_[c] * (d[i] - mean_dy_[c] - xhat * mean_dyx_[c]);
                }
        });
        return dx_;
    }

  protected:
    void build_weights(const shape_t& in) override {
        const std::size_t C = in.back();
        gamma_ = this->make_param("gamma", {C}, opt_.gamma_initializer);
        beta_ = this->make_param("beta", {C}, opt_.beta_initializer);
        moving_mean_ =
            this->make_param("moving_mean", {C}, opt_.moving_mean_initializer, {}, false);
        moving_variance_ =
            this->make_param("moving_variance", {C}, opt_.moving_variance_initializer, {}, false);
        for (auto* v : {&mean_, &inv_std_, &scale_, &shift_, &mean_dy_, &mean_dyx_})
            v->assign(C, T(0));
        sum_.assign(C, 0.0);
        sumsq_.assign(C, 0.0);
    }

  private:
    std::size_t channels() const { return this->input_shape_.back(); }
    T gamma(std::size_t c) const { return opt_.scale ? gamma_.value.data()[c] : T(1); }
    T beta(std::size_t c) const { return opt_.center ? beta_.value.data()[c] : T(0); }

    template <class F>
    void for_rows(std::size_t rows, F&& f) const {
        const std::size_t per = std::max<std::size_t>(64, (std::size_t(1) << 15) / channels());
        backend::parallel_for((rows + per - 1) / per, [&](std::size_t t, int) {
            f(t * per, std::min(rows, (t + 1) * per));
        });
    }

    /// Synchronized moments, first pass: mean_ = the global batch's mean, in T (every process's
    /// sum of its rows, summed over the processes); returns the global batch's rows.
    double global_mean(const T* x, std::size_t rows) {
        const std::size_t C = channels();
        column_sums(x, nullptr, x, rows, sum_, sumsq_);
        exchange_.resize(C + 1);
        for (std::size_t c = 0; c < C; ++c)
            exchange_[c] = sum_[c] + double(rows) * double(x[c]);  // undoes the shift
        exchange_[C] = double(rows);
        distribution::cross_replica_sum(exchange_);
        for (std::size_t c = 0; c < C; ++c) mean_[c] = T(exchange_[c] / exchange_[C]);
        return exchange_[C];
    }

    /// Replaces sum_ and sumsq_ with their sums over the processes; returns the sum of `count`.
    double global_sums(double count) {
        const std::size_t C = channels();
        exchange_.resize(2 * C + 1);
        std::copy(sum_.begin(), sum_.end(), exchange_.begin());
        std::copy(sumsq_.begin(), sumsq_.end(), exchange_.begin() + std::ptrdiff_t(C));
        exchange_[2 * C] = count;
        distribution::cross_replica_sum(exchange_);
        std::copy_n(exchange_.begin(), C, sum_.begin());
        std::copy_n(exchange_.begin() + std::ptrdiff_t(C), C, sumsq_.begin());
        return exchange_[2 * C];
    }

    /// Per channel: s1 = sum(d) and s2 = sum(d * d) with d = a - shift when `x` is null, else
    /// s1 = sum(a) and s2 = sum(a * xhat(x)) (xhat from mean_ and inv_std_). A shift near the
    /// mean (the first row, or the global mean) keeps the variance s2/n - (s1/n)^2 from
    /// cancelling when the mean is large against the spread. Blocks of `block` rows are summed in
    /// T, channels side by side in vector registers; the blocks' sums are added up in double, so a
    /// batch of any size loses no more than a sum of 32 values in T does.
    void column_sums(const T* a, const T* x, const T* shift, std::size_t rows,
                     std::vector<double>& s1, std::vector<double>& s2) {
        constexpr std::size_t block = 32;
        const std::size_t C = channels(), threads = std::size_t(backend::pool_size());
        const std::size_t per = std::max<std::size_t>(64, (rows + threads - 1) / threads);
        const std::size_t tasks = (rows + per - 1) / per;
        partial_.assign(tasks * 2 * C, 0.0);
        block_sums_.resize(tasks * 2 * C);
        backend::parallel_for(tasks, [&](std::size_t t, int) {
            double* p1 = partial_.data() + t * 2 * C;
            double* p2 = p1 + C;
            T* b1 = block_sums_.data() + t * 2 * C;
            T* b2 = b1 + C;
            const T* mean = mean_.data();
            const T* inv_std = inv_std_.data();
            const std::size_t end = std::min(rows, (t + 1) * per);
            for (std::size_t r0 = t * per; r0 < end; r0 += block) {
                std::fill(b1, b1 + 2 * C, T(0));
                for (std::size_t r = r0; r < std::min(end, r0 + block); ++r) {
                    const T* ar = a + r * C;
                    if (x) {
                        const T* xr = x + r * C;
                        for (std::size_t c = 0; c < C; ++c) {
                            b1[c] += ar[c];
                            b2[c] += ar[c] * ((xr[c] - mean[c]) * inv_std[c]);
                        }
                    } else {
                        for (std::size_t c = 0; c < C; ++c) {
                            const T d = ar[c] - shift[c];
                            b1[c] += d;
                            b2[c] += d * d;
                        }
                    }
                }
                for (std::size_t c = 0; c < C; ++c) {
                    p1[c] += double(b1[c]);
                    p2[c] += double(b2[c]);
                }
            }
        });
        std::fill(s1.begin(), s1.end(), 0.0);
        std::fill(s2.begin(), s2.end(), 0.0);
        for (std::size_t t = 0; t < tasks; ++t)
            for (std::size_t c = 0; c < C; ++c) {
                s1[c] += partial_[t * 2 * C + c];
                s2[c] += partial_[t * 2 * C + C + c];
            }
    }

    BatchNormalizationOptions opt_;
    Param<T> gamma_, beta_, moving_mean_, moving_variance_;
    std::vector<T> mean_, inv_std_, scale_, shift_, mean_dy_, mean_dyx_;
    std::vector<double> sum_, sumsq_, partial_, exchange_;
    std::vector<T> block_sums_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
    bool batch_stats_ = false;
    bool synced_ = false;  ///< whether the last forward pass took the global batch's moments
};

}  // namespace xkeras::layers
