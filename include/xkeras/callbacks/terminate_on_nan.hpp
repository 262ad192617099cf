// xkeras/callbacks/terminate_on_nan.hpp - TerminateOnNaN and LambdaCallback.
//
// Without TerminateOnNaN, fit throws a numerical_error on a NaN / infinite training loss. With
// it, fit skips that batch's update, reports the loss in the batch logs, and TerminateOnNaN
// prints Keras's "Batch N: Invalid loss, terminating training" and stops training
// (raise_error = true throws a numerical_error instead).
// LambdaCallback wraps std::functions for Keras's six hooks.
#pragma once

#include <cmath>
#include <functional>
#include <iostream>

#include "../model.hpp"
#include "callback.hpp"

namespace xkeras::callbacks {

template <class T = float>
class TerminateOnNaN : public Callback<T> {
  public:
    explicit TerminateOnNaN(bool raise_error = false, std::ostream& out = std::cout)
        : raise_(raise_error), out_(&out) {}

    bool handles_invalid_loss() const override { return true; }

    void on_train_batch_end(int batch, const Logs& logs) override {
        auto it = logs.find("loss");
        if (it == logs.end() || std::isfinite(it->second)) return;
        if (raise_)
            throw numerical_error(xkeras::detail::cat("NaN or Inf found in model loss. Batch ",
                                                      batch, ": Invalid loss ", it->second));
        *out_ << "Batch " << batch << ": Invalid loss, terminating training\n" << std::flush;
        this->model->stop_training = true;
    }

  private:
    bool raise_;
    std::ostream* out_;
};

/// The hooks of a LambdaCallback; each may be empty.
template <class T = float>
struct LambdaHooks {
    std::function<void(int, const Logs&)> on_epoch_begin{};
    std::function<void(int, const Logs&)> on_epoch_end{};
    std::function<void(int, const Logs&)> on_train_batch_begin{};
    std::function<void(int, const Logs&)> on_train_batch_end{};
    std::function<void(const Logs&)> on_train_begin{};
    std::function<void(const Logs&)> on_train_end{};
};

/// `LambdaCallback<>({.on_epoch_end = [](int epoch, const Logs& logs) { ... }})`.
template <class T = float>
class LambdaCallback : public Callback<T> {
  public:
    explicit LambdaCallback(LambdaHooks<T> hooks) : h_(std::move(hooks)) {}
    void on_epoch_begin(int e, const Logs& l) override {
        if (h_.on_epoch_begin) h_.on_epoch_begin(e, l);
    }
    void on_epoch_end(int e, const Logs& l) override {
        if (h_.on_epoch_end) h_.on_epoch_end(e, l);
    }
    void on_train_batch_begin(int b, const Logs& l) override {
        if (h_.on_train_batch_begin) h_.on_train_batch_begin(b, l);
    }
    void on_train_batch_end(int b, const Logs& l) override {
        if (h_.on_train_batch_end) h_.on_train_batch_end(b, l);
    }
    void on_train_begin(const Logs& l) override {
        if (h_.on_train_begin) h_.on_train_begin(l);
    }
    void on_train_end(const Logs& l) override {
        if (h_.on_train_end) h_.on_train_end(l);
    }

  private:
    LambdaHooks<T> h_;
};

}  // namespace xkeras::callbacks
