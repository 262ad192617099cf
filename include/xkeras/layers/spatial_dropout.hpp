// xkeras/layers/spatial_dropout.hpp - SpatialDropout1D and SpatialDropout2D: Dropout that drops
// whole channels.
//
// A draw per sample and channel (the last axis) keeps or zeroes that channel at every step or
// pixel, Keras's noise shape (batch, 1, channel) and (batch, 1, 1, channel): neighbouring steps
// and pixels of a channel are correlated, so dropping them one by one regularises little. The
// masks, the scaling and the resumable stream are Dropout's.
//
// Keras 3's config of these layers holds rate, seed, name and dtype only: its constructors take
// no `trainable`, so xkeras writes none either (a file with one reloads in Keras 3).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "dropout.hpp"

namespace xkeras::layers {

namespace detail {

/// SpatialDropout1D (Rank 2: steps, channels) or SpatialDropout2D (Rank 3: rows, cols,
/// channels), named Name.
template <class T, class Self, std::size_t Rank>
class spatial_dropout : public Dropout<T> {
  public:
    spatial_dropout(double rate, DropoutOptions options, const char* prefix)
        : Dropout<T>(rate, std::move(options), prefix, class_name_of(), Rank) {}

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c.erase("trainable");
        c["rate"] = this->rate();
        c["seed"] = config::seed_json(this->seed());
        if constexpr (Rank == 3) c["data_format"] = "channels_last";
        return c;
    }

    static layer_example example() {
        if constexpr (Rank == 2)
            return {{{"rate", 0.5}, {"seed", 3}}, {5, 4}};
        else
            return {{{"rate", 0.5}, {"seed", 3}}, {3, 3, 4}};
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, class_name_of());
        auto [rate, o] = Dropout<T>::read_config(r);
        if constexpr (Rank == 3) r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<Self>(rate, std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  private:
    static const char* class_name_of() {
        return Rank == 2 ? "SpatialDropout1D" : "SpatialDropout2D";
    }
};

}  // namespace detail

/// `SpatialDropout1D(0.2)`: inputs (batch, steps, channels).
template <class T = float>
class SpatialDropout1D : public detail::spatial_dropout<T, SpatialDropout1D<T>, 2> {
  public:
    explicit SpatialDropout1D(double rate, DropoutOptions options = {})
        : detail::spatial_dropout<T, SpatialDropout1D<T>, 2>(rate, std::move(options),
                                                             "spatial_dropout1d") {}
    std::string class_name() const override { return "SpatialDropout1D"; }
};

/// `SpatialDropout2D(0.2)`: inputs (batch, rows, cols, channels).
template <class T = float>
class SpatialDropout2D : public detail::spatial_dropout<T, SpatialDropout2D<T>, 3> {
  public:
    explicit SpatialDropout2D(double rate, DropoutOptions options = {})
        : detail::spatial_dropout<T, SpatialDropout2D<T>, 3>(rate, std::move(options),
                                                             "spatial_dropout2d") {}
    std::string class_name() const override { return "SpatialDropout2D"; }
};

}  // namespace xkeras::layers
