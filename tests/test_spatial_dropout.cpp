// SpatialDropout1D and SpatialDropout2D: whole channels dropped per sample (Keras's noise shapes),
// scaled as Dropout, the identity at inference; Keras 3's configs, which carry no `trainable`;
// inputs of another rank refused. The every-layer suite (tests/test_every_layer.cpp) gives them
// the gradient check, the round trips and the exact resume of their mask stream.
#include "gradient_check.hpp"

using namespace xkeras;

namespace {

/// For each (sample, channel) of y = layer(ones): whether every step or pixel of it holds the
/// same value, 0 or 1 / (1 - rate); and how many channels were dropped.
std::size_t dropped_channels(const xt::xarray<double>& y, double rate) {
    const std::size_t n = y.shape()[0], c = y.shape()[y.dimension() - 1];
    const std::size_t per_sample = y.size() / n, steps = per_sample / c;
    std::size_t dropped = 0;
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < c; ++k) {
            const double first = y.data()[b * per_sample + k];
            CHECK((first == 0.0 || first == Approx(1.0 / (1.0 - rate))));
            for (std::size_t s = 1; s < steps; ++s)
                CHECK(y.data()[b * per_sample + s * c + k] == first);
            dropped += first == 0.0;
        }
    return dropped;
}

}  // namespace

TEST_CASE("SpatialDropout1D drops whole channels of each sample, scaled as Dropout",
          "[dropout][spatial_dropout]") {
    backend::clear_session();  // Keras's automatic names from their start
    layers::SpatialDropout1D<double> d(0.25, {.seed = 9});
    d.build({7, 100});
    const xt::xarray<double> x = xt::ones<double>({40, 7, 100});
    CHECK((d.forward(x, false) == x));
    const xt::xarray<double> y = d.forward(x, true);
    // 4000 channel draws with p = 0.25: mean 1000, sd 27
    const std::size_t dropped = dropped_channels(y, 0.25);
    CHECK(dropped > 880);
    CHECK(dropped < 1120);
    CHECK((d.backward(x, true) == y));  // the gradient goes through the same mask
    CHECK(d.name() == "spatial_dropout1d");
}

TEST_CASE("SpatialDropout2D drops whole feature maps of each sample, repeatably from its seed",
          "[dropout][spatial_dropout]") {
    layers::SpatialDropout2D<double> d(0.5, {.seed = 4});
    d.build({5, 6, 64});
    const xt::xarray<double> x = xt::ones<double>({20, 5, 6, 64});
    const xt::xarray<double> y = d.forward(x, true);
    const std::size_t dropped = dropped_channels(y, 0.5);
    // 1280 draws with p = 0.5: mean 640, sd 18
    CHECK(dropped > 560);
    CHECK(dropped < 720);
    layers::SpatialDropout2D<double> again(0.5, {.seed = 4}), other(0.5, {.seed = 5});
    again.build({5, 6, 64});
    other.build({5, 6, 64});
    CHECK((again.forward(x, true) == y));
    CHECK((other.forward(x, true) != y));
    CHECK((d.forward(x, true) != y));  // the next call draws new masks
}

TEST_CASE("SpatialDropout's gradient is the mask's, channel by channel",
          "[dropout][spatial_dropout][gradient]") {
    layers::SpatialDropout1D<double> d(0.4, {.seed = 2});
    d.build({3, 5});
    const xt::xarray<double> x = testing::random_tensor({4, 3, 5}, 8);
    const xt::xarray<double> y = d.forward(x, true);
    const xt::xarray<double> dy = testing::random_tensor({4, 3, 5}, 9);
    const xt::xarray<double> dx = d.backward(dy, true);
    for (std::size_t i = 0; i < x.size(); ++i)
        CHECK(dx.data()[i] == Approx(dy.data()[i] * y.data()[i] / x.data()[i]));
}

TEST_CASE("SpatialDropout reads and writes Keras 3's configs and refuses other ranks",
          "[dropout][spatial_dropout]") {
    // what Keras 3.14 writes: rate, seed, name, dtype (and data_format), no trainable
    const nlohmann::json k3 = {{"name", "spatial_dropout2d"},
                               {"dtype", "float32"},
                               {"rate", 0.3},
                               {"seed", nullptr},
                               {"data_format", "channels_last"}};
    auto layer = layers::registry<float>::create("SpatialDropout2D", k3);
    CHECK(dynamic_cast<layers::SpatialDropout2D<float>&>(*layer).rate() == 0.3);
    CHECK(layer->trainable);
    const auto written = layer->get_config();
    CHECK_FALSE(written.contains("trainable"));
    CHECK_FALSE(written.contains("noise_shape"));
    CHECK(written["data_format"] == "channels_last");
    CHECK_FALSE(layers::SpatialDropout1D<float>(0.2).get_config().contains("data_format"));
    // tf.keras 2 wrote Dropout's keys: trainable and a null noise_shape
    auto tf2 = layers::registry<float>::create(
        "SpatialDropout1D",
        {{"name", "s"}, {"trainable", false}, {"rate", 0.1}, {"noise_shape", nullptr}});
    CHECK_FALSE(tf2->trainable);

    auto first = k3;
    first["data_format"] = "channels_first";
    CHECK_THROWS_WITH(layers::registry<float>::create("SpatialDropout2D", first),
                      Catch::Contains("data_format"));
    auto no_rate = k3;
    no_rate.erase("rate");
    CHECK_THROWS_WITH(layers::registry<float>::create("SpatialDropout2D", no_rate),
                      Catch::Contains("'rate' is missing"));
    CHECK_THROWS_WITH(layers::SpatialDropout1D<float>(1.5),
                      Catch::Contains("SpatialDropout1D") && Catch::Contains("[0, 1]"));
    layers::SpatialDropout1D<float> flat(0.2);
    CHECK_THROWS_WITH(flat.build({12}),
                      Catch::Contains("expected inputs of rank 3") && Catch::Contains("got 2"));
    layers::SpatialDropout2D<float> seq(0.2);
    CHECK_THROWS_WITH(seq.build({5, 6}), Catch::Contains("SpatialDropout2D") &&
                                             Catch::Contains("expected inputs of rank 4"));
}
