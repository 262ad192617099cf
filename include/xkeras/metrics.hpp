// xkeras/metrics.hpp - metrics accumulated over an epoch (or an evaluate call).
//
// "accuracy" / "acc" (any case) is resolved like Keras's compile_utils.get_metric from the shapes:
// a model output with last axis 1 -> binary accuracy (p > 0.5); targets of lower rank than the
// output, or with last axis 1 while the output's is > 1 -> sparse categorical accuracy; otherwise
// categorical accuracy (argmax == argmax). The metric is logged under the name exactly as given
// ("accuracy" -> "accuracy" and "val_accuracy").
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config.hpp"
#include "tensor.hpp"

namespace xkeras::metrics {

/// A running metric: `update` per batch, `result` over everything since `reset`. A metric is a
/// mean of values over units (a sample's row along the last axis, or each value): weighted by
/// its sample's weight when `update` is given the batch's sample weights (Keras's
/// weighted_metrics), sum(w v) / sum(w); 0 when the weights sum to 0, as Keras's divide_no_nan.
template <class T>
class Metric {
  public:
    /// The targets a metric reads: one-hot rows (the outputs' shape), one label per row of the
    /// outputs, or values (the outputs' shape, or one per row, broadcast over it as Keras does).
    enum class targets { one_hot, label, values };

    explicit Metric(std::string name) : name_(std::move(name)) {}
    virtual ~Metric() = default;
    const std::string& name() const { return name_; }
    virtual targets takes() const { return targets::values; }
    /// Adds a batch; `sample_weight` (null: every sample weighs 1) has one weight per sample.
    void update(const tensor<T>& y_true, const tensor<T>& y_pred,
                const T* sample_weight = nullptr) {
        const std::size_t n = y_pred.dimension() ? y_pred.shape()[0] : 0, units = count(y_pred);
        if (n == 0) return;
        const std::size_t per = units / n;
        for (std::size_t u = 0; u < units; ++u) {
            const double w = sample_weight ? double(sample_weight[u / per]) : 1.0;
            total_ += w * value(y_true, y_pred, u);
            count_ += w;
        }
    }
    double result() const { return result(total_, count_); }
    void reset() { total_ = count_ = 0.0; }
    /// The running sums: the weighted total and the weights' sum (data-parallel training adds
    /// up every process's).
    std::pair<double, double> state() const { return {total_, count_}; }
    void set_state(std::pair<double, double> s) { std::tie(total_, count_) = s; }
    /// The metric of running sums.
    static double result(double total, double count) { return count > 0 ? total / count : 0.0; }

  protected:
    /// The units of a batch's output the metric averages over.
    virtual std::size_t count(const tensor<T>& y_pred) const = 0;
    /// The metric's value at unit u.
    virtual double value(const tensor<T>& y_true, const tensor<T>& y_pred, std::size_t u) const = 0;

    /// The size of y's last axis: a row's values.
    static std::size_t row(const tensor<T>& y) { return y.shape()[y.dimension() - 1]; }
    /// The target of output value i: y's value i, or, for targets with one value per row of the
    /// outputs p (get() allows no other shapes), that row's (Keras broadcasts them so).
    static double target(const tensor<T>& y, const tensor<T>& p, std::size_t i) {
        return double(y.size() == p.size() ? y.data()[i] : y.data()[i / row(p)]);
    }

  private:
    double total_ = 0.0;
    double count_ = 0.0;
    std::string name_;
};

namespace detail {
template <class T>
std::size_t argmax(const T* p, std::size_t n) {
    return static_cast<std::size_t>(std::max_element(p, p + n) - p);
}
}  // namespace detail

/// argmax(y_pred) == argmax(y_true), per row.
template <class T>
class CategoricalAccuracy : public Metric<T> {
  public:
    explicit CategoricalAccuracy(std::string name = "categorical_accuracy")
        : Metric<T>(std::move(name)) {}
    typename Metric<T>::targets takes() const override { return Metric<T>::targets::one_hot; }

  protected:
    std::size_t count(const tensor<T>& p) const override { return p.size() / this->row(p); }
    double value(const tensor<T>& y, const tensor<T>& p, std::size_t r) const override {
        const std::size_t c = this->row(p);
        return detail::argmax(p.data() + r * c, c) == detail::argmax(y.data() + r * c, c);
    }
};

/// argmax(y_pred) == integer label, per row.
template <class T>
class SparseCategoricalAccuracy : public Metric<T> {
  public:
    explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy")
        : Metric<T>(std::move(name)) {}
    typename Metric<T>::targets takes() const override { return Metric<T>::targets::label; }

  protected:
    std::size_t count(const tensor<T>& p) const override { return p.size() / this->row(p); }
    double value(const tensor<T>& y, const tensor<T>& p, std::size_t r) const override {
        const std::size_t c = this->row(p);
        return double(detail::argmax(p.data() + r * c, c)) == double(y.data()[r]);
    }
};

/// (y_pred > threshold) == y_true, per value.
template <class T>
class BinaryAccuracy : public Metric<T> {
  public:
    explicit BinaryAccuracy(std::string name = "binary_accuracy", double threshold = 0.5)
        : Metric<T>(std::move(name)), threshold_(threshold) {}

  protected:
    std::size_t count(const tensor<T>& p) const override { return p.size(); }
    double value(const tensor<T>& y, const tensor<T>& p, std::size_t i) const override {
        return (double(p.data()[i]) > threshold_ ? 1.0 : 0.0) == this->target(y, p, i);
    }

  private:
    double threshold_;
};

/// Mean of (y_true - y_pred)^2 (name "mse" / "mean_squared_error") or |y_true - y_pred| ("mae").
template <class T>
class MeanError : public Metric<T> {
  public:
    MeanError(std::string name, bool squared) : Metric<T>(std::move(name)), squared_(squared) {}

  protected:
    std::size_t count(const tensor<T>& p) const override { return p.size(); }
    double value(const tensor<T>& y, const tensor<T>& p, std::size_t i) const override {
        const double d = double(p.data()[i]) - this->target(y, p, i);
        return squared_ ? d * d : std::abs(d);
    }

  private:
    bool squared_;
};

namespace detail {

/// Whether targets of shape ys hold one value per row of outputs of shape ps (batch axes
/// included): ps without its last axis, or with a last axis of 1.
inline bool one_per_row(const shape_t& ys, const shape_t& ps) {
    if (ps.empty()) return false;
    shape_t rows(ps.begin(), ps.end() - 1);
    if (ys == rows) return true;
    rows.push_back(1);
    return ys == rows;
}

/// Throws value_error unless targets of shape ys are what metric `name` takes (Metric::takes)
/// on outputs of shape ps.
template <class T>
void check_shapes(const Metric<T>& m, const std::string& name, const shape_t& ys,
                  const shape_t& ps) {
    using targets = typename Metric<T>::targets;
    const bool categorical = m.takes() == targets::one_hot, sparse = m.takes() == targets::label;
    const bool fits = categorical ? ys == ps
                      : sparse    ? one_per_row(ys, ps)
                                  : ys == ps || one_per_row(ys, ps);
    if (!fits)
        throw value_error(xkeras::detail::cat(
            "metric '", xkeras::detail::excerpt(name, 60), "' needs ",
            categorical ? "targets of the outputs' shape (one-hot)"
            : sparse    ? "one integer label per row of the outputs"
                        : "targets of the outputs' shape, or one per row of them",
            "; the targets have shape ", shape_str(ys), " and the outputs ", shape_str(ps)));
}

}  // namespace detail

/// The metric for `name` given the targets' and the model output's shapes (batch included),
/// without checking that they fit it (check_name's use; get checks).
template <class T>
std::unique_ptr<Metric<T>> make(const std::string& name, const shape_t& y_true_shape,
                                const shape_t& y_pred_shape, const std::string& log_name = {}) {
    const std::string& as = log_name.empty() ? name : log_name;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "accuracy" || lower == "acc") {
        const std::size_t out_last = y_pred_shape.empty() ? 1 : y_pred_shape.back();
        const std::size_t true_last = y_true_shape.empty() ? 1 : y_true_shape.back();
        if (out_last == 1) return std::make_unique<BinaryAccuracy<T>>(as);
        if (y_true_shape.size() < y_pred_shape.size() || (true_last == 1 && out_last > 1))
            return std::make_unique<SparseCategoricalAccuracy<T>>(as);
        return std::make_unique<CategoricalAccuracy<T>>(as);
    }
    if (name == "categorical_accuracy") return std::make_unique<CategoricalAccuracy<T>>(as);
    if (name == "sparse_categorical_accuracy")
        return std::make_unique<SparseCategoricalAccuracy<T>>(as);
    if (name == "binary_accuracy") return std::make_unique<BinaryAccuracy<T>>(as);
    if (name == "mse" || name == "mean_squared_error")
        return std::make_unique<MeanError<T>>(as, true);
    if (name == "mae" || name == "mean_absolute_error")
        return std::make_unique<MeanError<T>>(as, false);
    throw value_error(xkeras::detail::cat(
        "unknown metric '", xkeras::detail::excerpt(name, 60),
        "'; expected accuracy (or acc), categorical_accuracy, sparse_categorical_accuracy, "
        "binary_accuracy, mse or mae"));
}

/// Logged under `log_name` when given (a weighted metric's "weighted_accuracy"). Throws
/// value_error for a name it does not know and for targets that do not fit the metric.
template <class T>
std::unique_ptr<Metric<T>> get(const std::string& name, const shape_t& y_true_shape,
                               const shape_t& y_pred_shape, const std::string& log_name = {}) {
    auto m = make<T>(name, y_true_shape, y_pred_shape, log_name);
    detail::check_shapes(*m, name, y_true_shape, y_pred_shape);
    return m;
}

/// Throws value_error when `name` is not a metric `get` knows (checked at compile time).
inline void check_name(const std::string& name) {
    make<float>(name, {1, 2}, {1, 2});
}

/// A compiled metric: the name it was given, the name its logs use, and whether it is weighted.
struct compiled_metric {
    std::string name, log_name;
    bool weighted = false;
    bool operator==(const compiled_metric&) const = default;
};

/// compile's `metrics` then `weighted_metrics`, each checked (check_name), with Keras 3's log
/// names: a metric's name as given; a weighted metric's too, or "weighted_<name>" when a metric
/// has that name already (no metric's name starts with "weighted_", so no two log names meet). A
/// name given twice in one list, or "loss", is refused.
inline std::vector<compiled_metric> compile_metrics(const std::vector<std::string>& metrics,
                                                    const std::vector<std::string>& weighted) {
    std::vector<compiled_metric> out;
    for (const bool w : {false, true}) {
        std::set<std::string> seen;
        for (const auto& m : w ? weighted : metrics) {
            check_name(m);
            if (!seen.insert(m).second || m == "loss")
                throw value_error(xkeras::detail::cat(
                    "compile: ", w ? "weighted_metrics" : "metrics", " '", m, "' is given twice"));
            const bool taken = w && std::count(metrics.begin(), metrics.end(), m) > 0;
            out.push_back({m, taken ? "weighted_" + m : m, w});
        }
    }
    return out;
}

}  // namespace xkeras::metrics
