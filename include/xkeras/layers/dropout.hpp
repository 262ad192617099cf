// xkeras/layers/dropout.hpp - Dropout: inverted dropout, active in training only.
//
// In training each value is kept with probability 1 - rate and scaled by 1 / (1 - rate) (rate 1
// gives zeros); in evaluate, predict and validation the layer is the identity. The masks come
// from a hash of the layer's seed (`seed`, or one drawn from the global seed generator,
// utils::set_random_seed) and a count of training calls, so runs are repeatable and a saved
// model resumes with the masks an uninterrupted run would have drawn. SpatialDropout1D / 2D
// (spatial_dropout.hpp) are this layer with one draw per sample and channel.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "../detail/random.hpp"
#include "dropout_stream.hpp"
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
        : Dropout(rate, std::move(options), "dropout", "Dropout", 0) {}

    std::string class_name() const override { return "Dropout"; }
    bool supports_masking() const override { return true; }
    double rate() const { return rate_; }
    std::optional<std::uint64_t> seed() const { return seed_; }

    /// The mask stream's state: the seed in use and the number of training calls so far.
    std::pair<std::uint64_t, std::uint64_t> stream_state() const {
        return {stream_.seed, stream_.calls};
    }
    void set_stream_state(std::uint64_t seed, std::uint64_t calls) { stream_ = {seed, calls}; }

    nlohmann::json training_state() const override { return stream_.state(); }
    void set_training_state(const nlohmann::json& s) override {
        stream_.set_state(s, "layer '" + this->name() + "' (" + class_name() + ")");
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["rate"] = rate_;
        c["seed"] = config::seed_json(seed_);
        c["noise_shape"] = nullptr;
        return c;
    }

    static layer_example example() { return {{{"rate", 0.4}, {"seed", 7}}, {6}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Dropout");
        auto [rate, o] = read_config(r);
        r.finish();
        auto layer = std::make_unique<Dropout<T>>(rate, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (channel_rank_ != 0 && in.size() != channel_rank_)
            throw value_error(xkeras::detail::cat(class_name(), " '", this->name(),
                                                  "': expected inputs of rank ", channel_rank_ + 1,
                                                  " (batch included, channels last), got ",
                                                  in.size() + 1, " (shape ", shape_str(in), ")"));
        return in;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        if (!training || rate_ == 0.0) {
            identity_ = true;
            return x;
        }
        identity_ = false;
        // one draw per value, or per sample and channel when whole channels drop
        const std::size_t draws = channel_rank_ == 0 ? x.size() : x.shape()[0] * channels(x);
        this->ensure_shape(mask_, {draws});
        this->ensure_shape(y_, shape_of(x));
        const std::size_t rows = x.shape()[0];
        stream_.next(mask_.data(), rows, rows ? draws / rows : 0, rate_);
        apply_mask(x, y_);
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad || identity_) return need_input_grad ? dy : dx_;
        this->ensure_shape(dx_, shape_of(dy));
        apply_mask(dy, dx_);
        return dx_;
    }

  protected:
    /// A dropout of class `class_name` (for messages; `prefix` for automatic names) whose
    /// inputs have `channel_rank` axes besides the batch (0: any) and whose mask, with a
    /// channel rank, is one draw per sample and last-axis channel (Keras's SpatialDropout
    /// noise shape).
    Dropout(double rate, DropoutOptions options, const char* prefix, const char* class_name,
            std::size_t channel_rank)
        : Layer<T>(prefix, options.name, options.input_shape),
          rate_(rate),
          seed_(options.seed),
          channel_rank_(channel_rank) {
        if (!(rate >= 0.0 && rate <= 1.0))
            throw value_error(
                xkeras::detail::cat(class_name, ": expected `rate` in [0, 1], got ", rate));
    }

    /// The rate and options of a Dropout config (Keras 3's and tf.keras's keys).
    static std::pair<double, DropoutOptions> read_config(config::reader& r) {
        DropoutOptions o;
        o.name = r.name();
        if (!r.has("rate")) throw value_error(r.where("rate") + " is missing");
        const double rate = r.get("rate", 0.0);
        if (r.has("seed")) o.seed = r.get<std::uint64_t>("seed", 0);
        r.expect("noise_shape", nullptr);
        return {rate, std::move(o)};
    }

    void build_weights(const shape_t&) override {
        stream_ = {seed_ ? *seed_ : xkeras::detail::next_seed(), 0};
    }

  private:
    static std::size_t channels(const tensor<T>& x) { return x.shape()[x.dimension() - 1]; }

    /// out = in * mask, the mask broadcast over the steps or pixels when whole channels drop.
    void apply_mask(const tensor<T>& in, tensor<T>& out) const {
        const T* m = mask_.data();
        const T* a = in.data();
        T* o = out.data();
        const std::size_t n = in.size();
        if (channel_rank_ == 0) {
            for (std::size_t i = 0; i < n; ++i) o[i] = a[i] * m[i];
            return;
        }
        if (n == 0) return;
        const std::size_t c = channels(in), per_sample = n / in.shape()[0];
        for (std::size_t i = 0; i < n; i += c) {
            const T* ms = m + (i / per_sample) * c;
            for (std::size_t k = 0; k < c; ++k) o[i + k] = a[i + k] * ms[k];
        }
    }

    double rate_;
    std::optional<std::uint64_t> seed_;
    std::size_t channel_rank_;
    detail::dropout_stream stream_;
    tensor<T> mask_, y_, dx_;
    bool identity_ = true;
};

}  // namespace xkeras::layers
