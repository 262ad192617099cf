// xkeras/layers/dropout.hpp - Dropout: inverted dropout, active in training only.
//
// In training each value is kept with probability 1 - rate and scaled by 1 / (1 - rate) (rate 1
// gives zeros); in evaluate, predict and validation the layer is the identity. The masks come
// from the layer's own generator, seeded by `seed` or by the global seed generator
// (utils::set_random_seed), so runs are repeatable.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "../detail/random.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct DropoutOptions {
    std::optional<std::uint64_t> seed{};  ///< Defaults to a seed from the global generator.
    shape_t input_shape{};                ///< Keras's `input_shape=`, for a first layer.
    std::string name{};                   ///< Defaults to "dropout", "dropout_1", ...
};

/// `Dropout(0.5)`.
template <class T = float>
class Dropout : public Layer<T> {
  public:
    explicit Dropout(double rate, DropoutOptions options = {})
        : Layer<T>("dropout", options.name, options.input_shape), rate_(rate), seed_(options.seed) {
        if (!(rate >= 0.0 && rate <= 1.0))
            throw value_error(
                xkeras::detail::cat("Dropout: expected `rate` in [0, 1], got ", rate));
    }

    std::string class_name() const override { return "Dropout"; }
    double rate() const { return rate_; }
    std::optional<std::uint64_t> seed() const { return seed_; }

    shape_t compute_output_shape(const shape_t& in) const override { return in; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        if (!training || rate_ == 0.0) {
            identity_ = true;
            return x;
        }
        identity_ = false;
        this->ensure_shape(mask_, shape_of(x));
        this->ensure_shape(y_, shape_of(x));
        const T scale = rate_ >= 1.0 ? T(0) : static_cast<T>(1.0 / (1.0 - rate_));
        // Keep when a uniform 32-bit draw is >= rate * 2^32. The draws are SplitMix64 outputs of
        // (key + counter), two per 64 bits: independent iterations, unlike a sequential
        // generator, and arithmetic rather than a branch the CPU cannot predict.
        const auto threshold = static_cast<std::uint64_t>(std::ldexp(rate_, 32));
        const std::uint64_t key = gen_.next_u64();
        T* m = mask_.data();
        const std::size_t n = x.size();
        for (std::size_t i = 0; i < n; i += 2) {
            std::uint64_t z = key + (i + 1) * 0x9E3779B97F4A7C15ull;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            m[i] = scale * T((z & 0xffffffffu) >= threshold);
            if (i + 1 < n) m[i + 1] = scale * T((z >> 32) >= threshold);
        }
        const T* xp = x.data();
        T* yp = y_.data();
        for (std::size_t i = 0; i < n; ++i) yp[i] = xp[i] * m[i];
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad || identity_) return need_input_grad ? dy : dx_;
        this->ensure_shape(dx_, shape_of(dy));
        const T* m = mask_.data();
        const T* d = dy.data();
        T* o = dx_.data();
        for (std::size_t i = 0, n = dy.size(); i < n; ++i) o[i] = d[i] * m[i];
        return dx_;
    }

  protected:
    void build_weights(const shape_t&) override {
        gen_ = xkeras::detail::rng(seed_ ? *seed_ : xkeras::detail::next_seed());
    }

  private:
    double rate_;
    std::optional<std::uint64_t> seed_;
    xkeras::detail::rng gen_;
    tensor<T> mask_, y_, dx_;
    bool identity_ = true;
};

}  // namespace xkeras::layers
