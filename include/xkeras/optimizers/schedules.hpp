// xkeras/optimizers/schedules.hpp - learning rates that change with the step count.
//
// `LearningRate` is what every optimizer's `learning_rate` option holds: a number, or a
// schedule evaluated at `optimizer.iterations()` (batches done, from 0), as Keras's
// `Adam(learning_rate=ExponentialDecay(...))`.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>

#include "../config.hpp"

namespace xkeras::optimizers::schedules {

/// A learning rate as a function of the step.
class LearningRateSchedule {
  public:
    virtual ~LearningRateSchedule() = default;
    virtual double operator()(std::int64_t step) const = 0;
    virtual std::string class_name() const = 0;
};

/// lr = initial_learning_rate * decay_rate ^ (step / decay_steps), the exponent floored when
/// `staircase` (Keras's ExponentialDecay).
class ExponentialDecay : public LearningRateSchedule {
  public:
    ExponentialDecay(double initial_learning_rate, double decay_steps, double decay_rate,
                     bool staircase = false)
        : initial_(initial_learning_rate),
          steps_(decay_steps),
          rate_(decay_rate),
          staircase_(staircase) {
        if (!(initial_learning_rate >= 0.0) || !std::isfinite(initial_learning_rate))
            throw value_error(
                detail::cat("ExponentialDecay: expected initial_learning_rate >= 0, got ",
                            initial_learning_rate));
        if (!(decay_steps > 0.0))
            throw value_error(
                detail::cat("ExponentialDecay: expected decay_steps > 0, got ", decay_steps));
        if (!(decay_rate > 0.0))
            throw value_error(
                detail::cat("ExponentialDecay: expected decay_rate > 0, got ", decay_rate));
    }
    double operator()(std::int64_t step) const override {
        double p = double(step) / steps_;
        if (staircase_) p = std::floor(p);
        return initial_ * std::pow(rate_, p);
    }
    std::string class_name() const override { return "ExponentialDecay"; }
    double initial_learning_rate() const { return initial_; }
    double decay_steps() const { return steps_; }
    double decay_rate() const { return rate_; }
    bool staircase() const { return staircase_; }

  private:
    double initial_, steps_, rate_;
    bool staircase_;
};

}  // namespace xkeras::optimizers::schedules

namespace xkeras::optimizers {

/// A constant learning rate or a schedule: `.learning_rate = 0.01` or
/// `.learning_rate = schedules::ExponentialDecay(0.01, 1000, 0.9)`.
struct LearningRate {
    double value = 0.0;
    std::shared_ptr<const schedules::LearningRateSchedule> schedule;

    LearningRate(double v) : value(v) {}  // NOLINT(google-explicit-constructor)
    template <class S>
    requires std::derived_from<S, schedules::LearningRateSchedule> LearningRate(const S& s)
        : value(s(0)), schedule(std::make_shared<S>(s)) {}  // NOLINT

    /// The rate at `step`.
    double at(std::int64_t step) const { return schedule ? (*schedule)(step) : value; }
};

}  // namespace xkeras::optimizers
