// xkeras/optimizers/rmsprop.hpp - RMSprop, plain, centered and with momentum (Keras 3 rule).
//
// v = rho v + (1 - rho) g^2; centered: a = rho a + (1 - rho) g, den = v - a^2 + eps, else
// den = v + eps; inc = lr g / sqrt(den); with momentum mom = momentum * mom + inc, w -= mom;
// else w -= inc.
#pragma once

#include <cmath>

#include "../backend/dispatch.hpp"
#include "optimizer.hpp"

namespace xkeras::optimizers {

struct RMSpropOptions {
    LearningRate learning_rate = 0.001;
    double rho = 0.9;
    double momentum = 0.0;
    double epsilon = 1e-7;
    bool centered = false;
    std::optional<double> weight_decay{};
};

template <class T = float>
class RMSprop : public Optimizer<T> {
  public:
    explicit RMSprop(RMSpropOptions o = {})
        : Optimizer<T>("RMSprop", o.learning_rate, {o.weight_decay}), o_(o) {
        this->check_unit("rho", o.rho);
        this->check_unit("momentum", o.momentum);
        this->check_positive("epsilon", o.epsilon, true);
    }
    explicit RMSprop(double learning_rate)
        : RMSprop(RMSpropOptions{.learning_rate = learning_rate}) {}

    std::string class_name() const override { return "RMSprop"; }
    const RMSpropOptions& options() const { return o_; }
    std::vector<std::string> keras_slot_names() const override {
        std::vector<std::string> names{"velocity"};
        if (o_.momentum > 0.0) names.push_back("momentum");
        if (o_.centered) names.push_back("average_gradient");
        return names;
    }

  protected:
    std::string keras_name() const override { return "rmsprop"; }
    void add_config(nlohmann::json& c) const override {
        c["rho"] = o_.rho;
        c["momentum"] = o_.momentum;
        c["epsilon"] = o_.epsilon;
        c["centered"] = o_.centered;
    }
    // slots: velocity, then momentum (if momentum > 0), then average_gradient (if centered)
    std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const override {
        return this->zeros_like(p, 1 + (o_.momentum > 0.0) + o_.centered);
    }
    void update_step(layers::Param<T>& p, std::vector<tensor<T>>& s, std::size_t begin,
                     std::size_t end) override {
        // compiled for the instruction-set level in force (backend/dispatch.hpp): a loop the
        // compiler vectorises, with the level's vectors. The constants are the lambda's own
        // locals: captured by reference, a store through w could change them as far as the
        // compiler knows, and the loop would stay scalar.
        backend::dispatch([&]<class> {
            const T lr = static_cast<T>(this->learning_rate_), rho = static_cast<T>(o_.rho),
                    eps = static_cast<T>(o_.epsilon), mu = static_cast<T>(o_.momentum);
            T* w = p.value.data();
            const T* g = p.grad.data();
            T* v = s[0].data();
            T* mom = o_.momentum > 0.0 ? s[1].data() : nullptr;
            T* avg = o_.centered ? s.back().data() : nullptr;
            for (std::size_t i = begin; i < end; ++i) {
                v[i] = rho * v[i] + (T(1) - rho) * g[i] * g[i];
                T den = v[i] + eps;
                if (avg) {
                    avg[i] = rho * avg[i] + (T(1) - rho) * g[i];
                    den = v[i] - avg[i] * avg[i] + eps;
                }
                T inc = lr * g[i] / std::sqrt(den);
                if (mom) {
                    mom[i] = mu * mom[i] + inc;
                    w[i] -= mom[i];
                } else {
                    w[i] -= inc;
                }
            }
        });
    }

  private:
    RMSpropOptions o_;
};

}  // namespace xkeras::optimizers
