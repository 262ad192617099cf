// xkeras/detail/random.hpp - portable random numbers.
//
// std::mt19937_64's output is fixed by the standard, but the std:: distributions are not, so the
// distributions here are our own: the same seed gives the same numbers with any standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>
#include <random>

namespace xkeras::detail {

/// SplitMix64's output function: a strong 64-bit mix (used to derive independent seeds).
inline std::uint64_t splitmix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// A seeded generator with the few distributions xkeras needs.
class rng {
  public:
    explicit rng(std::uint64_t seed = 0) : engine_(seed) {}

    std::uint64_t next_u64() { return engine_(); }

    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

    /// Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    /// Standard normal (Box-Muller; the second value is kept for the next call).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = 0.0;
        while (u1 <= 0.0) u1 = uniform();
        double u2 = uniform();
        double r = std::sqrt(-2.0 * std::log(u1));
        constexpr double two_pi = 6.283185307179586476925286766559;
        spare_ = r * std::sin(two_pi * u2);
        has_spare_ = true;
        return r * std::cos(two_pi * u2);
    }

    /// Normal cut at two standard deviations (values beyond are redrawn), as Keras's
    /// truncated_normal.
    double truncated_normal() {
        for (;;) {
            double v = normal();
            if (v >= -2.0 && v <= 2.0) return v;
        }
    }

    /// Uniform integer in [0, n) without modulo bias.
    std::uint64_t below(std::uint64_t n) {
        std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        for (;;) {
            std::uint64_t v = engine_();
            if (v < limit) return v % n;
        }
    }

  private:
    std::mt19937_64 engine_;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

/// The process-wide seed generator that `utils::set_random_seed` reseeds. Layers, fit's shuffling
/// and dropout draw their own seeds from it, so one call makes a whole run reproducible.
struct global_seed_state {
    std::mutex mutex;
    rng gen{std::random_device{}()};
};

inline global_seed_state& global_seeds() {
    static global_seed_state s;
    return s;
}

inline bool& seed_draws_paused() {
    thread_local bool paused = false;
    return paused;
}

/// While it lives, next_seed() on this thread returns 0 without drawing: for layers made only to
/// receive copies of other layers' weights (predict's replicas), so that making them leaves the
/// global generator, and with it every later seed of the run, where it was.
class no_seed_draws {
  public:
    no_seed_draws() : previous_(seed_draws_paused()) { seed_draws_paused() = true; }
    ~no_seed_draws() { seed_draws_paused() = previous_; }
    no_seed_draws(const no_seed_draws&) = delete;
    no_seed_draws& operator=(const no_seed_draws&) = delete;

  private:
    bool previous_;
};

/// Draws a fresh seed from the global seed generator (0 under a no_seed_draws).
inline std::uint64_t next_seed() {
    if (seed_draws_paused()) return 0;
    auto& s = global_seeds();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.gen.next_u64();
}

}  // namespace xkeras::detail

namespace xkeras::utils {

/// Seeds everything random in xkeras: weight initialisation, shuffling in `fit` and dropout
/// masks. Like keras.utils.set_random_seed, call it before building the model.
inline void set_random_seed(std::uint64_t seed) {
    auto& s = detail::global_seeds();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.gen = detail::rng(seed);
}

}  // namespace xkeras::utils
