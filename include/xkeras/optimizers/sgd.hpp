// xkeras/optimizers/sgd.hpp - SGD with optional momentum and Nesterov momentum (Keras 3 rule).
//
// momentum 0: w -= lr * g. Otherwise m = momentum * m - lr * g, then w += m, or with nesterov
// w += momentum * m - lr * g (with the new m).
#pragma once

#include "../backend/dispatch.hpp"
#include "optimizer.hpp"

namespace xkeras::optimizers {

struct SGDOptions {
    LearningRate learning_rate = 0.01;
    double momentum = 0.0;
    bool nesterov = false;
    std::optional<double> weight_decay{};
};

template <class T = float>
class SGD : public Optimizer<T> {
  public:
    explicit SGD(SGDOptions o = {})
        : Optimizer<T>("SGD", o.learning_rate, {o.weight_decay}), o_(o) {
        if (!(o.momentum >= 0.0 && o.momentum <= 1.0))
            throw value_error(detail::cat("SGD: expected `momentum` in [0, 1], got ", o.momentum));
    }
    explicit SGD(double learning_rate) : SGD(SGDOptions{.learning_rate = learning_rate}) {}

    std::string class_name() const override { return "SGD"; }
    const SGDOptions& options() const { return o_; }
    std::vector<std::string> keras_slot_names() const override {
        if (o_.momentum != 0.0) return {"momentum"};
        return {};
    }

  protected:
    std::string keras_name() const override { return "SGD"; }
    void add_config(nlohmann::json& c) const override {
        c["momentum"] = o_.momentum;
        c["nesterov"] = o_.nesterov;
    }
    std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const override {
        return this->zeros_like(p, o_.momentum != 0.0 ? 1 : 0);
    }
    void update_step(layers::Param<T>& p, std::vector<tensor<T>>& s, std::size_t begin,
                     std::size_t end) override {
        // compiled for the instruction-set level in force (backend/dispatch.hpp): a loop the
        // compiler vectorises, with the level's vectors. The constants are the lambda's own
        // locals: captured by reference, a store through w could change them as far as the
        // compiler knows, and the loop would stay scalar.
        backend::dispatch([&]<class> {
            const T lr = static_cast<T>(this->learning_rate_);
            T* w = p.value.data();
            const T* g = p.grad.data();
            if (o_.momentum == 0.0) {
                for (std::size_t i = begin; i < end; ++i) w[i] -= lr * g[i];
                return;
            }
            const T mu = static_cast<T>(o_.momentum);
            T* m = s[0].data();
            if (o_.nesterov) {
                for (std::size_t i = begin; i < end; ++i) {
                    m[i] = mu * m[i] - lr * g[i];
                    w[i] += mu * m[i] - lr * g[i];
                }
            } else {
                for (std::size_t i = begin; i < end; ++i) {
                    m[i] = mu * m[i] - lr * g[i];
                    w[i] += m[i];
                }
            }
        });
    }

  private:
    SGDOptions o_;
};

}  // namespace xkeras::optimizers
