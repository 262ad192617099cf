// DepthwiseConv2D and SeparableConv2D: forward values against the definition (each channel
// correlated with its own filters, then the pointwise product), Keras's shapes and weight
// counts, gradients by central differences over paddings, strides, dilations and depth
// multipliers, the same bits run after run (and within 1e-5 on 1 and 2 threads), Keras's configs,
// refusals.
#include "gradient_check.hpp"
#include "keras_config.hpp"
#include "thread_count.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_batch;
using testing::random_tensor;
using json = nlohmann::json;

namespace {

/// TensorFlow's "same" padding before the first row / column of one axis.
std::size_t same_pad_before(std::size_t in, std::size_t out, std::size_t s, std::size_t span) {
    const long total = long((out - 1) * s + span) - long(in);
    return std::size_t(std::max(0L, total)) / 2;
}

/// A depthwise convolution by its definition: y[n, i, j, c M + m] = bias + the sum over the
/// window of x[n, i s + ky d - top, j s + kx d - left, c] w[ky, kx, c, m], cells outside skipped.
xt::xarray<double> depthwise_reference(const xt::xarray<double>& x, const xt::xarray<double>& w,
                                       const xt::xarray<double>* bias, std::size_t s, std::size_t d,
                                       bool same) {
    const std::size_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const std::size_t kh = w.shape()[0], kw = w.shape()[1], M = w.shape()[3];
    const std::size_t sh = d * (kh - 1) + 1, sw = d * (kw - 1) + 1;
    const std::size_t OH = same ? (H + s - 1) / s : (H - sh) / s + 1;
    const std::size_t OW = same ? (W + s - 1) / s : (W - sw) / s + 1;
    const std::size_t top = same ? same_pad_before(H, OH, s, sh) : 0;
    const std::size_t left = same ? same_pad_before(W, OW, s, sw) : 0;
    xt::xarray<double> y = xt::zeros<double>({N, OH, OW, C * M});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t i = 0; i < OH; ++i)
            for (std::size_t j = 0; j < OW; ++j)
                for (std::size_t c = 0; c < C; ++c)
                    for (std::size_t m = 0; m < M; ++m) {
                        double v = bias ? (*bias)(c * M + m) : 0.0;
                        for (std::size_t ky = 0; ky < kh; ++ky)
                            for (std::size_t kx = 0; kx < kw; ++kx) {
                                const long r = long(i * s + ky * d) - long(top);
                                const long q = long(j * s + kx * d) - long(left);
                                if (r < 0 || q < 0 || r >= long(H) || q >= long(W)) continue;
                                v += x(n, std::size_t(r), std::size_t(q), c) * w(ky, kx, c, m);
                            }
                        y(n, i, j, c * M + m) = v;
                    }
    return y;
}

struct window_case {
    const char* what;
    layers::size2 kernel;
    int strides, dilation, multiplier;
    const char* padding;
    shape_t input;
};

const window_case window_cases[] = {
    {"valid 3x3", 3, 1, 1, 1, "valid", {6, 5, 3}},
    {"same 3x3, multiplier 2", 3, 1, 1, 2, "same", {5, 6, 3}},
    {"same 2x2 (even): the extra row and column at the bottom / right",
     2,
     1,
     1,
     1,
     "same",
     {4, 5, 2}},
    {"valid 3x2 stride 2, multiplier 3", {3, 2}, 2, 1, 3, "valid", {7, 6, 2}},
    {"same 3x3 stride 2", 3, 2, 1, 1, "same", {5, 6, 4}},
    {"same 3x3 dilation 2", 3, 1, 2, 2, "same", {6, 6, 2}},
    {"valid 1x1", 1, 1, 1, 2, "valid", {3, 4, 5}},
};

template <class T>
layers::DepthwiseConv2DOptions depthwise_options(const window_case& c, const char* activation,
                                                 bool bias = true) {
    return {.strides = c.strides,
            .padding = c.padding,
            .depth_multiplier = c.multiplier,
            .dilation_rate = c.dilation,
            .activation = activation,
            .use_bias = bias};
}

}  // namespace

TEST_CASE("DepthwiseConv2D computes each channel's correlation with its own filters",
          "[depthwise][conv]") {
    for (const auto& c : window_cases) {
        SECTION(c.what) {
            layers::DepthwiseConv2D<double> layer(c.kernel, depthwise_options<double>(c, "linear"));
            layer.build(c.input);
            auto ps = layer.params();
            REQUIRE(ps.size() == 2);
            CHECK(shape_of(ps[0]->value) ==
                  shape_t{c.kernel.h, c.kernel.w, c.input[2], std::size_t(c.multiplier)});
            ps[1]->value = random_tensor(shape_of(ps[1]->value), 3);
            const auto x = random_batch(3, c.input, 4);
            const auto y = layer.forward(x, false);
            const auto want =
                depthwise_reference(x, ps[0]->value, &ps[1]->value, std::size_t(c.strides),
                                    std::size_t(c.dilation), std::string(c.padding) == "same");
            REQUIRE(shape_of(y) == shape_of(want));
            CHECK(xt::allclose(y, want, 1e-12, 1e-12));
        }
    }
}

TEST_CASE("SeparableConv2D is the depthwise stage followed by the pointwise product",
          "[separable][conv]") {
    for (const auto& c : window_cases) {
        SECTION(c.what) {
            layers::SeparableConv2D<double> layer(4, c.kernel,
                                                  {.strides = c.strides,
                                                   .padding = c.padding,
                                                   .dilation_rate = c.dilation,
                                                   .depth_multiplier = c.multiplier});
            layer.build(c.input);
            auto ps = layer.params();
            REQUIRE(ps.size() == 3);
            const std::size_t cm = c.input[2] * std::size_t(c.multiplier);
            CHECK(shape_of(ps[1]->value) == shape_t{1, 1, cm, 4});
            ps[2]->value = random_tensor({4}, 3);
            const auto x = random_batch(2, c.input, 4);
            const auto y = layer.forward(x, false);
            const auto mid =
                depthwise_reference(x, ps[0]->value, nullptr, std::size_t(c.strides),
                                    std::size_t(c.dilation), std::string(c.padding) == "same");
            REQUIRE(shape_of(y) == shape_t{2, mid.shape()[1], mid.shape()[2], 4});
            for (std::size_t n = 0; n < 2; ++n)
                for (std::size_t i = 0; i < mid.shape()[1]; ++i)
                    for (std::size_t j = 0; j < mid.shape()[2]; ++j)
                        for (std::size_t f = 0; f < 4; ++f) {
                            double v = ps[2]->value(f);
                            for (std::size_t k = 0; k < cm; ++k)
                                v += mid(n, i, j, k) * ps[1]->value(0, 0, k, f);
                            CHECK(y(n, i, j, f) == Approx(v).margin(1e-12));
                        }
        }
    }
}

TEST_CASE("DepthwiseConv2D and SeparableConv2D have Keras's shapes and weight counts",
          "[depthwise][separable][shapes]") {
    // keras.io: DepthwiseConv2D(kernel_size=3, activation='relu') on (4, 10, 10, 12) -> (4, 8, 8,
    // 12)
    Sequential m(Input({10, 10, 12}), layers::DepthwiseConv2D(3, "relu"));
    CHECK(m.output_shape() == shape_t{8, 8, 12});
    CHECK(m.count_params() == 3 * 3 * 12 + 12);
    CHECK(m.predict(xt::xarray<float>(xt::ones<float>({4, 10, 10, 12}))).shape()[0] == 4);
    // the names Keras gives: depthwise_conv2d, separable_conv2d; SeparableConv2D(64, 3) on 32
    // channels holds 3*3*32 + 32*64 + 64 weights
    backend::clear_session();
    Sequential s(Input({16, 16, 32}),
                 layers::SeparableConv2D(64, 3, {.padding = "same", .depth_multiplier = 2}),
                 layers::DepthwiseConv2D({3, 3}, {.strides = 2, .use_bias = false}));
    CHECK(s.layers()[0]->name() == "separable_conv2d");
    CHECK(s.layers()[1]->name() == "depthwise_conv2d");
    CHECK(s.layers()[0]->count_params() == 3 * 3 * 32 * 2 + 64 * 64 + 64);
    CHECK(s.layers()[1]->count_params() == 3 * 3 * 64);
    CHECK(s.output_shape() == shape_t{7, 7, 64});
    const auto names = s.layers()[0]->params();
    CHECK(names[0]->name == "separable_conv2d/depthwise_kernel");
    CHECK(names[1]->name == "separable_conv2d/pointwise_kernel");
    CHECK(names[2]->name == "separable_conv2d/bias");
}

TEST_CASE("DepthwiseConv2D and SeparableConv2D gradients match central differences",
          "[depthwise][separable][gradient]") {
    for (const auto& c : window_cases) {
        SECTION(c.what) {
            utils::set_random_seed(31);
            layers::DepthwiseConv2D<double> depthwise(c.kernel,
                                                      depthwise_options<double>(c, "tanh"));
            depthwise.build(c.input);
            depthwise.params()[1]->value = random_tensor(shape_of(depthwise.params()[1]->value), 9);
            check_layer_gradients(depthwise, random_batch(2, c.input, 10));
            layers::SeparableConv2D<double> separable(3, c.kernel,
                                                      {.strides = c.strides,
                                                       .padding = c.padding,
                                                       .dilation_rate = c.dilation,
                                                       .depth_multiplier = c.multiplier,
                                                       .activation = "sigmoid"});
            separable.build(c.input);
            check_layer_gradients(separable, random_batch(3, c.input, 11));
        }
    }
    SECTION("no bias, softmax over the channels") {
        layers::DepthwiseConv2D<double> depthwise(
            3, depthwise_options<double>(window_cases[1], "softmax", false));
        depthwise.build({4, 4, 2});
        check_layer_gradients(depthwise, random_tensor({2, 4, 4, 2}, 12));
        layers::SeparableConv2D<double> separable(
            5, 2, {.padding = "same", .activation = "softmax", .use_bias = false});
        separable.build({4, 3, 2});
        check_layer_gradients(separable, random_tensor({2, 4, 3, 2}, 13));
    }
}

TEST_CASE(
    "DepthwiseConv2D and SeparableConv2D give the same bits run after run and agree on 1 "
    "and 2 threads",
    "[depthwise][separable][threads]") {
    const auto x = xt::xarray<float>(random_tensor({5, 9, 8, 6}, 5));
    testing::check_training_threads(
        [] {
            return layers::DepthwiseConv2D<float>(
                3, {.strides = 2, .padding = "same", .depth_multiplier = 2, .activation = "relu"});
        },
        {9, 8, 6}, x, xt::xarray<float>(random_tensor({5, 5, 4, 12}, 6)));
    testing::check_training_threads(
        [] { return layers::SeparableConv2D<float>(7, 3, "relu", {.depth_multiplier = 2}); },
        {9, 8, 6}, x, xt::xarray<float>(random_tensor({5, 7, 6, 7}, 7)));
}

TEST_CASE("DepthwiseConv2D and SeparableConv2D read and write Keras's configs",
          "[depthwise][separable][config]") {
    // Keras 3's get_config of DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    const json depthwise = {{"name", "dw"},
                            {"trainable", true},
                            {"dtype", testing::keras3_float32()},
                            {"depth_multiplier", 2},
                            {"kernel_size", {3, 3}},
                            {"strides", {1, 1}},
                            {"padding", "same"},
                            {"data_format", "channels_last"},
                            {"dilation_rate", {1, 1}},
                            {"activation", "relu"},
                            {"use_bias", true},
                            {"depthwise_initializer", testing::keras3_glorot_uniform()},
                            {"bias_initializer", testing::keras3_zeros()},
                            {"depthwise_regularizer", nullptr},
                            {"bias_regularizer", nullptr},
                            {"activity_regularizer", nullptr},
                            {"depthwise_constraint", nullptr},
                            {"bias_constraint", nullptr}};
    auto layer = layers::registry<float>::create("DepthwiseConv2D", depthwise);
    auto& dw = dynamic_cast<layers::DepthwiseConv2D<float>&>(*layer);
    CHECK(dw.depth_multiplier() == 2);
    CHECK(dw.options().padding == "same");
    CHECK(dw.output_activation() == activations::kind::relu);
    CHECK(dw.get_config() == depthwise);
    // tf.keras 2 wrote Conv2D's `groups` too; SeparableConv2D's keys
    json separable = depthwise;
    separable["name"] = "sep";
    separable["filters"] = 8;
    separable["groups"] = 1;
    separable["pointwise_initializer"] = depthwise["depthwise_initializer"];
    separable["pointwise_regularizer"] = nullptr;
    separable["pointwise_constraint"] = nullptr;
    auto sep = layers::registry<float>::create("SeparableConv2D", separable);
    sep->build({5, 5, 3});
    CHECK(sep->output_shape() == shape_t{5, 5, 8});
    separable.erase("groups");  // not Keras 3's, so not written
    CHECK(sep->get_config() == separable);
}

TEST_CASE("DepthwiseConv2D and SeparableConv2D refuse what they cannot do, naming it",
          "[depthwise][separable][errors]") {
    CHECK_THROWS_WITH(layers::DepthwiseConv2D(3, {.depth_multiplier = 0}),
                      "DepthwiseConv2D: expected a positive integer for `depth_multiplier`, got 0");
    CHECK_THROWS_WITH(layers::DepthwiseConv2D(3, {.strides = 2, .dilation_rate = 2, .name = "d"}),
                      "DepthwiseConv2D 'd': strides > 1 cannot be combined with dilation_rate > "
                      "1 (got strides (2, 2) and dilation_rate (2, 2))");
    CHECK_THROWS_WITH(layers::SeparableConv2D(0, 3), Catch::Contains("`filters`, got 0"));
    CHECK_THROWS_WITH(layers::SeparableConv2D(4, 3, {.padding = "causal"}),
                      "SeparableConv2D: expected padding 'valid' or 'same', got 'causal'");
    layers::DepthwiseConv2D<float> big(5, {.name = "big"});
    CHECK_THROWS_WITH(big.build({3, 8, 2}),
                      Catch::StartsWith("layer 'big' (DepthwiseConv2D): a 5x5 window"));
    json cfg = {{"name", "x"}, {"kernel_size", 3}, {"data_format", "channels_first"}};
    CHECK_THROWS_WITH(layers::registry<float>::create("DepthwiseConv2D", cfg),
                      Catch::Contains("data_format"));
    cfg = {{"name", "x"}, {"kernel_size", 3}, {"depthwise_constraint", "non_neg"}};
    CHECK_THROWS_WITH(layers::registry<float>::create("DepthwiseConv2D", cfg),
                      Catch::Contains("depthwise_constraint"));
    cfg = {{"name", "x"}, {"kernel_size", 3}};
    CHECK_THROWS_WITH(layers::registry<float>::create("SeparableConv2D", cfg),
                      Catch::Contains("'filters' must be an integer, got nothing"));
}
