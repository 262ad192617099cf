// xkeras/optimizers.hpp - every optimizer, and `get` for Keras's string shortcuts.
#pragma once

#include <algorithm>
#include <cctype>
#include <concepts>
#include <memory>
#include <string>

#include "io/json_limits.hpp"
#include "optimizers/adagrad.hpp"
#include "optimizers/adam.hpp"
#include "optimizers/rmsprop.hpp"
#include "optimizers/schedules.hpp"
#include "optimizers/sgd.hpp"

namespace xkeras::optimizers {

/// An optimizer with Keras's defaults from its name, case-insensitive as in Keras: "adam",
/// "adamw", "sgd", "rmsprop", "adagrad".
template <class T = float>
std::unique_ptr<Optimizer<T>> get(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (n == "adam") return std::make_unique<Adam<T>>();
    if (n == "adamw") return std::make_unique<AdamW<T>>();
    if (n == "sgd") return std::make_unique<SGD<T>>();
    if (n == "rmsprop") return std::make_unique<RMSprop<T>>();
    if (n == "adagrad") return std::make_unique<Adagrad<T>>();
    throw value_error(detail::cat("unknown optimizer '", detail::excerpt(name, 60),
                                  "'; expected one of adam, adamw, sgd, rmsprop, adagrad"));
}

/// An optimizer from Keras's serialized form: a name ("adam") or {"class_name": "Adam",
/// "config": {...}} as Keras 3 and tf.keras 2.x write it (tf.keras's "lr" and its class names
/// "Custom>Adam" are read too). Options
/// xkeras does not implement (clipnorm, EMA, ...) are refused by name.
template <class T = float>
std::unique_ptr<Optimizer<T>> from_config(const nlohmann::json& j) {
    using json = nlohmann::json;
    if (j.is_string()) return get<T>(j.get<std::string>());
    if (!j.is_object() || !j.contains("class_name") || !j["class_name"].is_string())
        throw value_error("optimizer: expected a name or a {class_name, config} object, got " +
                          io::describe(j));
    // tf.keras 2.11-2.15 name their optimizers by their registered name in `.h5` files
    std::string cls = j["class_name"].get<std::string>();
    if (cls.rfind("Custom>", 0) == 0) cls.erase(0, 7);
    const json c = j.contains("config") && j["config"].is_object() ? j["config"] : json::object();
    auto num = [&](const char* k, double d) {
        return c.contains(k) && c[k].is_number() ? c[k].get<double>() : d;
    };
    auto flag = [&](const char* k, bool d) {
        return c.contains(k) && c[k].is_boolean() ? c[k].get<bool>() : d;
    };
    for (const char* k : {"clipnorm", "global_clipnorm", "clipvalue", "ema_overwrite_frequency",
                          "loss_scale_factor", "gradient_accumulation_steps"})
        if (c.contains(k) && !c[k].is_null())
            throw value_error(detail::cat("optimizer ", io::excerpt(cls, 60), ": option '", k,
                                          "' = ", io::describe(c[k]),
                                          " is not supported by xkeras"));
    // Keras 2's inverse-time decay: a rate falling as 1 / (1 + decay * step)
    if (c.contains("decay") && c["decay"].is_number() && c["decay"].get<double>() != 0.0)
        throw value_error(
            detail::cat("optimizer ", io::excerpt(cls, 60), ": Keras 2's option ",
                        "'decay' = ", io::describe(c["decay"]),
                        " is not supported by xkeras (use a learning-rate schedule)"));
    if (flag("use_ema", false))
        throw value_error(detail::cat("optimizer ", io::excerpt(cls, 60),
                                      ": option 'use_ema' is not supported by xkeras"));
    LearningRate lr = num("lr", 0.001);
    const double fallback = cls == "SGD" ? 0.01 : 0.001;
    if (c.contains("learning_rate") && c["learning_rate"].is_object()) {
        const json& s = c["learning_rate"];
        const json sc = s.value("config", json::object());
        if (s.value("class_name", std::string()) != "ExponentialDecay")
            throw value_error(detail::cat("optimizer ", io::excerpt(cls, 60),
                                          ": learning-rate schedule ", io::describe(s),
                                          " is not supported by xkeras (it has ExponentialDecay)"));
        lr = schedules::ExponentialDecay(sc.value("initial_learning_rate", 0.001),
                                         sc.value("decay_steps", 1.0), sc.value("decay_rate", 1.0),
                                         sc.value("staircase", false));
    } else {
        lr = num("learning_rate", c.contains("lr") ? num("lr", fallback) : fallback);
    }
    std::optional<double> wd;
    if (c.contains("weight_decay") && c["weight_decay"].is_number())
        wd = c["weight_decay"].get<double>();
    if (cls == "SGD")
        return std::make_unique<SGD<T>>(
            SGDOptions{lr, num("momentum", 0.0), flag("nesterov", false), wd});
    if (cls == "Adam" || cls == "AdamW") {
        AdamOptions o{lr,
                      num("beta_1", 0.9),
                      num("beta_2", 0.999),
                      num("epsilon", 1e-7),
                      flag("amsgrad", false),
                      wd};
        if (cls == "AdamW") return std::make_unique<AdamW<T>>(o);
        return std::make_unique<Adam<T>>(o);
    }
    if (cls == "RMSprop")
        return std::make_unique<RMSprop<T>>(
            RMSpropOptions{lr, num("rho", 0.9), num("momentum", 0.0), num("epsilon", 1e-7),
                           flag("centered", false), wd});
    if (cls == "Adagrad")
        return std::make_unique<Adagrad<T>>(
            AdagradOptions{lr, num("initial_accumulator_value", 0.1), num("epsilon", 1e-7), wd});
    throw value_error(detail::cat("optimizer '", io::excerpt(cls, 60),
                                  "' is not supported by xkeras (it has SGD, Adam, AdamW, RMSprop, "
                                  "Adagrad)"));
}

}  // namespace xkeras::optimizers

namespace xkeras {

/// An optimizer given to compile(): a name ("adam") or an optimizer object (Adam(1e-3)).
template <class T>
class optimizer_arg {
  public:
    optimizer_arg(const char* name) : ptr_(optimizers::get<T>(name)) {}         // NOLINT
    optimizer_arg(const std::string& name) : ptr_(optimizers::get<T>(name)) {}  // NOLINT
    template <class O>
    requires std::derived_from<std::decay_t<O>, optimizers::Optimizer<T>> optimizer_arg(
        O&& o)  // NOLINT
        : ptr_(std::make_unique<std::decay_t<O>>(std::forward<O>(o))) {}
    optimizer_arg(std::unique_ptr<optimizers::Optimizer<T>> p) : ptr_(std::move(p)) {}  // NOLINT
    std::unique_ptr<optimizers::Optimizer<T>> release() { return std::move(ptr_); }

  private:
    std::unique_ptr<optimizers::Optimizer<T>> ptr_;
};

}  // namespace xkeras
