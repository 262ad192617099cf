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

#include <nlohmann/json.hpp>

#include "../backend/parallel.hpp"
#include "../config.hpp"
#include "../layers/layer.hpp"
#include "schedules.hpp"

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

    /// The learning rate of the next step (a schedule's value at `iterations()`).
    double learning_rate() const { return rate_.at(iterations_); }
    /// The schedule, or null for a constant rate.
    const schedules::LearningRateSchedule* learning_rate_schedule() const {
        return rate_.schedule.get();
    }
    /// Sets a constant learning rate (as the learning-rate callbacks do). Throws state_error
    /// when the rate is a schedule, as Keras.
    void set_learning_rate(double lr) {
        if (rate_.schedule)
            throw state_error(detail::cat(
                who_, ": this optimizer was created with a ", rate_.schedule->class_name(),
                " schedule as its learning rate, so its learning rate cannot be set"));
        check_positive("learning_rate", lr, true);
        rate_.value = lr;
    }
    /// Sets the step counter (for restoring saved optimizer state).
    void set_iterations(std::int64_t n) { iterations_ = n; }

    /// Number of steps applied so far (Keras's `optimizer.iterations`).
    std::int64_t iterations() const { return iterations_; }

    /// Applies one step to the trainable parameters, using their `grad`.
    void apply(const std::vector<layers::Param<T>*>& params) {
        const double t = double(iterations_ + 1);
        learning_rate_ = rate_.at(iterations_);
        prepare_step(t);
        // Work items: blocks of at most `block` values of each parameter, spread over the pool.
        constexpr std::size_t block = 1 << 15;
        items_.clear();
        for (auto* p : params) {
            if (!p->trainable) continue;
            auto& s = slots_[p->name];
            if (s.empty()) s = create_slots(*p);
            p->changed();  // the step below writes it
            for (std::size_t b = 0, n = p->value.size(); b < n; b += block)
                items_.push_back({p, &s, b, std::min(n, b + block)});
        }
        const T decay =
            base_.weight_decay ? static_cast<T>(*base_.weight_decay * learning_rate_) : T(0);
        backend::parallel_for(items_.size(), [&](std::size_t i, int) {
            const auto& it = items_[i];
            if (decay > T(0)) {
                T* w = it.p->value.data();
                for (std::size_t j = it.begin; j < it.end; ++j) w[j] -= w[j] * decay;
            }
            update_step(*it.p, *it.slots, it.begin, it.end);
        });
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

    /// The number of state tensors kept per weight (Adam: m and v; plain SGD: none).
    std::size_t slots_per_weight() const {
        layers::Param<T> one;
        one.value = tensor<T>({1});
        return create_slots(one).size();
    }
    /// How Keras 3 lays the slots out in its variable list (after `iterations` and
    /// `learning_rate`): each group is one `add_optimizer_variables` call, whose slots alternate
    /// weight by weight (Adam's m0, v0, m1, v1, ...); groups follow one another. Sizes add up to
    /// slots_per_weight(); by default each slot is a group of its own (RMSprop: every v, then
    /// every momentum).
    virtual std::vector<std::size_t> keras_slot_groups() const {
        return std::vector<std::size_t>(slots_per_weight(), 1);
    }

    /// The names Keras 3 gives the slots, in slot order: a slot of weight "dense/kernel" is the
    /// variable "<optimizer name>/dense_kernel_<slot name>" (legacy `.h5` files list them so).
    virtual std::vector<std::string> keras_slot_names() const = 0;

    /// The number of Keras 3's optimizer variables before the slots: `iterations`, and
    /// `learning_rate` unless the rate is a schedule (Keras keeps a schedule as an object).
    std::size_t keras_leading_variables() const { return rate_.schedule ? 1 : 2; }

    /// The position of slot `slot` of trainable weight `weight` (of `weights`) among Keras 3's
    /// optimizer variables (`iterations` is 0, `learning_rate` 1 when it is a variable).
    std::size_t keras_variable_index(std::size_t weight, std::size_t slot,
                                     std::size_t weights) const {
        std::size_t index = keras_leading_variables(), first = 0;
        for (const std::size_t size : keras_slot_groups()) {
            if (slot < first + size) return index + weight * size + (slot - first);
            index += size * weights;
            first += size;
        }
        throw value_error(xkeras::detail::cat(class_name(), " keeps ", slots_per_weight(),
                                              " slots per weight, not ", slot + 1));
    }

    /// The state a parameter starts with (what the first step creates).
    std::vector<tensor<T>> initial_slots(const layers::Param<T>& p) const {
        return create_slots(p);
    }

    /// Restores a parameter's state (loading a saved model); the caller checks the shapes.
    void set_slots(const std::string& param, std::vector<tensor<T>> state) {
        slots_[param] = std::move(state);
    }

    /// Keras 3's optimizer config: the common keys, then the optimizer's own.
    nlohmann::json get_config() const {
        nlohmann::json lr;
        if (const auto* s = dynamic_cast<const schedules::ExponentialDecay*>(rate_.schedule.get()))
            lr = {{"module", "keras.optimizers.schedules"},
                  {"class_name", "ExponentialDecay"},
                  {"config",
                   {{"initial_learning_rate", s->initial_learning_rate()},
                    {"decay_steps", s->decay_steps()},
                    {"decay_rate", s->decay_rate()},
                    {"staircase", s->staircase()},
                    {"name", "ExponentialDecay"}}},
                  {"registered_name", nullptr}};
        else
            lr = rate_.value;
        nlohmann::json c = {
            {"name", keras_name()},
            {"learning_rate", lr},
            {"weight_decay",
             base_.weight_decay ? nlohmann::json(*base_.weight_decay) : nlohmann::json(nullptr)},
            {"clipnorm", nullptr},
            {"global_clipnorm", nullptr},
            {"clipvalue", nullptr},
            {"use_ema", false},
            {"ema_momentum", 0.99},
            {"ema_overwrite_frequency", nullptr},
            {"loss_scale_factor", nullptr},
            {"gradient_accumulation_steps", nullptr}};
        add_config(c);
        return c;
    }

  protected:
    /// `who` is the class name, for error messages.
    Optimizer(const char* who, LearningRate learning_rate, BaseOptions base)
        : learning_rate_(learning_rate.at(0)),
          rate_(std::move(learning_rate)),
          base_(base),
          who_(who) {
        check_positive("learning_rate", learning_rate_, true);
        if (base_.weight_decay) check_positive("weight_decay", *base_.weight_decay, true);
    }

    /// Keras's default optimizer name ("adam", "SGD", ...).
    virtual std::string keras_name() const = 0;
    /// Adds the optimizer's own keys to its config.
    virtual void add_config(nlohmann::json& c) const = 0;

    /// Called once per step with t = iterations + 1, before the updates.
    virtual void prepare_step(double /*t*/) {}
    /// The state of a new parameter (zero tensors like its value, typically).
    virtual std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const = 0;
    /// The update rule for values [begin, end) of one parameter (called concurrently for
    /// disjoint ranges).
    virtual void update_step(layers::Param<T>& p, std::vector<tensor<T>>& slots, std::size_t begin,
                             std::size_t end) = 0;

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

    double learning_rate_;  ///< the rate of the step being applied
    LearningRate rate_;
    BaseOptions base_;
    std::int64_t iterations_ = 0;
    std::map<std::string, std::vector<tensor<T>>> slots_;

  private:
    struct work_item {
        layers::Param<T>* p;
        std::vector<tensor<T>>* slots;
        std::size_t begin, end;
    };
    std::vector<work_item> items_;
    const char* who_;
};

}  // namespace xkeras::optimizers
