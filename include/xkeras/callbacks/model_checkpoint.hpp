// xkeras/callbacks/model_checkpoint.hpp - ModelCheckpoint, with Keras's semantics and messages.
//
// `filepath` may hold Python-style fields filled from the epoch (1-based), the batch (with
// save_freq in batches) and the logs: "w.{epoch:02d}-{val_loss:.2f}.xk". At each epoch end (or
// every `save_freq` batches) the model is saved (save, or save_weights with save_weights_only);
// with save_best_only only when the monitored value improves on the best so far (the shared
// monitor base: mode auto / min / max, no min_delta; initial_value_threshold sets the first
// best). With verbose 1 it prints, as Keras:
//   "\nEpoch 3: val_accuracy improved from 0.98811 to 0.98861, saving model to best.xk"
//   "\nEpoch 4: val_accuracy did not improve from 0.98861"
//   "\nEpoch 1: saving model to w.01.xk"
// The first best prints as -inf / inf, as tf.keras and Keras 3.0-3.10 do. A monitor missing
// from the logs skips the save with a warning that lists the keys there are. Files are written
// atomically, whatever their extension, in xkeras's format.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "../model.hpp"
#include "monitor.hpp"

namespace xkeras::callbacks {

struct ModelCheckpointOptions {
    std::string monitor = "val_loss";
    int verbose = 0;
    bool save_best_only = false;
    bool save_weights_only = false;
    std::string mode = "auto";
    int save_freq = 0;  ///< 0: every epoch ("epoch"); N > 0: every N batches.
    std::optional<double> initial_value_threshold{};
};

namespace detail {

/// Fills Python format fields "{name}" / "{name:spec}" (specs like 02d, .2f, .4e, d, f).
inline std::string format_path(const std::string& pattern, int epoch, std::optional<int> batch,
                               const Logs& logs) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        if (c == '}' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
            out += '}';
            ++i;
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        const auto close = pattern.find('}', i);
        if (close == std::string::npos)
            throw value_error("ModelCheckpoint: unclosed '{' in filepath '" + pattern + "'");
        const std::string field = pattern.substr(i + 1, close - i - 1);
        const auto colon = field.find(':');
        const std::string name = field.substr(0, colon);
        const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
        double value = 0;
        bool integer = false;
        if (name == "epoch") {
            value = epoch;
            integer = true;
        } else if (name == "batch" && batch) {
            value = *batch;
            integer = true;
        } else if (auto it = logs.find(name); it != logs.end()) {
            value = it->second;
        } else {
            std::string keys = "epoch";
            if (batch) keys += ", batch";
            for (const auto& [k, v] : logs) keys += ", " + k;
            throw value_error("ModelCheckpoint: filepath '" + pattern + "' refers to {" + name +
                              "}, which is not available (available: " + keys + ")");
        }
        char buf[128];
        const char type = spec.empty() ? (integer ? 'd' : 'r') : spec.back();
        const std::string flags = spec.empty() ? "" : spec.substr(0, spec.size() - 1);
        if (type == 'd') {
            std::snprintf(buf, sizeof buf, ("%" + flags + "lld").c_str(),
                          static_cast<long long>(value));
        } else if (type == 'f' || type == 'e' || type == 'g') {
            std::snprintf(buf, sizeof buf, ("%" + flags + type).c_str(), value);
        } else if (type == 'r') {
            std::snprintf(buf, sizeof buf, "%.17g", value);
        } else {
            throw value_error("ModelCheckpoint: format spec '" + spec + "' in filepath '" +
                              pattern + "' is not supported (use d, f, e or g)");
        }
        out += buf;
        i = close;
    }
    return out;
}

/// Keras's "%.5f" with Python's spelling of infinities.
inline std::string five(double v) {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.5f", v);
    return buf;
}

}  // namespace detail

template <class T = float>
class ModelCheckpoint : public MonitorCallback<T> {
  public:
    bool rank_zero_only() const override { return true; }
    explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions o = {},
                             std::ostream& out = std::cout)
        : MonitorCallback<T>("ModelCheckpoint", o.monitor, o.mode, 0.0),
          filepath_(std::move(filepath)),
          o_(std::move(o)),
          out_(&out) {
        if (filepath_.empty()) throw value_error("ModelCheckpoint: filepath is empty");
        if (o_.save_freq < 0)
            throw value_error(
                xkeras::detail::cat("ModelCheckpoint: save_freq must be 0 (every "
                                    "epoch) or a number of batches, got ",
                                    o_.save_freq));
    }

    /// The path of the last file written (empty before the first).
    const std::string& last_saved() const { return last_saved_; }

    void on_train_begin(const Logs&) override {
        this->best_ = o_.initial_value_threshold;
        batches_ = 0;
    }

    void on_train_batch_end(int batch, const Logs& logs) override {
        if (o_.save_freq <= 0 || ++batches_ % o_.save_freq != 0) return;
        save(epoch_, batch, logs);
    }

    void on_epoch_begin(int epoch, const Logs&) override { epoch_ = epoch; }

    void on_epoch_end(int epoch, const Logs& logs) override {
        if (o_.save_freq == 0) save(epoch, std::nullopt, logs);
    }

  private:
    void save(int epoch, std::optional<int> batch, const Logs& logs) {
        const std::string path = detail::format_path(filepath_, epoch + 1, batch, logs);
        if (o_.save_best_only) {
            auto current = this->monitor_value(
                logs, xkeras::detail::cat("Can save best model only with ", this->monitor_,
                                          " available, skipping. Available metrics are: "));
            if (!current) return;
            const bool up = this->maximize();
            const double shown = this->best_ ? *this->best_ : (up ? -INFINITY : INFINITY);
            if (this->is_improvement(*current, this->best_)) {
                if (o_.verbose > 0)
                    *out_ << "\nEpoch " << epoch + 1 << ": " << this->monitor_ << " improved from "
                          << detail::five(shown) << " to " << detail::five(*current)
                          << ", saving model to " << path << "\n"
                          << std::flush;
                this->best_ = *current;
                write(path, epoch, batch);
            } else if (o_.verbose > 0) {
                *out_ << "\nEpoch " << epoch + 1 << ": " << this->monitor_
                      << " did not improve from " << detail::five(shown) << "\n"
                      << std::flush;
            }
            return;
        }
        if (o_.verbose > 0)
            *out_ << "\nEpoch " << epoch + 1 << ": saving model to " << path << "\n" << std::flush;
        write(path, epoch, batch);
    }

    /// A failed save stops fit (as in Keras, where the OSError propagates) with an io_error
    /// naming the epoch, the batch if any, the path and the reason; the previous file at that
    /// path is unchanged (io::atomic_write).
    void write(const std::string& path, int epoch, std::optional<int> batch) {
        auto failed = [&](const char* why) {
            return io_error(
                xkeras::detail::cat("ModelCheckpoint: epoch ", epoch + 1,
                                    batch ? xkeras::detail::cat(", batch ", *batch) : std::string(),
                                    ": cannot save to '", path, "': ", why));
        };
        try {
            if (auto parent = std::filesystem::path(path).parent_path(); !parent.empty())
                std::filesystem::create_directories(parent);
            if (o_.save_weights_only)
                this->model->save_weights(path);
            else
                this->model->save(path);
        } catch (const io_error& e) {
            throw failed(e.what());
        } catch (const std::filesystem::filesystem_error& e) {
            throw failed(e.what());
        }
        last_saved_ = path;
    }

    std::string filepath_;
    ModelCheckpointOptions o_;
    std::ostream* out_;
    int epoch_ = 0;
    long batches_ = 0;
    std::string last_saved_;
};

}  // namespace xkeras::callbacks
