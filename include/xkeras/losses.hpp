// xkeras/losses.hpp - losses with Keras's names, formulas and reduction.
//
// Each loss is computed per sample over the last axis and averaged over the samples of the
// batch (Keras's default reduction "sum_over_batch_size"). Crossentropies clip probabilities to
// [1e-7, 1 - 1e-7] as Keras does; when the model's last activation is a softmax (sigmoid for
// binary crossentropy) the model instead hands the loss the logits, and the loss and its gradient
// are computed from them without clipping: this is Keras's TensorFlow backend behaviour, and its
// gradient (softmax - y) is the stable one.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>

#include "activations.hpp"
#include "config.hpp"
#include "tensor.hpp"

namespace xkeras::losses {

inline constexpr double epsilon = 1e-7;  ///< Keras's backend epsilon, used for clipping.

/// Base of every loss.
template <class T>
class Loss {
  public:
    virtual ~Loss() = default;
    /// Keras's function name, e.g. "categorical_crossentropy".
    virtual std::string name() const = 0;

    /// Checks the targets of a whole dataset against the model's output shape (batch aside):
    /// shapes and, for sparse labels, the class range. Throws shape_error / value_error.
    virtual void check_targets(const tensor<T>& y_true, const shape_t& output_shape) const {
        shape_t ys = shape_of(y_true);
        shape_t want = output_shape;
        want.insert(want.begin(), ys.empty() ? 0 : ys[0]);
        if (ys != want)
            throw shape_error(detail::cat(name(), ": targets of shape ", shape_str(ys),
                                          " do not match the model's output shape ",
                                          shape_str(output_shape, true)));
    }

    /// Mean loss of a batch; writes dL/d(y_pred) of the mean into `grad` (resized as y_pred).
    virtual double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                           tensor<T>& grad) const = 0;

    /// Whether this loss can take the logits of a model ending in activation `k`.
    virtual bool fuses_with(activations::kind /*k*/) const { return false; }

    /// Mean loss from logits; `grad` receives dL/d(logits).
    virtual double compute_from_logits(const tensor<T>& /*y_true*/, const tensor<T>& /*logits*/,
                                       tensor<T>& /*grad*/) const {
        throw state_error(detail::cat(name(), " cannot be computed from logits"));
    }

  protected:
    static void like(tensor<T>& grad, const tensor<T>& y) {
        if (grad.shape() != y.shape()) grad.resize(y.shape());
    }
    static std::size_t last_dim(const tensor<T>& y) {
        return y.dimension() == 0 ? 1 : y.shape()[y.dimension() - 1];
    }
};

/// -sum(y * log(p)) over the last axis. `from_logits`: the model outputs logits.
/// `label_smoothing` ls: y <- y * (1 - ls) + ls / classes.
template <class T = float>
class CategoricalCrossentropy : public Loss<T> {
  public:
    explicit CategoricalCrossentropy(bool from_logits = false, double label_smoothing = 0.0)
        : from_logits_(from_logits), ls_(label_smoothing) {
        if (!(ls_ >= 0.0 && ls_ <= 1.0))
            throw value_error(detail::cat(
                "CategoricalCrossentropy: expected label_smoothing in [0, 1], got ", ls_));
    }
    std::string name() const override { return "categorical_crossentropy"; }
    bool from_logits() const { return from_logits_; }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        if (from_logits_) return compute_from_logits(y_true, y_pred, grad);
        this->like(grad, y_pred);
        const std::size_t c = this->last_dim(y_pred), rows = y_pred.size() / c;
        const T* yt = y_true.data();
        const T* p = y_pred.data();
        T* g = grad.data();
        double total = 0.0;
        const double inv_n = 1.0 / double(rows);
        for (std::size_t r = 0; r < rows; ++r, yt += c, p += c, g += c) {
            // Keras: p <- p / sum(p), clip to [eps, 1 - eps], loss = -sum(y log p).
            double s = 0.0;
            for (std::size_t j = 0; j < c; ++j) s += double(p[j]);
            double sum_gy = 0.0;  // sum_j y_j * [unclipped] / p_j terms for the normalisation
            for (std::size_t j = 0; j < c; ++j) {
                double y = smooth(yt[j], c);
                double q = double(p[j]) / s;
                double qc = std::clamp(q, epsilon, 1.0 - epsilon);
                total -= y * std::log(qc);
                double dq = (q > epsilon && q < 1.0 - epsilon) ? -y / qc : 0.0;
                g[j] = static_cast<T>(dq);  // dL/dq_j for now
                sum_gy += dq * q;
            }
            // q_j = p_j / s: dL/dp_j = (dL/dq_j - sum_k dL/dq_k q_k) / s
            for (std::size_t j = 0; j < c; ++j)
                g[j] = static_cast<T>((double(g[j]) - sum_gy) / s * inv_n);
        }
        return total * inv_n;
    }

    bool fuses_with(activations::kind k) const override {
        return !from_logits_ && k == activations::kind::softmax;
    }

    double compute_from_logits(const tensor<T>& y_true, const tensor<T>& z,
                               tensor<T>& grad) const override {
        this->like(grad, z);
        const std::size_t c = this->last_dim(z), rows = z.size() / c;
        const T* yt = y_true.data();
        const T* zp = z.data();
        T* g = grad.data();
        double total = 0.0;
        const double inv_n = 1.0 / double(rows);
        for (std::size_t r = 0; r < rows; ++r, yt += c, zp += c, g += c) {
            // loss = sum(y) * logsumexp(z) - sum(y z); dL/dz = sum(y) softmax(z) - y
            double mx = double(*std::max_element(zp, zp + c));
            double se = 0.0;
            for (std::size_t j = 0; j < c; ++j) se += std::exp(double(zp[j]) - mx);
            double lse = mx + std::log(se);
            double ysum = 0.0;
            for (std::size_t j = 0; j < c; ++j) {
                double y = smooth(yt[j], c);
                ysum += y;
                total -= y * (double(zp[j]) - lse);
            }
            for (std::size_t j = 0; j < c; ++j) {
                double sm = std::exp(double(zp[j]) - lse);
                g[j] = static_cast<T>((ysum * sm - smooth(yt[j], c)) * inv_n);
            }
        }
        return total * inv_n;
    }

  private:
    double smooth(T y, std::size_t c) const {
        return ls_ == 0.0 ? double(y) : double(y) * (1.0 - ls_) + ls_ / double(c);
    }
    bool from_logits_;
    double ls_;
};

/// Categorical crossentropy with integer class labels: targets (batch,) or (batch, 1).
template <class T = float>
class SparseCategoricalCrossentropy : public Loss<T> {
  public:
    explicit SparseCategoricalCrossentropy(bool from_logits = false) : from_logits_(from_logits) {}
    std::string name() const override { return "sparse_categorical_crossentropy"; }

    void check_targets(const tensor<T>& y_true, const shape_t& output_shape) const override {
        check_sparse_targets(name(), y_true, output_shape);
    }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        if (from_logits_) return compute_from_logits(y_true, y_pred, grad);
        this->like(grad, y_pred);
        const std::size_t c = this->last_dim(y_pred), rows = y_pred.size() / c;
        const T* p = y_pred.data();
        T* g = grad.data();
        double total = 0.0;
        const double inv_n = 1.0 / double(rows);
        for (std::size_t r = 0; r < rows; ++r, p += c, g += c) {
            const auto k = label(y_true, r, c);
            double s = 0.0;
            for (std::size_t j = 0; j < c; ++j) s += double(p[j]);
            double q = double(p[k]) / s;
            double qc = std::clamp(q, epsilon, 1.0 - epsilon);
            total -= std::log(qc);
            double dq = (q > epsilon && q < 1.0 - epsilon) ? -1.0 / qc : 0.0;
            for (std::size_t j = 0; j < c; ++j)
                g[j] = static_cast<T>(((j == k ? dq : 0.0) - dq * q) / s * inv_n);
        }
        return total * inv_n;
    }

    bool fuses_with(activations::kind k) const override {
        return !from_logits_ && k == activations::kind::softmax;
    }

    double compute_from_logits(const tensor<T>& y_true, const tensor<T>& z,
                               tensor<T>& grad) const override {
        this->like(grad, z);
        const std::size_t c = this->last_dim(z), rows = z.size() / c;
        const T* zp = z.data();
        T* g = grad.data();
        double total = 0.0;
        const double inv_n = 1.0 / double(rows);
        for (std::size_t r = 0; r < rows; ++r, zp += c, g += c) {
            const auto k = label(y_true, r, c);
            double mx = double(*std::max_element(zp, zp + c));
            double se = 0.0;
            for (std::size_t j = 0; j < c; ++j) se += std::exp(double(zp[j]) - mx);
            double lse = mx + std::log(se);
            total -= double(zp[k]) - lse;
            for (std::size_t j = 0; j < c; ++j)
                g[j] =
                    static_cast<T>((std::exp(double(zp[j]) - lse) - (j == k ? 1.0 : 0.0)) * inv_n);
        }
        return total * inv_n;
    }

    /// Shared with the sparse accuracy metric: labels (N,) or (N, 1), integers in [0, classes).
    static void check_sparse_targets(const std::string& who, const tensor<T>& y_true,
                                     const shape_t& output_shape) {
        const std::size_t n = y_true.dimension() == 0 ? 0 : y_true.shape()[0];
        bool shape_ok = (y_true.dimension() == output_shape.size() ||
                         (y_true.dimension() == output_shape.size() + 1 &&
                          y_true.shape()[y_true.dimension() - 1] == 1));
        for (std::size_t i = 0; shape_ok && i + 1 < output_shape.size(); ++i)
            shape_ok = y_true.shape()[i + 1] == output_shape[i];
        if (!shape_ok || output_shape.empty())
            throw shape_error(detail::cat(who, ": expected integer labels of shape (", n, ",) or (",
                                          n, ", 1) for the model's output shape ",
                                          shape_str(output_shape, true), ", got ",
                                          shape_str(shape_of(y_true))));
        const double classes = double(output_shape.back());
        for (std::size_t i = 0; i < y_true.size(); ++i) {
            double v = double(y_true.data()[i]);
            if (!(v >= 0.0 && v < classes) || v != std::floor(v))
                throw value_error(detail::cat(who, ": label ", i, " is ", v,
                                              ", expected an integer in [0, ", output_shape.back(),
                                              ")"));
        }
    }

  private:
    static std::size_t label(const tensor<T>& y_true, std::size_t r, std::size_t) {
        return static_cast<std::size_t>(y_true.data()[r]);
    }
    bool from_logits_;
};

/// -(y log p + (1 - y) log(1 - p)), mean over the last axis.
template <class T = float>
class BinaryCrossentropy : public Loss<T> {
  public:
    explicit BinaryCrossentropy(bool from_logits = false, double label_smoothing = 0.0)
        : from_logits_(from_logits), ls_(label_smoothing) {
        if (!(ls_ >= 0.0 && ls_ <= 1.0))
            throw value_error(
                detail::cat("BinaryCrossentropy: expected label_smoothing in [0, 1], got ", ls_));
    }
    std::string name() const override { return "binary_crossentropy"; }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        if (from_logits_) return compute_from_logits(y_true, y_pred, grad);
        this->like(grad, y_pred);
        const std::size_t c = this->last_dim(y_pred), n = y_pred.size(), rows = n / c;
        const double scale = 1.0 / double(rows * c);
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double y = smooth(y_true.data()[i]);
            double p = double(y_pred.data()[i]);
            double pc = std::clamp(p, epsilon, 1.0 - epsilon);
            total -= y * std::log(pc) + (1.0 - y) * std::log(1.0 - pc);
            double d = (p > epsilon && p < 1.0 - epsilon) ? (pc - y) / (pc * (1.0 - pc)) : 0.0;
            grad.data()[i] = static_cast<T>(d * scale);
        }
        return total * scale;
    }

    bool fuses_with(activations::kind k) const override {
        return !from_logits_ && k == activations::kind::sigmoid;
    }

    double compute_from_logits(const tensor<T>& y_true, const tensor<T>& z,
                               tensor<T>& grad) const override {
        this->like(grad, z);
        const std::size_t c = this->last_dim(z), n = z.size(), rows = n / c;
        const double scale = 1.0 / double(rows * c);
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double y = smooth(y_true.data()[i]);
            double x = double(z.data()[i]);
            // max(x, 0) - x y + log(1 + exp(-|x|)), the stable form.
            total += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
            double s = x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
            grad.data()[i] = static_cast<T>((s - y) * scale);
        }
        return total * scale;
    }

  private:
    double smooth(T y) const { return double(y) * (1.0 - ls_) + 0.5 * ls_; }
    bool from_logits_;
    double ls_;
};

/// mean((y - p)^2) over the last axis.
template <class T = float>
class MeanSquaredError : public Loss<T> {
  public:
    std::string name() const override { return "mean_squared_error"; }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        this->like(grad, y_pred);
        const std::size_t n = y_pred.size();
        const double scale = 1.0 / double(n);
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double d = double(y_pred.data()[i]) - double(y_true.data()[i]);
            total += d * d;
            grad.data()[i] = static_cast<T>(2.0 * d * scale);
        }
        return total * scale;
    }
};

/// A loss from its Keras name: categorical_crossentropy, sparse_categorical_crossentropy,
/// binary_crossentropy, mean_squared_error / mse (case-sensitive, as Keras).
template <class T = float>
std::unique_ptr<Loss<T>> get(const std::string& name) {
    if (name == "categorical_crossentropy" || name == "CategoricalCrossentropy")
        return std::make_unique<CategoricalCrossentropy<T>>();
    if (name == "sparse_categorical_crossentropy" || name == "SparseCategoricalCrossentropy")
        return std::make_unique<SparseCategoricalCrossentropy<T>>();
    if (name == "binary_crossentropy" || name == "BinaryCrossentropy")
        return std::make_unique<BinaryCrossentropy<T>>();
    if (name == "mean_squared_error" || name == "mse" || name == "MSE" ||
        name == "MeanSquaredError")
        return std::make_unique<MeanSquaredError<T>>();
    throw value_error(detail::cat("unknown loss '", name,
                                  "'; expected one of categorical_crossentropy, "
                                  "sparse_categorical_crossentropy, binary_crossentropy, "
                                  "mean_squared_error (mse)"));
}

}  // namespace xkeras::losses
