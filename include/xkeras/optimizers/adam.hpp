// xkeras/optimizers/adam.hpp - Adam and AdamW (Keras 3 rule, "epsilon hat").
//
// t = iterations + 1, alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t);
// m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); with amsgrad v_hat = max(v_hat, v) is
// used for v; w -= alpha * m / (sqrt(v) + epsilon). Epsilon is added to the uncorrected sqrt(v),
// as in Keras and TensorFlow (PyTorch adds it to the corrected one).
// AdamW is Adam with decoupled weight decay (default 0.004): w -= w * weight_decay * lr first.
#pragma once

#include <algorithm>
#include <cmath>

#include "../backend/dispatch.hpp"
#include "optimizer.hpp"

namespace xkeras::optimizers {

struct AdamOptions {
    LearningRate learning_rate = 0.001;
    double beta_1 = 0.9;
    double beta_2 = 0.999;
    double epsilon = 1e-7;
    bool amsgrad = false;
    std::optional<double> weight_decay{};
};

template <class T = float>
class Adam : public Optimizer<T> {
  public:
    explicit Adam(AdamOptions o = {}) : Adam("Adam", o) {}
    explicit Adam(double learning_rate) : Adam(AdamOptions{.learning_rate = learning_rate}) {}

    std::string class_name() const override { return "Adam"; }
    const AdamOptions& options() const { return o_; }
    std::vector<std::string> keras_slot_names() const override {
        if (o_.amsgrad) return {"momentum", "velocity", "velocity_hat"};
        return {"momentum", "velocity"};
    }

  protected:
    std::string keras_name() const override {
        return this->class_name() == "AdamW" ? "adamw" : "adam";
    }
    void add_config(nlohmann::json& c) const override {
        c["beta_1"] = o_.beta_1;
        c["beta_2"] = o_.beta_2;
        c["epsilon"] = o_.epsilon;
        c["amsgrad"] = o_.amsgrad;
    }
    Adam(const char* who, AdamOptions o)
        : Optimizer<T>(who, o.learning_rate, {o.weight_decay}), o_(o) {
        this->check_unit("beta_1", o.beta_1);
        this->check_unit("beta_2", o.beta_2);
        this->check_positive("epsilon", o.epsilon, true);
    }

    void prepare_step(double t) override {
        alpha_ = this->learning_rate_ * std::sqrt(1.0 - std::pow(o_.beta_2, t)) /
                 (1.0 - std::pow(o_.beta_1, t));
    }
    std::vector<tensor<T>> create_slots(const layers::Param<T>& p) const override {
        return this->zeros_like(p, o_.amsgrad ? 3 : 2);
    }
    /// Keras 3 makes m and v together (alternating per weight), then AMSGrad's v-hats.
    std::vector<std::size_t> keras_slot_groups() const override {
        return o_.amsgrad ? std::vector<std::size_t>{2, 1} : std::vector<std::size_t>{2};
    }
    void update_step(layers::Param<T>& p, std::vector<tensor<T>>& s, std::size_t begin,
                     std::size_t end) override {
        // compiled for the instruction-set level in force (backend/dispatch.hpp): a loop the
        // compiler vectorises, with the level's vectors. The constants are the lambda's own
        // locals: captured by reference, a store through w could change them as far as the
        // compiler knows, and the loop would stay scalar.
        backend::dispatch([&]<class> {
            const T alpha = static_cast<T>(alpha_), b1 = static_cast<T>(1.0 - o_.beta_1),
                    b2 = static_cast<T>(1.0 - o_.beta_2), eps = static_cast<T>(o_.epsilon);
            T* w = p.value.data();
            const T* g = p.grad.data();
            T* m = s[0].data();
            T* v = s[1].data();
            if (!o_.amsgrad) {
                for (std::size_t i = begin; i < end; ++i) {
                    m[i] += (g[i] - m[i]) * b1;
                    v[i] += (g[i] * g[i] - v[i]) * b2;
                    w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
                }
                return;
            }
            T* vh = s[2].data();
            for (std::size_t i = begin; i < end; ++i) {
                m[i] += (g[i] - m[i]) * b1;
                v[i] += (g[i] * g[i] - v[i]) * b2;
                vh[i] = std::max(vh[i], v[i]);
                w[i] -= alpha * m[i] / (std::sqrt(vh[i]) + eps);
            }
        });
    }

    AdamOptions o_;
    double alpha_ = 0.0;
};

/// AdamW: Adam with decoupled weight decay, 0.004 by default.
template <class T = float>
class AdamW : public Adam<T> {
  public:
    explicit AdamW(AdamOptions o = {}) : Adam<T>("AdamW", with_decay(o)) {}
    explicit AdamW(double learning_rate) : AdamW(AdamOptions{.learning_rate = learning_rate}) {}
    std::string class_name() const override { return "AdamW"; }

  private:
    static AdamOptions with_decay(AdamOptions o) {
        if (!o.weight_decay) o.weight_decay = 0.004;
        return o;
    }
};

}  // namespace xkeras::optimizers
