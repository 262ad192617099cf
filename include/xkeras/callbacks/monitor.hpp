// xkeras/callbacks/monitor.hpp - what EarlyStopping and ModelCheckpoint share: the monitored
// log key, the direction (Keras 3's MonitorCallback) and the comparison with min_delta.
//
// mode "min" / "max", or "auto": a monitor named "loss" / "val_loss" is minimised; a compiled
// metric is maximised if it is an accuracy and minimised if it is an error (mse, mae); anything
// else cannot be decided and is refused with Keras's message. An improvement is
// current - min_delta > best (max) or current + min_delta < best (min); with no best yet any value
// improves.
#pragma once

#include <cmath>
#include <iostream>
#include <optional>
#include <string>

#include "../config.hpp"
#include "../model.hpp"
#include "callback.hpp"

namespace xkeras::callbacks {

template <class T>
class MonitorCallback : public Callback<T> {
  public:
    const std::string& monitor() const { return monitor_; }
    const std::string& mode() const { return mode_; }
    /// The best value seen (none before the first).
    std::optional<double> best() const { return best_; }

  protected:
    MonitorCallback(const char* who, std::string monitor, std::string mode, double min_delta)
        : who_(who),
          monitor_(std::move(monitor)),
          mode_(std::move(mode)),
          min_delta_(std::abs(min_delta)) {
        if (mode_ != "auto" && mode_ != "min" && mode_ != "max")
            throw value_error(xkeras::detail::cat(
                who_, ": expected mode 'auto', 'min' or 'max', got '", mode_, "'"));
        if (!std::isfinite(min_delta))
            throw value_error(
                xkeras::detail::cat(who_, ": min_delta must be finite, got ", min_delta));
    }

    /// True when the monitored value should increase (resolved from the model at first use).
    bool maximize() {
        if (!maximize_) maximize_ = resolve_direction();
        return *maximize_;
    }

    /// Whether `current` improves on `reference` (none: always).
    bool is_improvement(double current, std::optional<double> reference) {
        const bool up = maximize();  // resolved (or refused) at the first value, as Keras
        if (!reference) return true;
        return up ? current - min_delta_ > *reference : current + min_delta_ < *reference;
    }

    /// The monitored value, or none (after warning once with `warning_text`) when absent.
    std::optional<double> monitor_value(const Logs& logs, const std::string& warning_text) {
        auto it = logs.find(monitor_);
        if (it != logs.end()) return it->second;
        if (!warned_) {
            std::cerr << "UserWarning: " << warning_text << available(logs) << "\n";
            warned_ = true;
        }
        return std::nullopt;
    }

    static std::string available(const Logs& logs) {
        std::string keys;
        for (const auto& [k, v] : logs) keys += (keys.empty() ? "" : ",") + k;
        return keys;
    }

    const char* who_;
    std::string monitor_, mode_;
    double min_delta_;
    std::optional<double> best_;

  private:
    bool resolve_direction() const {
        if (mode_ == "min") return false;
        if (mode_ == "max") return true;
        std::string name = monitor_;
        if (name.rfind("val_", 0) == 0) name = name.substr(4);
        if (name == "loss") return false;
        if (this->model)
            for (const auto& c : this->model->compiled_metrics()) {
                if (c.log_name != name) continue;
                std::string lower = c.name;
                for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
                if (lower == "mse" || lower == "mae" || lower == "mean_squared_error" ||
                    lower == "mean_absolute_error")
                    return false;
                return true;  // every other metric xkeras has is an accuracy
            }
        throw value_error(xkeras::detail::cat(
            who_, " callback received monitor=", monitor_,
            ", but Keras isn't able to automatically determine whether that metric should be "
            "maximized or minimized. Pass `mode='max'` in order to monitor based on the highest "
            "metric value, or pass `mode='min'` in order to use the lowest value."));
    }

    std::optional<bool> maximize_;
    bool warned_ = false;
};

}  // namespace xkeras::callbacks
