// xkeras/callbacks/early_stopping.hpp - EarlyStopping, with Keras 3's semantics and messages.
//
// At each epoch end (from start_from_epoch on): if the monitored value improves on the best by
// more than min_delta it becomes the best (and, with restore_best_weights, its weights are
// kept), and the wait resets unless a baseline is set and not beaten; otherwise the wait grows
// and training stops once it reaches `patience` (never at epoch 0). At the end of training it
// prints "Epoch N: early stopping" (verbose) and, with restore_best_weights, restores the best
// epoch's weights, printing "Restoring model weights from the end of the best epoch: N." — as
// Keras 3 does, also when training ran to the end.
#pragma once

#include <iostream>
#include <optional>
#include <vector>

#include "../model.hpp"
#include "monitor.hpp"

namespace xkeras::callbacks {

struct EarlyStoppingOptions {
    std::string monitor = "val_loss";
    double min_delta = 0.0;
    int patience = 0;
    int verbose = 0;
    std::string mode = "auto";
    std::optional<double> baseline{};
    bool restore_best_weights = false;
    int start_from_epoch = 0;
};

template <class T = float>
class EarlyStopping : public MonitorCallback<T> {
  public:
    explicit EarlyStopping(EarlyStoppingOptions o = {}, std::ostream& out = std::cout)
        : MonitorCallback<T>("EarlyStopping", o.monitor, o.mode, o.min_delta), o_(o), out_(&out) {
        if (o.patience < 0)
            throw value_error(
                xkeras::detail::cat("EarlyStopping: patience must be >= 0, got ", o.patience));
        if (o.start_from_epoch < 0)
            throw value_error(xkeras::detail::cat(
                "EarlyStopping: start_from_epoch must be >= 0, got ", o.start_from_epoch));
    }

    /// The epoch training stopped at (0 when it did not stop), the best epoch, the wait.
    int stopped_epoch() const { return stopped_epoch_; }
    int best_epoch() const { return best_epoch_; }
    int wait() const { return wait_; }

    void on_train_begin(const Logs&) override {
        wait_ = 0;
        stopped_epoch_ = 0;
        best_epoch_ = 0;
        this->best_.reset();
        best_weights_.reset();
    }

    void on_epoch_end(int epoch, const Logs& logs) override {
        auto current = this->monitor_value(
            logs, xkeras::detail::cat("Early stopping conditioned on metric `", this->monitor_,
                                      "` which is not available. Available metrics are: "));
        if (!current || epoch < o_.start_from_epoch) return;
        if (o_.restore_best_weights && !best_weights_) {
            best_weights_ = this->model->get_weights();
            best_epoch_ = epoch;
        }
        ++wait_;
        if (this->is_improvement(*current, this->best_)) {
            this->best_ = *current;
            best_epoch_ = epoch;
            if (o_.restore_best_weights) best_weights_ = this->model->get_weights();
            if (!o_.baseline || this->is_improvement(*current, o_.baseline)) wait_ = 0;
            return;
        }
        if (wait_ >= o_.patience && epoch > 0) {
            stopped_epoch_ = epoch;
            this->model->stop_training = true;
        }
    }

    void on_train_end(const Logs&) override {
        if (stopped_epoch_ > 0 && o_.verbose > 0)
            *out_ << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
        if (o_.restore_best_weights && best_weights_) {
            if (o_.verbose > 0)
                *out_ << "Restoring model weights from the end of the best epoch: "
                      << best_epoch_ + 1 << ".\n";
            this->model->set_weights(*best_weights_);
        }
        out_->flush();
    }

  private:
    EarlyStoppingOptions o_;
    std::ostream* out_;
    int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
    std::optional<std::vector<tensor<T>>> best_weights_;
};

}  // namespace xkeras::callbacks
