// xkeras/callbacks/learning_rate.hpp - ReduceLROnPlateau and LearningRateScheduler (Keras 3).
//
// ReduceLROnPlateau(monitor "val_loss", factor 0.1, patience 10, verbose 0, mode "auto",
// min_delta 1e-4, cooldown 0, min_lr 0): when the monitored value has not improved by min_delta
// for `patience` epochs (outside cooldown), lr = max(lr * factor, min_lr) and it prints
// "\nEpoch N: ReduceLROnPlateau reducing learning rate to LR.". Mode "auto" maximises a monitor
// containing "acc" and minimises anything else, as Keras's ReduceLROnPlateau does.
// LearningRateScheduler(schedule, verbose 0): at each epoch begin lr = schedule(epoch, lr),
// printing "\nEpoch N: LearningRateScheduler setting learning rate to LR.".
// Both add the current rate to the epoch's logs as `learning_rate`.
#pragma once

#include <cmath>
#include <functional>
#include <iostream>
#include <limits>

#include "../model.hpp"
#include "csv_logger.hpp"
#include "monitor.hpp"

namespace xkeras::callbacks {

struct ReduceLROnPlateauOptions {
    std::string monitor = "val_loss";
    double factor = 0.1;
    int patience = 10;
    int verbose = 0;
    std::string mode = "auto";
    double min_delta = 1e-4;
    int cooldown = 0;
    double min_lr = 0.0;
};

template <class T = float>
class ReduceLROnPlateau : public Callback<T> {
  public:
    explicit ReduceLROnPlateau(ReduceLROnPlateauOptions o = {}, std::ostream& out = std::cout)
        : o_(std::move(o)), out_(&out) {
        if (!(o_.factor < 1.0))
            throw value_error(xkeras::detail::cat(
                "ReduceLROnPlateau does not support a factor >= 1.0. Received factor=", o_.factor));
        if (!(o_.factor >= 0.0) || o_.patience < 0 || o_.cooldown < 0 || !(o_.min_lr >= 0.0))
            throw value_error(
                "ReduceLROnPlateau: factor, patience, cooldown and min_lr must be >= 0");
        if (o_.mode != "auto" && o_.mode != "min" && o_.mode != "max")
            throw value_error(xkeras::detail::cat(
                "ReduceLROnPlateau: expected mode 'auto', 'min' or 'max', got '", o_.mode, "'"));
    }

    void on_train_begin(const Logs&) override {
        maximize_ =
            o_.mode == "max" || (o_.mode == "auto" && o_.monitor.find("acc") != std::string::npos);
        best_ = maximize_ ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity();
        wait_ = cooldown_counter_ = 0;
    }

    void update_logs(int, Logs& logs) override {
        logs["learning_rate"] = this->model->optimizer().learning_rate();
    }

    void on_epoch_end(int epoch, const Logs& logs) override {
        auto it = logs.find(o_.monitor);
        if (it == logs.end()) {
            if (!warned_)
                std::cerr << "UserWarning: Learning rate reduction is conditioned on metric `"
                          << o_.monitor
                          << "` which is not available. Available metrics are: " << keys(logs)
                          << "\n";
            warned_ = true;
            return;
        }
        const double current = it->second;
        if (cooldown_counter_ > 0) {
            --cooldown_counter_;
            wait_ = 0;
        }
        const bool better =
            maximize_ ? current > best_ + o_.min_delta : current < best_ - o_.min_delta;
        if (better) {
            best_ = current;
            wait_ = 0;
        } else if (cooldown_counter_ == 0 && ++wait_ >= o_.patience) {
            auto& opt = this->model->optimizer();
            // Keras keeps the rate as float32: read it back the same way.
            const double old_lr = double(float(opt.learning_rate()));
            if (old_lr > double(float(o_.min_lr))) {
                const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
                opt.set_learning_rate(new_lr);
                if (o_.verbose > 0)
                    *out_ << "\nEpoch " << epoch + 1
                          << ": ReduceLROnPlateau reducing learning rate to "
                          << detail::shortest(new_lr) << ".\n"
                          << std::flush;
                cooldown_counter_ = o_.cooldown;
                wait_ = 0;
            }
        }
    }

  private:
    static std::string keys(const Logs& logs) {
        std::string s;
        for (const auto& [k, v] : logs) s += (s.empty() ? "" : ",") + k;
        return s;
    }
    ReduceLROnPlateauOptions o_;
    std::ostream* out_;
    bool maximize_ = false, warned_ = false;
    double best_ = 0.0;
    int wait_ = 0, cooldown_counter_ = 0;
};

template <class T = float>
class LearningRateScheduler : public Callback<T> {
  public:
    using schedule_fn = std::function<double(int epoch, double lr)>;

    /// `schedule(epoch, lr)` -> the new rate; epoch is 0-based.
    explicit LearningRateScheduler(schedule_fn schedule, int verbose = 0,
                                   std::ostream& out = std::cout)
        : schedule_(std::move(schedule)), verbose_(verbose), out_(&out) {
        if (!schedule_) throw value_error("LearningRateScheduler: the schedule is empty");
    }
    /// `schedule(epoch)` -> the new rate.
    explicit LearningRateScheduler(std::function<double(int)> schedule, int verbose = 0,
                                   std::ostream& out = std::cout)
        : LearningRateScheduler([s = std::move(schedule)](int epoch, double) { return s(epoch); },
                                verbose, out) {}

    void on_epoch_begin(int epoch, const Logs&) override {
        auto& opt = this->model->optimizer();
        const double lr = schedule_(epoch, double(float(opt.learning_rate())));
        if (!std::isfinite(lr) || lr < 0.0)
            throw value_error(xkeras::detail::cat("LearningRateScheduler: the schedule returned ",
                                                  lr, " for epoch ", epoch,
                                                  "; expected a finite learning rate >= 0"));
        opt.set_learning_rate(lr);
        if (verbose_ > 0)
            *out_ << "\nEpoch " << epoch + 1 << ": LearningRateScheduler setting learning rate to "
                  << detail::shortest(lr) << ".\n"
                  << std::flush;
    }

    void update_logs(int, Logs& logs) override {
        logs["learning_rate"] = this->model->optimizer().learning_rate();
    }

  private:
    schedule_fn schedule_;
    int verbose_;
    std::ostream* out_;
};

}  // namespace xkeras::callbacks
