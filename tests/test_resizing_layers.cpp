// ZeroPadding2D, Cropping2D and UpSampling2D: values by hand, the margins in each of Keras's
// forms, gradients, Keras configs and refusals. The checks of every layer
// (tests/test_every_layer.cpp) cover them too.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

/// One 2x3 image of one channel: 1 2 3 / 4 5 6.
xt::xarray<double> image2x3() {
    xt::xarray<double> x{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    x.reshape({1, 2, 3, 1});
    return x;
}

xt::xarray<double> plane(const xt::xarray<double>& y) {
    return xt::view(y, 0, xt::all(), xt::all(), 0);
}

}  // namespace

TEST_CASE("ZeroPadding2D puts zeros around each image", "[resizing][padding]") {
    layers::ZeroPadding2D<double> pad({{1, 0}, {2, 1}});
    pad.build({2, 3, 1});
    CHECK(pad.output_shape() == shape_t{3, 6, 1});
    CHECK((plane(pad.forward(image2x3(), false)) ==
           xt::xarray<double>{{0, 0, 0, 0, 0, 0}, {0, 0, 1, 2, 3, 0}, {0, 0, 4, 5, 6, 0}}));
    CHECK(layers::ZeroPadding2D<float>().padding() == layers::margins2({1, 1}, {1, 1}));
    CHECK(layers::ZeroPadding2D<float>({2, 3}).padding() == layers::margins2({2, 2}, {3, 3}));
    check_layer_gradients(pad, random_tensor({2, 2, 3, 1}, 3));
}

TEST_CASE("Cropping2D cuts rows and columns from the edges", "[resizing][cropping]") {
    layers::Cropping2D<double> crop({{0, 1}, {1, 0}});
    crop.build({2, 3, 1});
    CHECK(crop.output_shape() == shape_t{1, 2, 1});
    CHECK((plane(crop.forward(image2x3(), false)) == xt::xarray<double>{{2, 3}}));
    check_layer_gradients(crop, random_tensor({2, 2, 3, 1}, 4));
    layers::Cropping2D<float> all({1, 0}, {.name = "all"});
    CHECK_THROWS_WITH(all.build({2, 3, 1}),
                      "layer 'all' (Cropping2D) expects inputs of shape (batch, height, width, "
                      "channels) larger than its cropping ((1, 1), (0, 0)), got (None, 2, 3, 1)");
    CHECK_THROWS_WITH(layers::Cropping2D<float>({{1, -1}, {0, 0}}),
                      "expected margins >= 0, got ((1, -1), (0, 0))");
}

TEST_CASE("UpSampling2D repeats each pixel", "[resizing][upsampling]") {
    layers::UpSampling2D<double> up({2, 1});
    up.build({2, 3, 1});
    CHECK(up.output_shape() == shape_t{4, 3, 1});
    CHECK((plane(up.forward(image2x3(), false)) ==
           xt::xarray<double>{{1, 2, 3}, {1, 2, 3}, {4, 5, 6}, {4, 5, 6}}));
    layers::UpSampling2D<double> wide({1, 2});
    wide.build({2, 3, 1});
    CHECK((plane(wide.forward(image2x3(), false)) ==
           xt::xarray<double>{{1, 1, 2, 2, 3, 3}, {4, 4, 5, 5, 6, 6}}));
    layers::UpSampling2D<double> both;  // Keras's default 2 x 2, two channels
    both.build({2, 2, 2});
    check_layer_gradients(both, random_tensor({2, 2, 2, 2}, 5));
    CHECK_THROWS_WITH(layers::UpSampling2D<float>(2, {.interpolation = "bilinear"}),
                      "UpSampling2D: interpolation 'bilinear' is not implemented; xkeras has "
                      "'nearest'");
}

TEST_CASE("The resizing layers read the margins in each of Keras's forms", "[resizing][config]") {
    auto margins = [](const nlohmann::json& padding) {
        auto layer = layers::registry<float>::create("ZeroPadding2D", {{"padding", padding}});
        return dynamic_cast<layers::ZeroPadding2D<float>&>(*layer).padding();
    };
    CHECK(margins(2) == layers::margins2({2, 2}, {2, 2}));
    CHECK(margins({1, 3}) == layers::margins2({1, 1}, {3, 3}));
    CHECK(margins({{1, 2}, {3, 4}}) == layers::margins2({1, 2}, {3, 4}));
    CHECK(margins({{1, 2}, 3}) == layers::margins2({1, 2}, {3, 3}));  // Keras takes it too
    CHECK_THROWS_WITH(margins({1, 2, 3}),
                      Catch::Contains("config key 'padding' must be an integer, a list of two"));
    CHECK_THROWS_WITH(margins({{1, 2}, {3, -4}}), Catch::Contains("expected margins >= 0"));
    // Keras 3 writes the pair of pairs
    auto crop = layers::registry<float>::create(
        "Cropping2D",
        {{"name", "c"}, {"cropping", {{0, 1}, {2, 0}}}, {"data_format", "channels_last"}});
    CHECK(crop->get_config()["cropping"] == nlohmann::json{{0, 1}, {2, 0}});
    auto up = layers::registry<float>::create("UpSampling2D",
                                              {{"size", {3, 2}}, {"interpolation", "nearest"}});
    CHECK(up->get_config()["size"] == nlohmann::json{3, 2});
    CHECK_THROWS_WITH(
        layers::registry<float>::create("UpSampling2D", {{"interpolation", "bicubic"}}),
        Catch::Contains("'bicubic' is not implemented"));
    CHECK_THROWS_WITH(
        layers::registry<float>::create("ZeroPadding2D", {{"data_format", "channels_first"}}),
        Catch::Contains("data_format"));
}
