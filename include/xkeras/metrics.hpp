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
#include <vector>

#include "config.hpp"
#include "tensor.hpp"

namespace xkeras::metrics {

/// A running metric: `update` per batch, `result` over everything since `reset`.
template <class T>
class Metric {
  public:
    explicit Metric(std::string name) : name_(std::move(name)) {}
    virtual ~Metric() = default;
    const std::string& name() const { return name_; }
    virtual void update(const tensor<T>& y_true, const tensor<T>& y_pred) = 0;
    double result() const { return count_ > 0 ? total_ / count_ : 0.0; }
    void reset() { total_ = count_ = 0.0; }

  protected:
    double total_ = 0.0;
    double count_ = 0.0;

  private:
    std::string name_;
};

namespace detail {
template <class T>
std::size_t argmax(const T* p, std::size_t n) {
    return static_cast<std::size_t>(std::max_element(p, p + n) - p);
}
}  // namespace detail

/// argmax(y_pred) == argmax(y_true), per sample.
template <class T>
class CategoricalAccuracy : public Metric<T> {
  public:
    explicit CategoricalAccuracy(std::string name = "categorical_accuracy")
        : Metric<T>(std::move(name)) {}
    void update(const tensor<T>& y_true, const tensor<T>& y_pred) override {
        const std::size_t c = y_pred.shape()[y_pred.dimension() - 1], rows = y_pred.size() / c;
        for (std::size_t r = 0; r < rows; ++r)
            this->total_ += detail::argmax(y_pred.data() + r * c, c) ==
                            detail::argmax(y_true.data() + r * c, c);
        this->count_ += double(rows);
    }
};

/// argmax(y_pred) == integer label, per sample.
template <class T>
class SparseCategoricalAccuracy : public Metric<T> {
  public:
    explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy")
        : Metric<T>(std::move(name)) {}
    void update(const tensor<T>& y_true, const tensor<T>& y_pred) override {
        const std::size_t c = y_pred.shape()[y_pred.dimension() - 1], rows = y_pred.size() / c;
        for (std::size_t r = 0; r < rows; ++r)
            this->total_ +=
                double(detail::argmax(y_pred.data() + r * c, c)) == double(y_true.data()[r]);
        this->count_ += double(rows);
    }
};

/// (y_pred > threshold) == y_true, per value.
template <class T>
class BinaryAccuracy : public Metric<T> {
  public:
    explicit BinaryAccuracy(std::string name = "binary_accuracy", double threshold = 0.5)
        : Metric<T>(std::move(name)), threshold_(threshold) {}
    void update(const tensor<T>& y_true, const tensor<T>& y_pred) override {
        for (std::size_t i = 0; i < y_pred.size(); ++i)
            this->total_ +=
                (double(y_pred.data()[i]) > threshold_ ? 1.0 : 0.0) == double(y_true.data()[i]);
        this->count_ += double(y_pred.size());
    }

  private:
    double threshold_;
};

/// Mean of (y_true - y_pred)^2 (name "mse" / "mean_squared_error") or |y_true - y_pred| ("mae").
template <class T>
class MeanError : public Metric<T> {
  public:
    MeanError(std::string name, bool squared) : Metric<T>(std::move(name)), squared_(squared) {}
    void update(const tensor<T>& y_true, const tensor<T>& y_pred) override {
        for (std::size_t i = 0; i < y_pred.size(); ++i) {
            double d = double(y_pred.data()[i]) - double(y_true.data()[i]);
            this->total_ += squared_ ? d * d : std::abs(d);
        }
        this->count_ += double(y_pred.size());
    }

  private:
    bool squared_;
};

/// The metric for `name` given the targets' and the model output's shapes (batch included).
template <class T>
std::unique_ptr<Metric<T>> get(const std::string& name, const shape_t& y_true_shape,
                               const shape_t& y_pred_shape) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "accuracy" || lower == "acc") {
        const std::size_t out_last = y_pred_shape.empty() ? 1 : y_pred_shape.back();
        const std::size_t true_last = y_true_shape.empty() ? 1 : y_true_shape.back();
        if (out_last == 1) return std::make_unique<BinaryAccuracy<T>>(name);
        if (y_true_shape.size() < y_pred_shape.size() || (true_last == 1 && out_last > 1))
            return std::make_unique<SparseCategoricalAccuracy<T>>(name);
        return std::make_unique<CategoricalAccuracy<T>>(name);
    }
    if (name == "categorical_accuracy") return std::make_unique<CategoricalAccuracy<T>>(name);
    if (name == "sparse_categorical_accuracy")
        return std::make_unique<SparseCategoricalAccuracy<T>>(name);
    if (name == "binary_accuracy") return std::make_unique<BinaryAccuracy<T>>(name);
    if (name == "mse" || name == "mean_squared_error")
        return std::make_unique<MeanError<T>>(name, true);
    if (name == "mae" || name == "mean_absolute_error")
        return std::make_unique<MeanError<T>>(name, false);
    throw value_error(xkeras::detail::cat(
        "unknown metric '", xkeras::detail::excerpt(name, 60),
        "'; expected accuracy (or acc), categorical_accuracy, sparse_categorical_accuracy, "
        "binary_accuracy, mse or mae"));
}

/// Throws value_error when `name` is not a metric `get` knows (checked at compile time).
inline void check_name(const std::string& name) {
    get<float>(name, {1, 2}, {1, 2});
}

/// check_name for each of compile's metrics; a name given twice, or "loss", is refused too.
inline void check_names(const std::vector<std::string>& names) {
    std::set<std::string> seen;
    for (const auto& m : names) {
        check_name(m);
        if (!seen.insert(m).second || m == "loss")
            throw value_error(xkeras::detail::cat("compile: metric '", m, "' is given twice"));
    }
}

}  // namespace xkeras::metrics
