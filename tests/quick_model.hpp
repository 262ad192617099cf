// tests/quick_model.hpp - a small trained digit model for the tests that need real predictions
// (the digit board server, phone photos): E4's CNN (34,826 params) trained for one epoch on the
// first 12,000 real MNIST training images, once per test process (a few seconds); about 95% on
// the test set.
#pragma once

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"
#include "real_mnist.hpp"

namespace testing {

inline xkeras::Sequential& quick_cnn() {
    static xkeras::Sequential model = [] {
        const auto& train = real_mnist().train;
        const std::size_t n = 12000;
        xt::xarray<float> x =
            xkeras::utils::normalize_pixels(xt::view(train.images, xt::range(0, n)));
        x.reshape({n, 28, 28, 1});
        auto y = xkeras::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10);
        xkeras::utils::set_random_seed(3);
        xkeras::Sequential m;
        seed_models::e4_cnn(m);
        m.compile("adam", "categorical_crossentropy", {"accuracy"});
        m.fit(x, y, {.batch_size = 32, .epochs = 1, .verbose = 0});
        return m;
    }();
    return model;
}

/// The class `model` gives a (1, 28, 28, 1) image.
inline std::size_t classify(xkeras::Sequential& model, const xt::xarray<float>& x) {
    const auto p = model.predict(x, 1);
    return std::size_t(std::max_element(p.data(), p.data() + p.size()) - p.data());
}

}  // namespace testing
