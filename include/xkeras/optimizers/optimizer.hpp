// xkeras/optimizers/optimizer.hpp - the Optimizer base: per-parameter state and one step counter.
//
// Each step (Keras 3's base_optimizer): for every trainable parameter, decoupled weight decay
// when set (w -= w * weight_decay * lr), then the optimizer's update rule; then `iterations`
// is increased once. Per-parameter state ("slots", e.g. Adam's m and v) is keyed by the
// parameter's name and created at the first step.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../layers/layer.hpp"

namespace xkeras::optimizers {

/// Options shared by every optimizer (Keras's base arguments).
struct BaseOptions {
    std::optional<double> weight_decay{};  ///< Decoupled weight decay; none by default.
};

template <class T>
class Optimizer {
  public:
    virtual ~Optimizer() = default;

    /// Keras's class name, e.g. "Adam".
    virtual std::string class_name() const = 0;

    /// The learning rate (settable, e.g. by a learning-rate callback).
    double learning_rate() const { return learning_rate_; }
    void set_learning_rate(double lr) {
        check_positive("learning_rate", lr, true);
        learning_rate_ = lr;
    }

    /// Number of steps applied so far (Keras's `optimizer.iterations`).
    std::int64_t iterations() const { return iterations_; }

    /// Applies one step to the trainable parameters, using their `grad`.
    void apply(const std::vector<layers::Param<T>*>& params) {
        const double t = double(iterations_ + 1);
        prepare_step(t);
        const T lr = static_cast<T>(learning_rate_);
        for (auto* p : params) {
            if (!p->trainable) continue;
            auto& s = slots_[p->name];
            if (s.empty()) s = create_slots(*p);
            if (base_.weight_decay && *base_.weight_decay > 0.0) {
                const T f = T(1) - static_cast<T>(*base_.weight_decay) * lr;
                T* w = p->value.data();
                for (std::size_t i = 0, n = p->value.size(); i < n; ++i) w[i] *= f;
            }
            update_step(*p, s);
        }
        ++iterations_;
    }

    /// Number of optimizer variables: iterations, learning rate and every slot, as Keras's
    /// summary counts them ("Optimizer params").
    std::size_t count_variables() const {
        std::size_t n = 2;
        for (const auto& [name, s] : slots_)
            for (const auto& t : s) n += t.size();
        return n;
    }

    /// Per-parameter state, keyed by parameter name (for saving and inspection).
    const std::map<std::string, std::vector<tensor<T>>>& slots() const { return slots_; }

  protected:
    /// `who` is the class name, for error messages.
    Optimizer(const char* who, double learning_rate, BaseOptions base)
        : learning_rate_(learning_rate), base_(base), who_(who) {
        check_positive("learning_rate", learning_rate, true);
        if (base_.weight_decay) check_positive("weight_decay", *base_.weight_decay, true);
    }

    /// Called once per step with t = iterations + 1, before the updates.
    virtual void prepare_step(double /*t*/) {}
    /// The state of a new parameter (zero tensors like its value, typically).
    virtual std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const = 0;
    /// The update rule for one parameter.
    virtual void update_step(layers::Param<T>& p, std::vector<tensor<T>>& slots) = 0;

    void check_positive(const char* what, double v, bool allow_zero) const {
        if (!std::isfinite(v) || v < 0.0 || (!allow_zero && v == 0.0))
            throw value_error(detail::cat(who_, ": expected `", what, "` ",
                                          allow_zero ? ">= 0" : "> 0", ", got ", v));
    }
    void check_unit(const char* what, double v) const {
        if (!(v >= 0.0 && v < 1.0))
            throw value_error(detail::cat(who_, ": expected `", what, "` in [0, 1), got ", v));
    }
    static std::vector<tensor<T>> zeros_like(const layers::Param<T>& p, std::size_t count) {
        return std::vector<tensor<T>>(count, tensor<T>(xt::zeros<T>(p.value.shape())));
    }

    double learning_rate_;
    BaseOptions base_;
    std::int64_t iterations_ = 0;
    std::map<std::string, std::vector<tensor<T>>> slots_;
    const char* who_;
};

}  // namespace xkeras::optimizers
