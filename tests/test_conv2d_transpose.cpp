// Conv2DTranspose: by hand (strides 2 lays a scaled kernel per input pixel), against its
// definition (each input pixel scatters its kernel-weighted values into the output) and as the
// adjoint of Conv2D with the same kernel (<conv(a), b> = <a, convT(b)>), Keras's output sizes
// (output_padding, "same", kernels smaller than the strides) and weight count, gradients by
// central differences, the same bits run after run, Keras's config, refusals.
#include "gradient_check.hpp"
#include "keras_config.hpp"
#include "thread_count.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_batch;
using testing::random_tensor;
using json = nlohmann::json;

namespace {

struct transpose_case {
    const char* what;
    int filters;
    layers::size2 kernel;
    layers::Conv2DTransposeOptions options;
    shape_t input, output;  // output as Keras computes it
};

std::vector<transpose_case> transpose_cases() {
    return {
        {"valid 3x3 stride 1", 2, 3, {}, {4, 5, 3}, {6, 7, 2}},
        {"valid 2x2 stride 2", 3, 2, {.strides = 2}, {3, 4, 2}, {6, 8, 3}},
        {"valid 3x3 stride 2 (windows overlap)", 2, 3, {.strides = 2}, {3, 3, 2}, {7, 7, 2}},
        {"valid 1x1 stride 2 (kernel below the strides: output (H - 1) s + s)",
         2,
         1,
         {.strides = 2},
         {3, 2, 3},
         {6, 4, 2}},
        {"same 3x3 stride 2", 2, 3, {.strides = 2, .padding = "same"}, {3, 4, 2}, {6, 8, 2}},
        {"same 2x2 (even) stride 1", 3, 2, {.padding = "same"}, {4, 3, 2}, {4, 3, 3}},
        {"same 4x3 stride 3", 2, {4, 3}, {.strides = 3, .padding = "same"}, {2, 3, 2}, {6, 9, 2}},
        {"valid 3x3 dilation 2", 2, 3, {.dilation_rate = 2}, {3, 4, 2}, {7, 8, 2}},
        {"valid 3x3 stride 2, output_padding (1, 0)",
         2,
         3,
         {.strides = 2, .output_padding = std::pair{1, 0}},
         {3, 3, 2},
         {8, 7, 2}},
        {"same 3x3 stride 2, output_padding (0, 1)",
         2,
         3,
         {.strides = 2, .padding = "same", .output_padding = std::pair{0, 1}},
         {3, 3, 2},
         {5, 6, 2}},
        {"1x1 stride 1 (pointwise)", 4, 1, {}, {3, 3, 5}, {3, 3, 4}},
    };
}

/// The transposed convolution by its definition: input pixel (i, j) adds x[i, j, c] w[ky, kx,
/// f, c] at output (i s + ky d - top, j s + kx d - left), dropped outside; (top, left) is the
/// padding of the convolution from the output back to the input (TensorFlow's "same").
xt::xarray<double> transpose_reference(const xt::xarray<double>& x, const xt::xarray<double>& w,
                                       const shape_t& out, std::size_t s, std::size_t d,
                                       bool same) {
    const std::size_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const std::size_t kh = w.shape()[0], kw = w.shape()[1], F = w.shape()[2];
    auto before = [&](std::size_t in, std::size_t o, std::size_t k) -> long {
        if (!same) return 0;
        return std::max(0L, long((in - 1) * s + d * (k - 1) + 1) - long(o)) / 2;
    };
    const long top = before(H, out[0], kh), left = before(W, out[1], kw);
    xt::xarray<double> y = xt::zeros<double>({N, out[0], out[1], F});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t i = 0; i < H; ++i)
            for (std::size_t j = 0; j < W; ++j)
                for (std::size_t ky = 0; ky < kh; ++ky)
                    for (std::size_t kx = 0; kx < kw; ++kx) {
                        const long r = long(i * s + ky * d) - top;
                        const long q = long(j * s + kx * d) - left;
                        if (r < 0 || q < 0 || r >= long(out[0]) || q >= long(out[1])) continue;
                        for (std::size_t f = 0; f < F; ++f)
                            for (std::size_t c = 0; c < C; ++c)
                                y(n, std::size_t(r), std::size_t(q), f) +=
                                    x(n, i, j, c) * w(ky, kx, f, c);
                    }
    return y;
}

}  // namespace

TEST_CASE("Conv2DTranspose with strides 2 lays the kernel, scaled, at every input pixel",
          "[conv2d_transpose]") {
    layers::Conv2DTranspose<double> t(1, 2, {.strides = 2, .use_bias = false});
    t.build({2, 2, 1});
    xt::xarray<double> k = {1.0, 10.0, 100.0, 1000.0};
    k.reshape({2, 2, 1, 1});
    t.params()[0]->value = k;
    xt::xarray<double> x = {1.0, 2.0, 3.0, 4.0};
    x.reshape({1, 2, 2, 1});
    xt::xarray<double> want = {
        {1, 10, 2, 20}, {100, 1000, 200, 2000}, {3, 30, 4, 40}, {300, 3000, 400, 4000}};
    want.reshape({1, 4, 4, 1});
    CHECK(t.forward(x, false) == want);
}

TEST_CASE("Conv2DTranspose gives Keras's output sizes and its definition's values",
          "[conv2d_transpose]") {
    for (const auto& c : transpose_cases()) {
        SECTION(c.what) {
            layers::Conv2DTranspose<double> t(c.filters, c.kernel, c.options);
            t.build(c.input);
            REQUIRE(t.output_shape() == c.output);
            auto ps = t.params();
            CHECK(shape_of(ps[0]->value) ==
                  shape_t{c.kernel.h, c.kernel.w, std::size_t(c.filters), c.input[2]});
            ps[1]->value = random_tensor({std::size_t(c.filters)}, 2);
            const auto x = random_batch(3, c.input, 3);
            xt::xarray<double> want =
                transpose_reference(x, ps[0]->value, c.output, c.options.strides.h,
                                    c.options.dilation_rate.h, c.options.padding == "same");
            want += ps[1]->value;
            CHECK(xt::allclose(t.forward(x, false), want, 1e-12, 1e-12));
        }
    }
}

TEST_CASE("Conv2DTranspose is the adjoint of Conv2D with the same kernel", "[conv2d_transpose]") {
    for (const auto& c : transpose_cases()) {
        if (c.options.output_padding) continue;  // Conv2D has no output_padding to match
        SECTION(c.what) {
            layers::Conv2DTranspose<double> t(c.filters, c.kernel, c.options);
            t.build(c.input);
            t.params()[1]->value = xt::zeros<double>({std::size_t(c.filters)});
            // the convolution from the output back to the input
            layers::Conv2D<double> conv(int(c.input[2]), c.kernel,
                                        {.strides = c.options.strides,
                                         .padding = c.options.padding,
                                         .dilation_rate = c.options.dilation_rate,
                                         .use_bias = false});
            conv.build(c.output);
            REQUIRE(conv.output_shape() == c.input);
            conv.set_weights({t.params()[0]->value});
            const auto a = random_batch(2, c.output, 4);
            const auto b = random_batch(2, c.input, 5);
            const double left = xt::sum(conv.forward(a, false) * b)();
            const double right = xt::sum(a * t.forward(b, false))();
            CHECK(left == Approx(right).epsilon(1e-12));
        }
    }
}

TEST_CASE("Conv2DTranspose has Keras's shapes, names and weight count",
          "[conv2d_transpose][shapes]") {
    backend::clear_session();
    // keras.io: Conv2DTranspose(32, 2, 2, activation='relu') on (4, 10, 8, 128) -> (4, 20, 16, 32)
    Sequential m(Input({10, 8, 128}), layers::Conv2DTranspose(32, 2, "relu", {.strides = 2}));
    CHECK(m.output_shape() == shape_t{20, 16, 32});
    CHECK(m.count_params() == 2 * 2 * 32 * 128 + 32);
    CHECK(m.layers()[0]->name() == "conv2d_transpose");
    CHECK(m.layers()[0]->params()[0]->name == "conv2d_transpose/kernel");
    CHECK(m.predict(xt::xarray<float>(xt::ones<float>({4, 10, 8, 128}))).shape()[0] == 4);
}

TEST_CASE("Conv2DTranspose gradients match central differences", "[conv2d_transpose][gradient]") {
    for (const auto& c : transpose_cases()) {
        SECTION(c.what) {
            utils::set_random_seed(31);
            auto o = c.options;
            o.activation = "tanh";
            layers::Conv2DTranspose<double> t(c.filters, c.kernel, o);
            t.build(c.input);
            t.params()[1]->value = random_tensor({std::size_t(c.filters)}, 9, -0.2, 0.2);
            check_layer_gradients(t, random_batch(2, c.input, 10));
        }
    }
    SECTION("no bias, softmax over the filters") {
        layers::Conv2DTranspose<double> t(
            4, 3, {.strides = 2, .padding = "same", .activation = "softmax", .use_bias = false});
        t.build({3, 2, 3});
        check_layer_gradients(t, random_tensor({2, 3, 2, 3}, 11));
    }
    SECTION(
        "relu, 8 filters from 8 channels (the direct routes of the convolution it transposes)") {
        layers::Conv2DTranspose<double> t(8, 3, {.padding = "same", .activation = "relu"});
        t.build({4, 5, 8});
        check_layer_gradients(t, random_tensor({2, 4, 5, 8}, 12));
    }
}

TEST_CASE("Conv2DTranspose gives the same bits run after run and agrees on 1 and 2 threads",
          "[conv2d_transpose][threads]") {
    testing::check_training_threads(
        [] {
            return layers::Conv2DTranspose<float>(
                8, 3, {.strides = 2, .padding = "same", .activation = "relu"});
        },
        {6, 7, 6}, xt::xarray<float>(random_tensor({5, 6, 7, 6}, 5)),
        xt::xarray<float>(random_tensor({5, 12, 14, 8}, 6)));
}

TEST_CASE("Conv2DTranspose reads and writes Keras's config", "[conv2d_transpose][config]") {
    // Keras 3's get_config of Conv2DTranspose(16, 3, strides=2, padding="same",
    // output_padding=1)
    const json cfg = {{"name", "up"},
                      {"trainable", true},
                      {"dtype", testing::keras3_float32()},
                      {"filters", 16},
                      {"kernel_size", {3, 3}},
                      {"strides", {2, 2}},
                      {"padding", "same"},
                      {"output_padding", {1, 1}},
                      {"data_format", "channels_last"},
                      {"dilation_rate", {1, 1}},
                      {"activation", "relu"},
                      {"use_bias", true},
                      {"kernel_initializer", testing::keras3_glorot_uniform()},
                      {"bias_initializer", testing::keras3_zeros()},
                      {"kernel_regularizer", nullptr},
                      {"bias_regularizer", nullptr},
                      {"activity_regularizer", nullptr},
                      {"kernel_constraint", nullptr},
                      {"bias_constraint", nullptr}};
    auto layer = layers::registry<float>::create("Conv2DTranspose", cfg);
    layer->build({5, 5, 4});
    // same with output_padding 1: (5 - 1) 2 + 3 % 2 + 1 = 10
    CHECK(layer->output_shape() == shape_t{10, 10, 16});
    CHECK(layer->get_config() == cfg);
    // Keras's default None is written back as null
    json none = cfg;
    none["output_padding"] = nullptr;
    auto plain = layers::registry<float>::create("Conv2DTranspose", none);
    plain->build({5, 5, 4});
    CHECK(plain->output_shape() == shape_t{10, 10, 16});
    CHECK(plain->get_config()["output_padding"].is_null());
}

TEST_CASE("Conv2DTranspose refuses what it cannot do, naming it", "[conv2d_transpose][errors]") {
    CHECK_THROWS_WITH(layers::Conv2DTranspose(
                          4, 3, {.strides = 2, .output_padding = std::pair{2, 0}, .name = "up"}),
                      "layer 'up' (Conv2DTranspose): output_padding must be at least 0 and below "
                      "the strides (2, 2), got (2, 0)");
    CHECK_THROWS_WITH(
        layers::Conv2DTranspose(4, 3, {.strides = 2, .dilation_rate = 2, .name = "up"}),
        "layer 'up' (Conv2DTranspose): strides > 1 cannot be combined with "
        "dilation_rate > 1 (got strides (2, 2) and dilation_rate (2, 2))");
    CHECK_THROWS_WITH(layers::Conv2DTranspose(0, 3), Catch::Contains("`filters`, got 0"));
    // an even kernel, "same", output_padding 0: an output the convolution does not map back
    layers::Conv2DTranspose<float> even(
        2, 2, {.strides = 2, .padding = "same", .output_padding = std::pair{0, 0}, .name = "even"});
    CHECK_THROWS_WITH(even.build({3, 3, 1}),
                      Catch::StartsWith("layer 'even' (Conv2DTranspose): output_padding (0, 0) "
                                        "gives an output of 4x4, which the 'same' convolution"));
    layers::Conv2DTranspose<float> flat(2, 2, {.name = "flat"});
    CHECK_THROWS_WITH(flat.build({3, 3}),
                      "layer 'flat' (Conv2DTranspose) expects inputs of shape (batch, height, "
                      "width, channels), got (None, 3, 3)");
    layers::Conv2DTranspose<float> huge(2, 2, {.strides = 1 << 30, .name = "huge"});
    CHECK_THROWS_WITH(huge.build({std::size_t(1) << 40, 2, 1}),
                      Catch::Contains("more elements than a size_t can count"));
    json cfg = {
        {"name", "x"}, {"filters", 2}, {"kernel_size", 3}, {"data_format", "channels_first"}};
    CHECK_THROWS_WITH(layers::registry<float>::create("Conv2DTranspose", cfg),
                      Catch::Contains("data_format"));
}
