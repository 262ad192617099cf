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
#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "activations.hpp"
#include "config.hpp"
#include "io/json_limits.hpp"
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

    /// The loss as compile_config writes it, in the form it was given, as Keras keeps it: a name
    /// stays that name ("mse"), a loss object becomes Keras 3's serialized object, and a form
    /// read from a file (a name, an object, a function reference) is written back as read.
    nlohmann::json to_json() const { return written_.is_null() ? keras_object() : written_; }

    /// Records the form the loss was given in: a name, or the JSON it was read from.
    void set_written_form(nlohmann::json form) { written_ = std::move(form); }

    /// Checks the targets of a whole dataset against the model's output shape (batch aside):
    /// shapes and, for sparse labels, the class range. Throws shape_error / value_error.
    virtual void check_targets(const tensor<T>& y_true, const shape_t& output_shape) const {
        shape_t ys = shape_of(y_true);
        shape_t want = output_shape;
        want.insert(want.begin(), ys.empty() ? 0 : ys[0]);
        if (ys != want)
            throw shape_error(xkeras::detail::cat(name(), ": targets of shape ", shape_str(ys),
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
        throw state_error(xkeras::detail::cat(name(), " cannot be computed from logits"));
    }

    /// The loss of a batch whose samples (the first axis) have weights `w`: Keras's
    /// sum_over_batch_size, sum(w_i l_i) / N, where l_i is sample i's loss; `grad` as compute's,
    /// each sample's part scaled by its weight. From the logits when `from_logits` (the fused
    /// path). Every loss is a mean over samples of each sample's own loss, so each sample is
    /// computed alone, in order: a loss of xkeras's or a user's needs nothing more for weights.
    double compute_weighted(const tensor<T>& y_true, const tensor<T>& y_pred, tensor<T>& grad,
                            const T* w, bool from_logits) const {
        const std::size_t n = y_pred.dimension() ? y_pred.shape()[0] : 0;
        like(grad, y_pred);
        if (n == 0) return 0.0;
        const std::size_t t_row = y_true.size() / n, p_row = y_pred.size() / n;
        auto one = [](const tensor<T>& all, std::size_t row, std::size_t i, tensor<T>& out) {
            shape_t s = shape_of(all);
            s[0] = 1;
            if (shape_of(out) != s) out.resize(s);
            std::copy_n(all.data() + i * row, row, out.data());
        };
        tensor<T> yt, yp, g;
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            one(y_true, t_row, i, yt);
            one(y_pred, p_row, i, yp);
            const double l = from_logits ? compute_from_logits(yt, yp, g) : compute(yt, yp, g);
            total += double(w[i]) * l;
            const double scale = double(w[i]) / double(n);
            for (std::size_t k = 0; k < p_row; ++k)
                grad.data()[i * p_row + k] = static_cast<T>(double(g.data()[k]) * scale);
        }
        return total / double(n);
    }

  protected:
    /// Keras 3's serialized object of this loss, with its options.
    virtual nlohmann::json keras_object() const = 0;

    /// Keras 3's serialized loss object: name and reduction, then `config`'s keys.
    nlohmann::json object_form(const char* class_name, nlohmann::json config) const {
        nlohmann::json c = {{"name", name()}, {"reduction", "sum_over_batch_size"}};
        c.update(config);
        return {{"module", "keras.losses"},
                {"class_name", class_name},
                {"config", c},
                {"registered_name", nullptr}};
    }

    static void like(tensor<T>& grad, const tensor<T>& y) {
        if (grad.shape() != y.shape()) grad.resize(y.shape());
    }
    static std::size_t last_dim(const tensor<T>& y) {
        return y.dimension() == 0 ? 1 : y.shape()[y.dimension() - 1];
    }

  private:
    nlohmann::json written_;  // null: written as keras_object()
};

namespace detail {

/// Mean crossentropy of rows of probabilities p against targets y(r, j): p is renormalised and
/// clipped to [eps, 1 - eps] as Keras does; `grad` receives dL/dp.
template <class T, class Target>
double crossentropy_from_probs(const tensor<T>& p_all, tensor<T>& grad, Target&& y) {
    const std::size_t c = p_all.shape()[p_all.dimension() - 1], rows = p_all.size() / c;
    const double inv_n = 1.0 / double(rows);
    double total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const T* p = p_all.data() + r * c;
        T* g = grad.data() + r * c;
        double s = 0.0;
        for (std::size_t j = 0; j < c; ++j) s += double(p[j]);
        double sum_gq = 0.0;  // sum_k dL/dq_k q_k, for the renormalisation q = p / s
        for (std::size_t j = 0; j < c; ++j) {
            const double yj = y(r, j);
            const double q = double(p[j]) / s;
            const double qc = std::clamp(q, epsilon, 1.0 - epsilon);
            total -= yj * std::log(qc);
            const double dq = (q > epsilon && q < 1.0 - epsilon) ? -yj / qc : 0.0;
            g[j] = static_cast<T>(dq);
            sum_gq += dq * q;
        }
        for (std::size_t j = 0; j < c; ++j)
            g[j] = static_cast<T>((double(g[j]) - sum_gq) / s * inv_n);
    }
    return total * inv_n;
}

/// Mean crossentropy of softmax(z) against targets y(r, j), computed from the logits z:
/// loss = sum(y) logsumexp(z) - sum(y z); `grad` receives dL/dz = sum(y) softmax(z) - y.
template <class T, class Target>
double crossentropy_from_logits(const tensor<T>& z_all, tensor<T>& grad, Target&& y) {
    const std::size_t c = z_all.shape()[z_all.dimension() - 1], rows = z_all.size() / c;
    const double inv_n = 1.0 / double(rows);
    double total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const T* z = z_all.data() + r * c;
        T* g = grad.data() + r * c;
        const double mx = double(*std::max_element(z, z + c));
        double se = 0.0;
        for (std::size_t j = 0; j < c; ++j) se += std::exp(double(z[j]) - mx);
        const double lse = mx + std::log(se);
        double ysum = 0.0;
        for (std::size_t j = 0; j < c; ++j) {
            const double yj = y(r, j);
            ysum += yj;
            total -= yj * (double(z[j]) - lse);
        }
        for (std::size_t j = 0; j < c; ++j)
            g[j] = static_cast<T>((ysum * std::exp(double(z[j]) - lse) - y(r, j)) * inv_n);
    }
    return total * inv_n;
}

}  // namespace detail

/// -sum(y * log(p)) over the last axis. `from_logits`: the model outputs logits.
/// `label_smoothing` ls: y <- y * (1 - ls) + ls / classes.
template <class T = float>
class CategoricalCrossentropy : public Loss<T> {
  public:
    explicit CategoricalCrossentropy(bool from_logits = false, double label_smoothing = 0.0)
        : from_logits_(from_logits), ls_(label_smoothing) {
        if (!(ls_ >= 0.0 && ls_ <= 1.0))
            throw value_error(xkeras::detail::cat(
                "CategoricalCrossentropy: expected label_smoothing in [0, 1], got ", ls_));
    }
    std::string name() const override { return "categorical_crossentropy"; }
    bool from_logits() const { return from_logits_; }
    double label_smoothing() const { return ls_; }
    nlohmann::json keras_object() const override {
        return this->object_form(
            "CategoricalCrossentropy",
            {{"from_logits", from_logits_}, {"label_smoothing", ls_}, {"axis", -1}});
    }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        if (from_logits_) return compute_from_logits(y_true, y_pred, grad);
        this->like(grad, y_pred);
        return detail::crossentropy_from_probs(y_pred, grad, target(y_true, y_pred));
    }

    bool fuses_with(activations::kind k) const override {
        return !from_logits_ && k == activations::kind::softmax;
    }

    double compute_from_logits(const tensor<T>& y_true, const tensor<T>& z,
                               tensor<T>& grad) const override {
        this->like(grad, z);
        return detail::crossentropy_from_logits(z, grad, target(y_true, z));
    }

  private:
    auto target(const tensor<T>& y_true, const tensor<T>& y_pred) const {
        const std::size_t c = this->last_dim(y_pred);
        const double ls = ls_, off = ls_ / double(c);
        return [&y_true, c, ls, off](std::size_t r, std::size_t j) {
            return double(y_true.data()[r * c + j]) * (1.0 - ls) + off;
        };
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
    nlohmann::json keras_object() const override {
        return this->object_form("SparseCategoricalCrossentropy",
                                 {{"from_logits", from_logits_}, {"ignore_class", nullptr}});
    }

    void check_targets(const tensor<T>& y_true, const shape_t& output_shape) const override {
        check_sparse_targets(name(), y_true, output_shape);
    }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        if (from_logits_) return compute_from_logits(y_true, y_pred, grad);
        this->like(grad, y_pred);
        return detail::crossentropy_from_probs(y_pred, grad, target(y_true));
    }

    bool fuses_with(activations::kind k) const override {
        return !from_logits_ && k == activations::kind::softmax;
    }

    double compute_from_logits(const tensor<T>& y_true, const tensor<T>& z,
                               tensor<T>& grad) const override {
        this->like(grad, z);
        return detail::crossentropy_from_logits(z, grad, target(y_true));
    }

    /// Labels (N,) or (N, 1), integers in [0, classes); shared with the sparse accuracy metric.
    static void check_sparse_targets(const std::string& who, const tensor<T>& y_true,
                                     const shape_t& output_shape) {
        const std::size_t n = y_true.dimension() == 0 ? 0 : y_true.shape()[0];
        bool shape_ok = (y_true.dimension() == output_shape.size() ||
                         (y_true.dimension() == output_shape.size() + 1 &&
                          y_true.shape()[y_true.dimension() - 1] == 1));
        for (std::size_t i = 0; shape_ok && i + 1 < output_shape.size(); ++i)
            shape_ok = y_true.shape()[i + 1] == output_shape[i];
        if (!shape_ok || output_shape.empty())
            throw shape_error(xkeras::detail::cat(
                who, ": expected integer labels of shape (", n, ",) or (", n,
                ", 1) for the model's output shape ", shape_str(output_shape, true), ", got ",
                shape_str(shape_of(y_true))));
        const double classes = double(output_shape.back());
        for (std::size_t i = 0; i < y_true.size(); ++i) {
            double v = double(y_true.data()[i]);
            if (!(v >= 0.0 && v < classes) || v != std::floor(v))
                throw value_error(xkeras::detail::cat(who, ": label ", i, " is ", v,
                                                      ", expected an integer in [0, ",
                                                      output_shape.back(), ")"));
        }
    }

  private:
    static auto target(const tensor<T>& y_true) {
        return [&y_true](std::size_t r, std::size_t j) {
            return double(y_true.data()[r]) == double(j) ? 1.0 : 0.0;
        };
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
            throw value_error(xkeras::detail::cat(
                "BinaryCrossentropy: expected label_smoothing in [0, 1], got ", ls_));
    }
    std::string name() const override { return "binary_crossentropy"; }

    /// The shape check, then every target in [0, 1] (soft labels allowed). Keras does not check:
    /// outside [0, 1] the loss has no lower bound and training drifts without an error.
    void check_targets(const tensor<T>& y_true, const shape_t& output_shape) const override {
        Loss<T>::check_targets(y_true, output_shape);
        const std::size_t row = y_true.size() / std::max<std::size_t>(1, y_true.shape()[0]);
        for (std::size_t i = 0; i < y_true.size(); ++i) {
            const double v = double(y_true.data()[i]);
            if (!(v >= 0.0 && v <= 1.0))
                throw value_error(xkeras::detail::cat(
                    name(), ": target ", v, " of sample ", i / row, " (index ", i % row,
                    " in the sample) is outside [0, 1]; binary_crossentropy needs labels "
                    "(or probabilities) in [0, 1]"));
        }
    }
    nlohmann::json keras_object() const override {
        return this->object_form(
            "BinaryCrossentropy",
            {{"from_logits", from_logits_}, {"label_smoothing", ls_}, {"axis", -1}});
    }

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
    nlohmann::json keras_object() const override {
        return this->object_form("MeanSquaredError", nlohmann::json::object());
    }

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

/// A loss as a plain function of one sample: given its targets and predictions along the last
/// axis, it returns the sample's loss and writes d(loss)/d(y_pred) into `grad` (as long as
/// y_pred, zeroed before the call). Without automatic differentiation the gradient is the
/// function's own; docs/api/losses-metrics.md shows how to check it by central differences.
template <class T>
using sample_loss =
    std::function<double(std::span<const T> y_true, std::span<const T> y_pred, std::span<T> grad)>;

/// A loss written as a function of one sample (`sample_loss`), averaged over the samples as
/// Keras's losses are (sum_over_batch_size). Targets have the output's shape.
template <class T>
class FunctionLoss : public Loss<T> {
  public:
    FunctionLoss(std::string name, sample_loss<T> fn) : name_(std::move(name)), fn_(std::move(fn)) {
        if (name_.empty() || name_.size() > 200)
            throw value_error(xkeras::detail::cat(
                "loss function: expected a name of 1 to 200 characters, got ", name_.size()));
        if (!fn_) throw value_error("loss function '" + name_ + "': expected a function, got none");
    }

    std::string name() const override { return name_; }

    double compute(const tensor<T>& y_true, const tensor<T>& y_pred,
                   tensor<T>& grad) const override {
        this->like(grad, y_pred);
        if (y_true.shape() != y_pred.shape())
            throw shape_error(xkeras::detail::cat(
                name_, ": targets of shape ", shape_str(shape_of(y_true)),
                " do not match the predictions' shape ", shape_str(shape_of(y_pred))));
        const std::size_t k = this->last_dim(y_pred), rows = k ? y_pred.size() / k : 0;
        const double inv_n = rows ? 1.0 / double(rows) : 0.0;
        double total = 0.0;
        std::fill(grad.data(), grad.data() + grad.size(), T(0));
        for (std::size_t r = 0; r < rows; ++r) {
            T* g = grad.data() + r * k;
            total += fn_(std::span<const T>(y_true.data() + r * k, k),
                         std::span<const T>(y_pred.data() + r * k, k), std::span<T>(g, k));
            for (std::size_t j = 0; j < k; ++j) g[j] = static_cast<T>(double(g[j]) * inv_n);
        }
        return total * inv_n;
    }

  protected:
    /// Keras 3's form of a loss function in compile_config.
    nlohmann::json keras_object() const override {
        return {{"module", "builtins"},
                {"class_name", "function"},
                {"config", name_},
                {"registered_name", "function"}};
    }

  private:
    std::string name_;
    sample_loss<T> fn_;
};

namespace detail {

/// The loss functions registered by name (register_loss), per scalar type.
template <class T>
struct loss_functions {
    static std::map<std::string, sample_loss<T>>& table() {
        static std::map<std::string, sample_loss<T>> t;
        return t;
    }
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
};

/// The built-in loss of Keras name `name`, or null.
template <class T>
std::unique_ptr<Loss<T>> builtin_loss(const std::string& name) {
    if (name == "categorical_crossentropy" || name == "CategoricalCrossentropy")
        return std::make_unique<CategoricalCrossentropy<T>>();
    if (name == "sparse_categorical_crossentropy" || name == "SparseCategoricalCrossentropy")
        return std::make_unique<SparseCategoricalCrossentropy<T>>();
    if (name == "binary_crossentropy" || name == "BinaryCrossentropy")
        return std::make_unique<BinaryCrossentropy<T>>();
    if (name == "mean_squared_error" || name == "mse" || name == "MSE" ||
        name == "MeanSquaredError")
        return std::make_unique<MeanSquaredError<T>>();
    return nullptr;
}

}  // namespace detail

/// Makes the loss function `fn` known by `name`, as Keras's registered custom objects are:
/// compile(optimizer, "name") takes it, and so does load_model for a file whose compile config
/// names it. A built-in loss's name is refused; registering a name again replaces its function.
template <class T = float>
void register_loss(const std::string& name, sample_loss<T> fn) {
    FunctionLoss<T> check(name, fn);  // the name and the function checked
    if (detail::builtin_loss<T>(name))
        throw value_error("register_loss: '" + name + "' is a built-in loss's name");
    std::lock_guard<std::mutex> lock(detail::loss_functions<T>::mutex());
    detail::loss_functions<T>::table()[name] = std::move(fn);
}

/// A loss from its Keras name: categorical_crossentropy, sparse_categorical_crossentropy,
/// binary_crossentropy, mean_squared_error / mse (case-sensitive, as Keras), or a name given to
/// register_loss.
template <class T = float>
std::unique_ptr<Loss<T>> get(const std::string& name) {
    if (auto loss = detail::builtin_loss<T>(name)) return loss;
    {
        std::lock_guard<std::mutex> lock(detail::loss_functions<T>::mutex());
        const auto& t = detail::loss_functions<T>::table();
        if (auto it = t.find(name); it != t.end())
            return std::make_unique<FunctionLoss<T>>(name, it->second);
    }
    throw value_error(xkeras::detail::cat("unknown loss '", xkeras::detail::excerpt(name, 60),
                                          "'; expected one of categorical_crossentropy, "
                                          "sparse_categorical_crossentropy, binary_crossentropy, "
                                          "mean_squared_error (mse), or a name given to "
                                          "losses::register_loss"));
}

/// A loss from compile_config's form, remembered to be written back as read: a name
/// ("categorical_crossentropy"), a loss object ({"class_name": "CategoricalCrossentropy",
/// "config": {...}}) or a loss function (Keras 3's {"class_name": "function", "config":
/// "binary_crossentropy", ...}). Anything else, or an option xkeras does not support, throws
/// value_error naming the loss and the key.
template <class T = float>
std::unique_ptr<Loss<T>> from_json(const nlohmann::json& j) {
    using json = nlohmann::json;
    std::unique_ptr<Loss<T>> loss;
    if (j.is_string()) {
        loss = get<T>(j.get<std::string>());
    } else if (!j.is_object() || !j.contains("class_name") || !j["class_name"].is_string()) {
        throw value_error("loss: expected a name or a {class_name, config} object, got " +
                          io::describe(j));
    } else if (j["class_name"] == "function") {
        const json& fn = j.contains("config") ? j["config"] : json();
        if (!fn.is_string())
            throw value_error("loss: a loss function's config must be its name, got " +
                              io::describe(fn));
        loss = get<T>(fn.get<std::string>());
    } else {
        const std::string cls = j["class_name"].get<std::string>();
        const std::string what = "loss " + io::excerpt(cls, 60);
        const json c = j.contains("config") ? j["config"] : json::object();
        if (!c.is_object())
            throw value_error(what + ": config must be an object, got " + io::describe(c));
        auto option = [&](const char* key, json::value_t type, const char* expected,
                          const json& fallback) {
            if (!c.contains(key)) return fallback;
            const json& v = c[key];
            const bool ok = type == json::value_t::number_float ? v.is_number() : v.type() == type;
            if (!ok)
                throw value_error(what + ": " + key + " must be " + expected + ", got " +
                                  io::describe(v));
            return v;
        };
        const bool logits = option("from_logits", json::value_t::boolean, "true or false", false)
                                .template get<bool>();
        const double ls = option("label_smoothing", json::value_t::number_float, "a number", 0.0)
                              .template get<double>();
        const std::string reduction =
            option("reduction", json::value_t::string, "a string", "sum_over_batch_size")
                .template get<std::string>();
        if (reduction != "sum_over_batch_size" && reduction != "auto")
            throw value_error(what + ": reduction '" + io::excerpt(reduction, 60) +
                              "' is not supported by xkeras (only sum_over_batch_size)");
        if (c.contains("axis") && c["axis"] != -1)
            throw value_error(what + ": axis " + io::describe(c["axis"]) +
                              " is not supported by xkeras (only -1)");
        if (c.contains("ignore_class") && !c["ignore_class"].is_null())
            throw value_error(what + ": ignore_class " + io::describe(c["ignore_class"]) +
                              " is not supported by xkeras (only null)");
        if (cls == "CategoricalCrossentropy")
            loss = std::make_unique<CategoricalCrossentropy<T>>(logits, ls);
        else if (cls == "SparseCategoricalCrossentropy")
            loss = std::make_unique<SparseCategoricalCrossentropy<T>>(logits);
        else if (cls == "BinaryCrossentropy")
            loss = std::make_unique<BinaryCrossentropy<T>>(logits, ls);
        else
            loss = get<T>(cls);
        // tf.keras 2.x's loss objects ("reduction": "auto", "fn", no "module") are refused by
        // Keras 3: such a loss is written back in Keras 3's form
        if (!j.contains("module") || c.contains("fn") || reduction == "auto") return loss;
    }
    loss->set_written_form(j);
    return loss;
}

}  // namespace xkeras::losses

namespace xkeras {

/// A loss given to compile(): a name ("categorical_crossentropy") or a loss object.
template <class T>
class loss_arg {
  public:
    loss_arg(const char* name) : loss_arg(std::string(name)) {}       // NOLINT
    loss_arg(const std::string& name) : ptr_(losses::get<T>(name)) {  // NOLINT
        ptr_->set_written_form(name);  // Keras's compile_config keeps the name as given
    }
    template <class L>
    requires std::derived_from<std::decay_t<L>, losses::Loss<T>> loss_arg(L&& l)  // NOLINT
        : ptr_(std::make_unique<std::decay_t<L>>(std::forward<L>(l))) {}
    loss_arg(std::unique_ptr<losses::Loss<T>> p) : ptr_(std::move(p)) {}  // NOLINT
    std::unique_ptr<losses::Loss<T>> release() { return std::move(ptr_); }

  private:
    std::unique_ptr<losses::Loss<T>> ptr_;
};

}  // namespace xkeras
