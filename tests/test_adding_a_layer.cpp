// The example layer of docs/adding-a-layer.md, taken from the guide by the test build and
// registered as the guide says: it joins the registry's names, and so the checks that every
// layer gets (test_every_layer.cpp), and it trains in a model.
#include "adding_a_layer_scale.hpp"  // written by tests/CMakeLists.txt from the guide
#include "gradient_check.hpp"

using namespace xkeras;

namespace {

const bool registered = [] {
    layers::register_layer<Scale<float>>("Scale");
    layers::register_layer<Scale<double>>("Scale");
    return true;
}();

}  // namespace

TEST_CASE("The guide's example layer joins the registry with its example", "[layers][guide]") {
    REQUIRE(registered);
    const auto names = layers::registry<float>::names();
    CHECK(std::count(names.begin(), names.end(), "Scale") == 1);
    REQUIRE(layers::registry<double>::example("Scale").has_value());
    CHECK(layers::registry<double>::create("Scale", {{"name", "s"}})->name() == "s");
}

TEST_CASE("The guide's example layer computes and trains", "[layers][guide]") {
    Scale<double> s;
    s.build({3});
    s.params()[0]->value = xt::xarray<double>{1.0, 2.0, 3.0};
    CHECK((s.forward(xt::xarray<double>{{1.0, 1.0, 1.0}, {2.0, 0.0, -1.0}}, false) ==
           xt::xarray<double>{{1.0, 2.0, 3.0}, {2.0, 0.0, -3.0}}));
    // learns y = (2, -1) * x
    utils::set_random_seed(1);
    Sequential m;
    m.add(Scale<float>({.input_shape = {2}}));
    m.compile(optimizers::SGD(0.1), "mse");
    const xt::xarray<float> x = xt::cast<float>(testing::random_tensor({64, 2}, 2));
    const xt::xarray<float> y = x * xt::xarray<float>{2.f, -1.f};
    m.fit(x, y, {.batch_size = 8, .epochs = 60, .verbose = 0});
    const auto factor = m.get_weights()[0];
    CHECK(factor(0) == Approx(2.0).margin(1e-3));
    CHECK(factor(1) == Approx(-1.0).margin(1e-3));
}
