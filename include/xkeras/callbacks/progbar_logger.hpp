// xkeras/callbacks/progbar_logger.hpp - the progress display of fit and evaluate (Keras 3's).
//
// verbose 1: a live bar, redrawn in place on a terminal:
//   `237/422 ━━━━━━━━━━━━━━━━━━━━ 7s 29ms/step - accuracy: 0.9877 - loss: 0.0398`
// (ETA while running, elapsed time at the end; values are the running means of the epoch, with
// the validation values added on the epoch's last line). When the output is not a terminal the
// same lines are printed plainly, one per line, without colours, at most one every two seconds.
// verbose 2: one line per epoch: `422/422 - 13s - 29ms/step - accuracy: ... - val_loss: ...`.
// "Epoch e/E" heads each epoch when there is more than one.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "callback.hpp"

namespace xkeras::callbacks {

namespace detail {

/// Keras's value format: %.4f when |v| > 1e-3, else %.4e.
inline std::string format_value(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, std::abs(v) > 1e-3 ? "%.4f" : "%.4e", v);
    return buf;
}

/// " - key: value" for each log, in key order.
inline std::string format_logs(const Logs& logs) {
    std::string out;
    for (const auto& [k, v] : logs) out += " - " + k + ": " + format_value(v);
    return out;
}

/// Time per step as Keras prints it: "3s", "29ms", "412us".
inline std::string format_per_step(double seconds) {
    char buf[32];
    if (seconds >= 1.0)
        std::snprintf(buf, sizeof buf, "%.0fs", seconds);
    else if (seconds >= 1e-3)
        std::snprintf(buf, sizeof buf, "%.0fms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.0fus", seconds * 1e6);
    return buf;
}

/// An ETA as Keras prints it: "7s", "1:05", "1:02:03".
inline std::string format_eta(double seconds) {
    char buf[32];
    long s = std::lround(seconds);
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s % 3600) / 60, s % 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
}

inline bool stdout_is_terminal() {
    return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace detail

template <class T = float>
class ProgbarLogger : public Callback<T> {
  public:
    bool rank_zero_only() const override { return true; }
    /// `tty` decides between live redraws and plain lines; by default, whether stdout is a
    /// terminal (when `os` is std::cout) or false.
    explicit ProgbarLogger(std::ostream& os = std::cout, int tty = -1)
        : os_(&os),
          tty_(tty < 0 ? (&os == &std::cout && detail::stdout_is_terminal()) : tty != 0) {}

    void on_train_begin(const Logs&) override { in_fit_ = true; }
    void on_train_end(const Logs&) override { in_fit_ = false; }

    void on_epoch_begin(int epoch, const Logs&) override {
        if (this->params.verbose > 0 && this->params.epochs > 1)
            *os_ << "Epoch " << epoch + 1 << "/" << this->params.epochs << "\n" << std::flush;
        start(this->params.steps);
    }
    void on_train_batch_end(int batch, const Logs& logs) override { update(batch + 1, logs); }
    void on_epoch_end(int, const Logs& logs) override { finish(logs); }

    void on_test_begin(const Logs&) override {
        if (!in_fit_) start(this->params.steps);
    }
    void on_test_batch_end(int batch, const Logs& logs) override {
        if (!in_fit_) update(batch + 1, logs);
    }
    void on_test_end(const Logs& logs) override {
        if (!in_fit_) finish(logs);
    }

  private:
    using clock = std::chrono::steady_clock;

    void start(int steps) {
        target_ = steps;
        current_ = 0;
        start_ = last_draw_ = clock::now();
        first_step_done_ = false;
        width_ = 0;
    }

    double seconds_since(clock::time_point t) const {
        return std::chrono::duration<double>(clock::now() - t).count();
    }

    double per_step() const {
        // Like Keras: measured from the end of the first step, which includes warm-up work.
        if (current_ <= 1 || !first_step_done_)
            return seconds_since(start_) / std::max(1, current_);
        return std::chrono::duration<double>(clock::now() - after_first_).count() /
               double(current_ - 1);
    }

    void update(int current, const Logs& logs) {
        current_ = current;
        if (current == 1) {
            after_first_ = clock::now();
            first_step_done_ = true;
        }
        if (this->params.verbose != 1 || current >= target_) return;
        double interval = tty_ ? 0.05 : 2.0;
        if (seconds_since(last_draw_) < interval) return;
        last_draw_ = clock::now();
        double eta = per_step() * double(target_ - current);
        draw(bar(current) + " " + bold(detail::format_eta(eta)) + " " +
             detail::format_per_step(per_step()) + "/step" + detail::format_logs(logs));
    }

    void finish(const Logs& logs) {
        if (this->params.verbose == 0) return;
        current_ = target_;
        double elapsed = seconds_since(start_);
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.0fs", elapsed);
        std::string ps = detail::format_per_step(target_ > 0 ? per_step() : 0.0) + "/step";
        if (this->params.verbose == 1) {
            draw(bar(target_) + " " + bold(secs) + " " + ps + detail::format_logs(logs));
            *os_ << "\n" << std::flush;
        } else {
            *os_ << counter(target_) << " - " << secs << " - " << ps << detail::format_logs(logs)
                 << "\n"
                 << std::flush;
        }
        width_ = 0;
    }

    std::string counter(int current) const {
        int digits = target_ > 0 ? int(std::log10(double(target_))) + 1 : 1;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%*d/%d", digits, current, target_);
        return buf;
    }
    std::string bold(const std::string& s) const { return tty_ ? "\x1b[1m" + s + "\x1b[0m" : s; }

    std::string bar(int current) const {
        const int width = 20;
        int done = target_ > 0 ? int(double(width) * current / target_) : width;
        std::string s = bold(counter(current)) + " ";
        std::string on, off;
        for (int i = 0; i < done; ++i) on += "━";
        for (int i = done; i < width; ++i) off += tty_ ? "━" : "─";
        if (tty_) return s + "\x1b[32m" + on + "\x1b[0m\x1b[37m" + off + "\x1b[0m";
        return s + on + off;
    }

    void draw(const std::string& line) {
        if (tty_) {
            *os_ << "\r" << line;
            // Blank out what remains of a longer previous line.
            if (line.size() < width_) *os_ << std::string(width_ - line.size(), ' ');
            width_ = line.size();
            *os_ << std::flush;
        } else {
            *os_ << line << (current_ >= target_ ? "" : "\n") << std::flush;
        }
    }

    std::ostream* os_;
    bool tty_;
    bool in_fit_ = false;
    int target_ = 0;
    int current_ = 0;
    bool first_step_done_ = false;
    std::size_t width_ = 0;
    clock::time_point start_, last_draw_, after_first_;
};

}  // namespace xkeras::callbacks
