// xkeras/optimizers.hpp - every optimizer, and `get` for Keras's string shortcuts.
#pragma once

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

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
    throw value_error(detail::cat("unknown optimizer '", name,
                                  "'; expected one of adam, adamw, sgd, rmsprop, adagrad"));
}

}  // namespace xkeras::optimizers
