// BatchNormalization: batch statistics in training, moving statistics otherwise, Keras's
// moving-average update, weights and counts, gradients in both modes.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

TEST_CASE("BatchNormalization normalises with batch statistics in training", "[bn]") {
    layers::BatchNormalization<double> bn;
    bn.build({3});
    auto x = random_tensor({50, 3}, 1, 2.0, 6.0);
    auto y = bn.forward(x, true);
    for (std::size_t c = 0; c < 3; ++c) {
        auto col = xt::view(y, xt::all(), c);
        CHECK(xt::mean(col)() == Approx(0.0).margin(1e-9));
        // biased variance, eps 1e-3: var(y) = var / (var + eps)
        double var = xt::variance(xt::view(x, xt::all(), c))();
        CHECK(xt::variance(col)() == Approx(var / (var + 1e-3)));
    }
    // moving = moving * 0.99 + batch * 0.01, from mean 0 / variance 1
    auto w = bn.get_weights();
    REQUIRE(w.size() == 4);
    double mean0 = xt::mean(xt::view(x, xt::all(), 0))();
    double var0 = xt::variance(xt::view(x, xt::all(), 0))();
    CHECK(w[2](0) == Approx(0.01 * mean0));
    CHECK(w[3](0) == Approx(0.99 + 0.01 * var0));
}

TEST_CASE("BatchNormalization's float statistics hold for a large mean and many rows", "[bn]") {
    // 10,007 rows (several blocks and tasks, a ragged end), mean 1000 against a spread of 0.1:
    // E[x^2] - E[x]^2 in float would lose the variance entirely
    const std::size_t rows = 10007, C = 3;
    auto x = random_tensor({rows, C}, 7, -0.2, 0.2);
    xt::xarray<float> xf = xt::cast<float>(x + 1000.0);
    const int before = get_num_threads();
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        layers::BatchNormalization<float> bn({.momentum = 0.0});
        bn.build({C});
        bn.forward(xf, true);
        auto w = bn.get_weights();
        for (std::size_t c = 0; c < C; ++c) {
            const xt::xarray<double> col = xt::cast<double>(xt::view(xf, xt::all(), c));
            const double mean = xt::mean(col)(), var = xt::variance(col)();
            CHECK(double(w[2](c)) == Approx(mean).epsilon(1e-7));
            CHECK(double(w[3](c)) == Approx(var).epsilon(1e-4));
        }
    }
    set_num_threads(before);
}

TEST_CASE("BatchNormalization on an empty batch in training moves nothing", "[bn]") {
    layers::BatchNormalization<float> bn;
    bn.build({3});
    const auto before = bn.get_weights();
    xt::xarray<float> x = xt::zeros<float>({std::size_t(0), std::size_t(3)});
    const auto& y = bn.forward(x, true);
    CHECK(y.shape() == x.shape());
    const auto after = bn.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((after[i] == before[i]));
}

TEST_CASE("BatchNormalization uses the moving statistics outside training", "[bn]") {
    layers::BatchNormalization<double> bn({.epsilon = 0.01});
    bn.build({2});
    bn.set_weights({xt::xarray<double>{2.0, 1.0}, xt::xarray<double>{0.5, 0.0},
                    xt::xarray<double>{1.0, -1.0}, xt::xarray<double>{4.0, 0.99}});
    xt::xarray<double> x{{3.0, 0.0}};
    auto y = bn.forward(x, false);
    CHECK(y(0, 0) == Approx(2.0 * (3.0 - 1.0) / std::sqrt(4.01) + 0.5));
    CHECK(y(0, 1) == Approx((0.0 + 1.0) / 1.0));
    // a frozen layer uses them in training too, and does not update them
    bn.trainable = false;
    auto y2 = bn.forward(x, true);
    CHECK(y2(0, 0) == Approx(y(0, 0)));
    CHECK(bn.get_weights()[2](0) == 1.0);
}

TEST_CASE("BatchNormalization weights: gamma, beta trainable, moving stats not", "[bn]") {
    Sequential m;
    m.add(layers::Dense(8, {.input_shape = {4}}));
    m.add(layers::BatchNormalization());
    CHECK(m.count_params() == 40 + 32);
    auto ps = m.layers()[1]->params();
    REQUIRE(ps.size() == 4);
    CHECK(ps[0]->name.ends_with("/gamma"));
    CHECK(ps[3]->name.ends_with("/moving_variance"));
    CHECK(ps[0]->trainable);
    CHECK_FALSE(ps[2]->trainable);
    CHECK(m.trainable_params().size() == 4);  // dense kernel, bias, gamma, beta
    CHECK_THAT(m.summary_string(76), Catch::Contains(" Trainable params: 56 (") &&
                                         Catch::Contains(" Non-trainable params: 16 ("));
    CHECK_THROWS_AS(layers::BatchNormalization<float>({.momentum = 1.5}), value_error);
    layers::BatchNormalization<float> axis1({.axis = 1});
    CHECK_THROWS_WITH(axis1.build({4, 4, 3}), Catch::Contains("axis -1"));
}

TEST_CASE("BatchNormalization gradients in both modes", "[bn][gradient]") {
    SECTION("training (batch statistics), rank 4") {
        layers::BatchNormalization<double> bn;
        bn.build({3, 2, 4});
        bn.params()[0]->value = random_tensor({4}, 2, 0.5, 1.5);
        bn.params()[1]->value = random_tensor({4}, 3);
        check_layer_gradients(bn, random_tensor({3, 3, 2, 4}, 4));
    }
    SECTION("frozen (moving statistics)") {
        layers::BatchNormalization<double> bn;
        bn.build({5});
        bn.params()[2]->value = random_tensor({5}, 5);
        bn.params()[3]->value = random_tensor({5}, 6, 0.5, 2.0);
        bn.trainable = false;
        check_layer_gradients(bn, random_tensor({4, 5}, 7));
    }
    SECTION("no center, no scale") {
        layers::BatchNormalization<double> bn({.center = false, .scale = false});
        bn.build({3});
        CHECK(bn.params().size() == 2);
        check_layer_gradients(bn, random_tensor({6, 3}, 8));
    }
}
