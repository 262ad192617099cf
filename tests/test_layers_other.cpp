// Activation, Dropout, Flatten: values, gradients and Keras's training-only dropout; the
// activation functions by name, as Dense, Conv2D and Activation take them.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

TEST_CASE("Activation values match the formulas", "[activation]") {
    xt::xarray<double> x{{-1.0, 0.0, 2.0}};
    auto run = [&](const char* name) {
        layers::Activation<double> a(name);
        a.build({3});
        return xt::xarray<double>(a.forward(x, false));
    };
    CHECK((run("relu") == xt::xarray<double>{{0.0, 0.0, 2.0}}));
    CHECK((run("leaky_relu") == xt::xarray<double>{{-0.2, 0.0, 2.0}}));  // Keras's slope 0.2
    CHECK((run("linear") == x));
    auto s = run("sigmoid");
    CHECK(s(0, 0) == Approx(1.0 / (1.0 + std::exp(1.0))));
    CHECK(run("tanh")(0, 2) == Approx(std::tanh(2.0)));
    auto sm = run("softmax");
    double z = std::exp(-1.0) + 1.0 + std::exp(2.0);
    CHECK(sm(0, 0) == Approx(std::exp(-1.0) / z));
    CHECK(sm(0, 2) == Approx(std::exp(2.0) / z));
}

TEST_CASE("leaky_relu with a given negative slope, forward and backward", "[activation]") {
    const xt::xarray<double> x{{-2.0, -0.5, 0.0, 3.0}};
    xt::xarray<double> y = xt::zeros<double>(x.shape()), dx = y;
    activations::leaky_relu(x.data(), y.data(), 1, 4, 0.1);
    CHECK((y == xt::xarray<double>{{-0.2, -0.05, 0.0, 3.0}}));
    const xt::xarray<double> dy{{1.0, 2.0, 3.0, 4.0}};
    activations::leaky_relu_backward(y.data(), dy.data(), dx.data(), 1, 4, 0.1);
    CHECK(xt::allclose(dx, xt::xarray<double>{{0.1, 0.2, 0.3, 4.0}}));
    activations::leaky_relu(x.data(), y.data(), 1, 4, 0.0);  // slope 0 is ReLU
    CHECK((y == xt::xarray<double>{{0.0, 0.0, 0.0, 3.0}}));
}

TEST_CASE("Softmax is stable for large logits", "[activation]") {
    xt::xarray<float> x{{1000.f, 1001.f, 999.f}};
    activations::apply(activations::kind::softmax, x.data(), 1, 3);
    CHECK(std::isfinite(x(0, 0)));
    CHECK(x(0, 0) + x(0, 1) + x(0, 2) == Approx(1.0f));
}

TEST_CASE("Activation gradients match central differences", "[activation][gradient]") {
    for (const char* act : {"linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax"}) {
        SECTION(act) {
            layers::Activation<double> a(act);
            a.build({2, 5});
            check_layer_gradients(a, random_tensor({3, 2, 5}, 21));
        }
    }
}

TEST_CASE("Dropout is inverted dropout in training and the identity otherwise", "[dropout]") {
    utils::set_random_seed(5);
    layers::Dropout<double> d(0.25);
    d.build({1000});
    xt::xarray<double> x = xt::ones<double>({4, 1000});
    auto inference = d.forward(x, false);
    CHECK((inference == x));
    xt::xarray<double> y = d.forward(x, true);
    std::size_t zeros = 0;
    for (double v : y) {
        if (v == 0.0)
            ++zeros;
        else
            CHECK(v == Approx(1.0 / 0.75));
    }
    // 4000 draws with p = 0.25: mean 1000, sd 27
    CHECK(zeros > 880);
    CHECK(zeros < 1120);
    // gradient goes through the same mask
    auto dx = d.backward(x, true);
    CHECK((dx == y));
}

TEST_CASE("Dropout masks are reproducible from the seed", "[dropout]") {
    auto masks = [](std::uint64_t seed) {
        utils::set_random_seed(seed);
        layers::Dropout<float> d(0.5);
        d.build({64});
        xt::xarray<float> x = xt::ones<float>({2, 64});
        return xt::xarray<float>(d.forward(x, true));
    };
    CHECK((masks(3) == masks(3)));
    CHECK((masks(3) != masks(4)));
    layers::Dropout<float> fixed(0.5, {.seed = 42});
    fixed.build({8});
    CHECK(fixed.seed() == 42u);
}

TEST_CASE("Dropout rate 0 is the identity, rate 1 zeros, others are refused", "[dropout]") {
    layers::Dropout<double> none(0.0), all(1.0);
    none.build({3});
    all.build({3});
    xt::xarray<double> x{{1.0, 2.0, 3.0}};
    CHECK(none.forward(x, true) == x);
    CHECK(all.forward(x, true) == xt::xarray<double>{{0.0, 0.0, 0.0}});
    CHECK_THROWS_AS(layers::Dropout<double>(1.5), value_error);
    CHECK_THROWS_AS(layers::Dropout<double>(-0.1), value_error);
}

TEST_CASE("Dropout with rate 0 and Flatten pass gradients through",
          "[dropout][flatten][gradient]") {
    layers::Dropout<double> d(0.0);
    d.build({4});
    check_layer_gradients(d, random_tensor({2, 4}, 2));
    layers::Flatten<double> f;
    f.build({2, 3, 2});
    CHECK(f.output_shape() == shape_t{12});
    check_layer_gradients(f, random_tensor({2, 2, 3, 2}, 3));
}

TEST_CASE("Flatten keeps row-major (H, W, C) order", "[flatten]") {
    layers::Flatten<double> f;
    f.build({2, 2, 2});
    xt::xarray<double> x = xt::arange<double>(8);
    x.reshape({1, 2, 2, 2});
    auto y = f.forward(x, false);
    CHECK((y == xt::xarray<double>{{0, 1, 2, 3, 4, 5, 6, 7}}));
}
