// benchmarks/epoch_timer.hpp - the clock of the benchmarks and a callback that times each epoch
// of fit (bench_epoch, bench_scaling).
#pragma once

#include <chrono>
#include <vector>

#include <xkeras/xkeras.hpp>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Each epoch's seconds, and the last epoch's loss and accuracy.
class EpochTimer : public xkeras::callbacks::Callback<float> {
  public:
    std::vector<double> seconds;
    double last_accuracy = 0.0, last_loss = 0.0;
    void on_epoch_begin(int, const xkeras::callbacks::Logs&) override {
        start_ = clock_type::now();
    }
    void on_epoch_end(int, const xkeras::callbacks::Logs& logs) override {
        seconds.push_back(seconds_since(start_));
        if (const auto a = logs.find("accuracy"); a != logs.end()) last_accuracy = a->second;
        if (const auto l = logs.find("loss"); l != logs.end()) last_loss = l->second;
    }

  private:
    clock_type::time_point start_;
};

}  // namespace bench
