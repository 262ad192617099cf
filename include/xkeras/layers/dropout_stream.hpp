// xkeras/layers/dropout_stream.hpp - the masks of inverted dropout, as a resumable stream: what
// Dropout, SpatialDropout and the recurrent layers' `dropout` draw from.
//
// Mask k of a stream is a function of the stream's seed and k only (a hash of the two keys
// SplitMix64 outputs), so a saved model resumes with the masks an uninterrupted run would have
// drawn from two integers, and the draws are independent iterations (no sequential generator):
// arithmetic rather than a branch the CPU cannot predict.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../detail/random.hpp"

namespace xkeras::layers::detail {

/// The first row of the batch a training forward pass runs, inside the global batch it is part
/// of: data-parallel training runs a global batch as micro-batches (training/trainer.hpp), and a
/// micro-batch's rows take the mask values the same rows of the whole batch take. 0 otherwise.
inline thread_local std::size_t batch_first_row = 0;

/// Sets batch_first_row for a scope.
class batch_window {
  public:
    explicit batch_window(std::size_t first_row) : saved_(batch_first_row) {
        batch_first_row = first_row;
    }
    ~batch_window() { batch_first_row = saved_; }
    batch_window(const batch_window&) = delete;
    batch_window& operator=(const batch_window&) = delete;

  private:
    std::size_t saved_;
};

struct dropout_stream {
    std::uint64_t seed = 0;   ///< The layer's seed, or one drawn from the global generator.
    std::uint64_t calls = 0;  ///< Masks drawn so far.

    /// The next mask, for `rows` rows of `per_row` values: each 1 / (1 - rate) with probability
    /// 1 - rate, else 0 (all 0 for rate 1). Value i of the mask is draw i + batch_first_row *
    /// per_row of the call's sequence.
    template <class T>
    void next(T* m, std::size_t rows, std::size_t per_row, double rate) {
        const T scale = rate >= 1.0 ? T(0) : static_cast<T>(1.0 / (1.0 - rate));
        // keep when a uniform 32-bit draw is >= rate * 2^32; two draws per 64 bits (draws 2j and
        // 2j + 1 are the halves of hash j)
        const auto threshold = static_cast<std::uint64_t>(std::ldexp(rate, 32));
        const std::uint64_t key =
            xkeras::detail::splitmix64(seed ^ xkeras::detail::splitmix64(calls++));
        auto hash = [key](std::size_t j) {
            std::uint64_t z = key + (2 * j + 1) * 0x9E3779B97F4A7C15ull;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            return z ^ (z >> 31);
        };
        const std::size_t first = batch_first_row * per_row, count = rows * per_row;
        std::size_t i = 0;
        if (first % 2 != 0 && count > 0) {  // the high half of the hash before
            m[0] = scale * T((hash(first / 2) >> 32) >= threshold);
            i = 1;
        }
        for (; i < count; i += 2) {
            const std::uint64_t z = hash((first + i) / 2);
            m[i] = scale * T((z & 0xffffffffu) >= threshold);
            if (i + 1 < count) m[i + 1] = scale * T((z >> 32) >= threshold);
        }
    }

    /// The state to save: {"seed", "calls"}.
    nlohmann::json state() const { return {{"seed", seed}, {"calls", calls}}; }

    /// Restores state(); `who` ("layer 'lstm' (LSTM)") starts the message for a state that is
    /// not one.
    void set_state(const nlohmann::json& s, const std::string& who) {
        auto get = [&](const char* key) {
            if (!s.is_object() || !s.contains(key) || !s[key].is_number_unsigned())
                throw value_error(who +
                                  ": its training state needs non-negative integers 'seed' and "
                                  "'calls'");
            return s[key].template get<std::uint64_t>();
        };
        const std::uint64_t new_seed = get("seed"), new_calls = get("calls");
        seed = new_seed;
        calls = new_calls;
    }
};

}  // namespace xkeras::layers::detail
