// xkeras/optimizers/adagrad.hpp - Adagrad (Keras 3 rule).
//
// acc starts at initial_accumulator_value; acc += g^2; w -= lr g / sqrt(acc + epsilon).
#pragma once

#include <cmath>

#include "../backend/dispatch.hpp"
#include "optimizer.hpp"

namespace xkeras::optimizers {

struct AdagradOptions {
    LearningRate learning_rate = 0.001;
    double initial_accumulator_value = 0.1;
    double epsilon = 1e-7;
    std::optional<double> weight_decay{};
};

template <class T = float>
class Adagrad : public Optimizer<T> {
  public:
    explicit Adagrad(AdagradOptions o = {})
        : Optimizer<T>("Adagrad", o.learning_rate, {o.weight_decay}), o_(o) {
        this->check_positive("initial_accumulator_value", o.initial_accumulator_value, true);
        this->check_positive("epsilon", o.epsilon, true);
    }
    explicit Adagrad(double learning_rate)
        : Adagrad(AdagradOptions{.learning_rate = learning_rate}) {}

    std::string class_name() const override { return "Adagrad"; }
    const AdagradOptions& options() const { return o_; }
    std::vector<std::string> keras_slot_names() const override { return {"accumulator"}; }

  protected:
    std::string keras_name() const override { return "adagrad"; }
    void add_config(nlohmann::json& c) const override {
        c["initial_accumulator_value"] = o_.initial_accumulator_value;
        c["epsilon"] = o_.epsilon;
    }
    std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const override {
        return {tensor<T>(xt::full_like(p.value, static_cast<T>(o_.initial_accumulator_value)))};
    }
    void update_step(layers::Param<T>& p, std::vector<tensor<T>>& s, std::size_t begin,
                     std::size_t end) override {
        // compiled for the instruction-set level in force (backend/dispatch.hpp): a loop the
        // compiler vectorises, with the level's vectors. The constants are the lambda's own
        // locals: captured by reference, a store through w could change them as far as the
        // compiler knows, and the loop would stay scalar.
        backend::dispatch([&]<class> {
            const T lr = static_cast<T>(this->learning_rate_), eps = static_cast<T>(o_.epsilon);
            T* w = p.value.data();
            const T* g = p.grad.data();
            T* acc = s[0].data();
            for (std::size_t i = begin; i < end; ++i) {
                acc[i] += g[i] * g[i];
                w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
            }
        });
    }

  private:
    AdagradOptions o_;
};

}  // namespace xkeras::optimizers
