// Conv2D: forward values by hand, Keras's output shapes and errors, gradient checks for valid /
// same padding, odd / even kernels, strides 1 and 2, dilation, the GEMM, small-patch and direct
// (backend/conv/direct.hpp) compute paths.
#include "gradient_check.hpp"
#include "thread_count.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

xt::xarray<double> arange_nhwc(std::size_t h, std::size_t w, std::size_t c) {
    xt::xarray<double> x = xt::arange<double>(double(h * w * c)) + 1.0;
    x.reshape({1, h, w, c});
    return x;
}

/// Output (n, oh, ow, f) of a convolution by its definition, in double: the bias plus the window
/// at (oh * stride - pad_top, ow * stride - pad_left), cells outside the input skipped.
template <class X, class W, class B>
double conv_at(const X& x, const W& w, const B& b, std::size_t n, std::size_t oh, std::size_t ow,
               std::size_t f, std::size_t stride, std::size_t pad_top, std::size_t pad_left) {
    const long H = long(x.shape()[1]), Wd = long(x.shape()[2]);
    double s = double(b(f));
    for (std::size_t ky = 0; ky < w.shape()[0]; ++ky)
        for (std::size_t kx = 0; kx < w.shape()[1]; ++kx) {
            const long ih = long(oh * stride + ky) - long(pad_top);
            const long iw = long(ow * stride + kx) - long(pad_left);
            if (ih < 0 || iw < 0 || ih >= H || iw >= Wd) continue;
            for (std::size_t c = 0; c < x.shape()[3]; ++c)
                s += double(x(n, std::size_t(ih), std::size_t(iw), c)) * double(w(ky, kx, c, f));
        }
    return s;
}

}  // namespace

TEST_CASE("Conv2D valid: a 2x2 kernel over a 3x3 image, by hand", "[conv2d]") {
    layers::Conv2D<double> conv(1, {2, 2}, {.bias_initializer = initializers::Constant(0.5)});
    conv.build({3, 3, 1});
    xt::xarray<double> kernel{1, 0, 0, -1};  // (kh, kw, cin, cout) = (2, 2, 1, 1)
    kernel.reshape({2, 2, 1, 1});
    conv.set_weights({kernel, xt::xarray<double>{0.5}});
    // x = 1 2 3 / 4 5 6 / 7 8 9: y(i, j) = x(i, j) - x(i+1, j+1) + 0.5 = -3.5 everywhere
    auto y = conv.forward(arange_nhwc(3, 3, 1), false);
    REQUIRE(shape_of(y) == shape_t{1, 2, 2, 1});
    for (double v : y) CHECK(v == Approx(-3.5));
}

TEST_CASE("Conv2D same with an even kernel pads at the bottom / right, as TensorFlow", "[conv2d]") {
    layers::Conv2D<double> conv(1, {2, 2}, {.padding = "same", .use_bias = false});
    conv.build({3, 3, 1});
    xt::xarray<double> kernel{1, 1, 1, 1};
    kernel.reshape({2, 2, 1, 1});
    conv.set_weights({kernel});
    auto y = conv.forward(arange_nhwc(3, 3, 1), false);
    REQUIRE(shape_of(y) == shape_t{1, 3, 3, 1});
    // window at (i, j) covers rows i..i+1, cols j..j+1; outside is zero (bottom / right)
    CHECK(y(0, 0, 0, 0) == Approx(1 + 2 + 4 + 5));
    CHECK(y(0, 0, 2, 0) == Approx(3 + 6));
    CHECK(y(0, 2, 2, 0) == Approx(9));
}

TEST_CASE("Conv2D with several channels and filters matches a direct sum", "[conv2d]") {
    utils::set_random_seed(2);
    layers::Conv2D<double> conv(4, {3, 3}, {.strides = 2, .padding = "same"});
    conv.build({5, 6, 3});
    auto x = random_tensor({2, 5, 6, 3}, 5);
    conv.params()[1]->value = random_tensor({4}, 6);
    auto y = conv.forward(x, false);
    REQUIRE(shape_of(y) == shape_t{2, 3, 3, 4});
    const auto& w = conv.params()[0]->value;
    const auto& b = conv.params()[1]->value;
    // same, stride 2: out 3x3; padding total rows (3-1)*2+3-5 = 2 -> top 1; cols (3-1)*2+3-6 = 1 ->
    // left 0
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t oh = 0; oh < 3; ++oh)
            for (std::size_t ow = 0; ow < 3; ++ow)
                for (std::size_t f = 0; f < 4; ++f)
                    CHECK(y(n, oh, ow, f) == Approx(conv_at(x, w, b, n, oh, ow, f, 2, 1, 0)));
}

TEST_CASE("Conv2D output shapes follow Keras", "[conv2d][shapes]") {
    auto out = [](layers::Conv2DOptions o, shape_t in, int k = 3) {
        return layers::Conv2D<float>(8, k, std::move(o)).compute_output_shape(in);
    };
    CHECK(out({}, {28, 28, 1}) == shape_t{26, 26, 8});
    CHECK(out({.padding = "same"}, {28, 28, 1}) == shape_t{28, 28, 8});
    CHECK(out({.padding = "SAME"}, {28, 28, 1}) == shape_t{28, 28, 8});
    CHECK(out({.strides = 2, .padding = "same"}, {28, 28, 1}) == shape_t{14, 14, 8});
    CHECK(out({.strides = 2}, {28, 28, 1}) == shape_t{13, 13, 8});
    CHECK(out({.dilation_rate = 2}, {28, 28, 1}) == shape_t{24, 24, 8});
    CHECK(out({.padding = "same"}, {7, 7, 64}, 2) == shape_t{7, 7, 8});
}

TEST_CASE("Conv2D refuses impossible shapes and options, naming the layer", "[conv2d][errors]") {
    layers::Conv2D<float> big(4, {5, 5}, {.name = "too_big"});
    CHECK_THROWS_WITH(big.build({3, 3, 1}), Catch::Contains("too_big") &&
                                                Catch::Contains("(None, 3, 3, 1)") &&
                                                Catch::Contains("empty"));
    CHECK_THROWS_AS(big.build({28, 28}), shape_error);
    CHECK_THROWS_AS(layers::Conv2D<float>(0, 3), value_error);
    CHECK_THROWS_AS(layers::Conv2D<float>(4, {0, 3}), value_error);
    CHECK_THROWS_WITH(layers::Conv2D<float>(4, 3, {.padding = "full"}), Catch::Contains("'full'"));
    CHECK_THROWS_WITH(layers::Conv2D<float>(4, 3, {.strides = 2, .dilation_rate = 2}),
                      Catch::Contains("dilation_rate"));
    CHECK_THROWS_AS(layers::Conv2D<float>(4, 3, "gelu"), value_error);
}

TEST_CASE("Conv2D gradients match central differences", "[conv2d][gradient]") {
    struct Case {
        const char* what;
        int filters;
        layers::size2 kernel;
        layers::Conv2DOptions options;
        shape_t input;
    };
    const Case cases[] = {
        {"valid 3x3 stride 1, 1 channel (direct path)", 3, 3, {.activation = "relu"}, {6, 6, 1}},
        {"same 3x3 stride 1, 3 channels (GEMM path)",
         2,
         3,
         {.padding = "same", .activation = "tanh"},
         {5, 5, 3}},
        {"same 2x2 (even) stride 1", 3, 2, {.padding = "same"}, {4, 5, 2}},
        {"valid 2x2 (even) stride 2", 2, 2, {.strides = 2}, {6, 7, 3}},
        {"same 3x3 stride 2",
         2,
         3,
         {.strides = 2, .padding = "same", .activation = "sigmoid"},
         {5, 6, 4}},
        {"valid 3x2 dilation 2", 2, {3, 2}, {.dilation_rate = 2}, {7, 6, 2}},
        {"same 3x3 dilation 2", 2, 3, {.padding = "same", .dilation_rate = 2}, {5, 5, 3}},
        // padded along the width only: along the height the windows stop before the last row
        {"same 1x3 stride 2, last input row unread",
         2,
         {1, 3},
         {.strides = 2, .padding = "same"},
         {6, 5, 2}},
        {"1x1 (no im2col)", 3, 1, {.activation = "relu"}, {3, 4, 5}},
        {"no bias, softmax over filters",
         4,
         3,
         {.padding = "same", .activation = "softmax", .use_bias = false},
         {4, 4, 2}},
        // backend/conv/direct.hpp's kernels (stride 1, whole vectors of filters: 4 doubles): tiles
        // that cross row ends and a last tile moved back, one and two vectors of filters
        {"valid 3x3, 8 filters, 4 channels (direct kernels)",
         8,
         3,
         {.activation = "relu"},
         {6, 7, 4}},
        {"same 2x2 (even), 12 filters, 8 channels (direct kernels)",
         12,
         2,
         {.padding = "same", .activation = "tanh"},
         {3, 3, 8}},
        {"same 3x3 on 2x2, 20 filters (direct on fewer pixels than a tile, GEMM weight gradient)",
         20,
         3,
         {.padding = "same"},
         {2, 2, 4}},
        {"valid 3x3, 8 filters from 3 channels (direct forward, GEMM input gradient)",
         8,
         3,
         {.activation = "softmax", .use_bias = false},
         {5, 6, 3}},
        // small patches (<= 16 values) with whole vectors of filters: the kernel held in
        // registers, for a 3x3 and a 2x2 window on one channel and any other patch size
        {"valid 3x3 on 1 channel, 8 filters (small-patch kernel)",
         8,
         3,
         {.activation = "relu"},
         {6, 7, 1}},
        {"same 2x2 on 1 channel, 12 filters (small-patch kernel, wide and narrow blocks)",
         12,
         2,
         {.padding = "same", .activation = "relu"},
         {5, 4, 1}},
        {"1x3 stride 2 on 2 channels, 4 filters (small-patch kernel, patch size at run time)",
         4,
         {1, 3},
         {.strides = 2, .padding = "same", .activation = "tanh"},
         {3, 7, 2}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            utils::set_random_seed(31);
            layers::Conv2D<double> conv(c.filters, c.kernel, c.options);
            conv.build(c.input);
            if (c.options.use_bias)
                conv.params()[1]->value = random_tensor({std::size_t(c.filters)}, 9, -0.2, 0.2);
            shape_t xs = c.input;
            xs.insert(xs.begin(), 2);
            check_layer_gradients(conv, random_tensor(xs, 10));
        }
    }
}

TEST_CASE("A first layer's small-patch backward pass gives the GEMM route's gradients",
          "[conv2d][gradient]") {
    // Without an input gradient (a first layer), small patches take one kernel for ReLU's mask,
    // the bias and the weight gradient; with one, the ReLU pass and a GEMM over the patches,
    // which the gradient checks above test against central differences.
    struct Case {
        const char* what;
        int filters;
        layers::size2 kernel;
        layers::Conv2DOptions options;
        shape_t input;
    };
    const Case cases[] = {
        {"3x3 same relu, 16 filters", 16, 3, {.padding = "same", .activation = "relu"}, {7, 6, 1}},
        {"2x2 valid linear, 12 filters", 12, 2, {}, {5, 5, 1}},
        {"3x2 stride 2 relu on 2 channels, 8 filters, no bias",
         8,
         {3, 2},
         {.strides = 2, .activation = "relu", .use_bias = false},
         {7, 6, 2}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            utils::set_random_seed(41);
            layers::Conv2D<double> conv(c.filters, c.kernel, c.options);
            conv.build(c.input);
            if (c.options.use_bias)
                conv.params()[1]->value = random_tensor({std::size_t(c.filters)}, 3, -0.2, 0.2);
            shape_t xs = c.input;
            xs.insert(xs.begin(), 3);
            const auto x = random_tensor(xs, 12);
            const auto& y = conv.forward(x, true);
            const auto dy = random_tensor(shape_of(y), 13);
            conv.backward(dy, true);
            std::vector<xt::xarray<double>> want;
            for (auto* p : conv.params()) want.push_back(p->grad);
            conv.backward(dy, false);
            for (std::size_t k = 0; k < want.size(); ++k) {
                INFO(conv.params()[k]->name);
                CHECK(testing::max_relative_error(conv.params()[k]->grad, want[k]) < 1e-12);
            }
        }
    }
}

TEST_CASE("Conv2D built again for another input shape pads it afresh", "[conv2d]") {
    // 4x6 and 6x4 inputs padded for a 3x3 "same" window take buffers of one size, with the
    // zero border in different places: what the first shape left there must not be read
    auto forward = [](layers::Conv2D<double>& conv, const tensor<double>& x,
                      const tensor<double>& kernel) {
        conv.params()[0]->value = kernel;
        return tensor<double>(conv.forward(x, false));
    };
    layers::Conv2D<double> conv(2, 3, {.padding = "same"}), fresh(2, 3, {.padding = "same"});
    conv.build({4, 6, 2});
    conv.forward(random_tensor({2, 4, 6, 2}, 5), false);
    conv.build({6, 4, 2});
    fresh.build({6, 4, 2});
    const tensor<double> x = random_tensor({2, 6, 4, 2}, 6),
                         kernel = random_tensor({3, 3, 2, 2}, 7);
    const double difference =
        xt::amax(xt::abs(forward(conv, x, kernel) - forward(fresh, x, kernel)))();
    CHECK(difference == 0.0);
}

TEST_CASE("Conv2D gives the same result on 1 and 2 threads, and for any batch split",
          "[conv2d][threads]") {
    utils::set_random_seed(4);
    layers::Conv2D<float> conv(16, 3, {.padding = "same", .activation = "relu"});
    conv.build({14, 14, 8});
    xt::xarray<float> x = xt::cast<float>(random_tensor({40, 14, 14, 8}, 3));
    int before = get_num_threads();
    set_num_threads(1);
    xt::xarray<float> one = conv.forward(x, false);
    set_num_threads(2);
    xt::xarray<float> two = conv.forward(x, false);
    set_num_threads(before);
    CHECK(xt::amax(xt::abs(one - two))() < 1e-5f);
    xt::xarray<float> first = xt::view(x, xt::range(0, 1));
    xt::xarray<float> alone = conv.forward(first, false);
    CHECK(xt::amax(xt::abs(alone - xt::view(one, xt::range(0, 1))))() < 1e-5f);
}

TEST_CASE("Conv2D spreads a single image over the threads, with the same result",
          "[conv2d][threads]") {
    // One image is one task; from min_parallel_flops on, its output pixels (direct kernels) or
    // its GEMM's columns are shared out instead. The direct kernels compute every output value
    // as on one thread; OpenBLAS's kernels for a narrower block may round differently.
    struct Case {
        const char* what;
        int filters;
        shape_t input;
        float tolerance;
    };
    const Case cases[] = {
        {"direct kernels, E1's 14x14x32 -> 64", 64, {14, 14, 32}, 0.0f},
        {"direct kernels, chunks shorter than a tile", 64, {3, 3, 512}, 0.0f},
        // each thread pads only the rows its pixels read: here its share ends mid-row
        {"direct kernels, 11x7x64 -> 64", 64, {11, 7, 64}, 0.0f},
        // direct kernels where they are AVX-512's (up to 128 filters), a GEMM with AVX2's
        {"E1's 7x7x64 -> 128", 128, {7, 7, 64}, 1e-5f},
        {"GEMM (filters not whole vectors), 7x7x64 -> 100", 100, {7, 7, 64}, 1e-5f},
        {"small-patch kernel, E1's 28x28x1 -> 32", 32, {28, 28, 1}, 0.0f},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            utils::set_random_seed(6);
            layers::Conv2D<float> conv(c.filters, 3, {.padding = "same", .activation = "relu"});
            conv.build(c.input);
            conv.params()[1]->value =
                xt::cast<float>(random_tensor({std::size_t(c.filters)}, 2, -0.2, 0.2));
            const std::size_t flops =
                2 * c.input[0] * c.input[1] * 9 * c.input[2] * std::size_t(c.filters);
            // the small-patch kernel (one channel) spreads from 16,384 output values
            REQUIRE((c.input[2] == 1
                         ? double(c.input[0] * c.input[1] * std::size_t(c.filters)) / 16384.0
                         : double(flops) / backend::min_parallel_flops) >= 1.0);
            shape_t xs = c.input;
            xs.insert(xs.begin(), 1);
            const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 3));
            const xt::xarray<float> one = [&] {
                testing::scoped_threads single(1);
                return xt::xarray<float>(conv.forward(x, false));
            }();
            for (int threads : {2, 3}) {
                testing::scoped_threads shared(threads);
                // the output buffer first holds another image's result: a pixel the spread pass
                // missed would keep it
                conv.forward(xt::xarray<float>(-x), false);
                const xt::xarray<float> spread = conv.forward(x, false);
                CHECK(xt::amax(xt::abs(spread - one))() <= c.tolerance);
            }
            // and the one-thread result is the convolution: spot-check against a double sum
            const auto& w = conv.params()[0]->value;
            const auto& b = conv.params()[1]->value;
            const std::size_t H = c.input[0], W = c.input[1];
            for (std::size_t oh : {std::size_t(0), H / 2, H - 1})
                for (std::size_t ow : {std::size_t(0), W - 1})
                    for (std::size_t f : {std::size_t(0), std::size_t(c.filters) - 1})
                        CHECK(one(0, oh, ow, f) ==
                              Approx(std::max(conv_at(x, w, b, 0, oh, ow, f, 1, 1, 1), 0.0))
                                  .margin(1e-4));
        }
    }
}

TEST_CASE("Conv2D's inference by Winograd's F(2x2, 3x3) gives the convolution",
          "[conv2d][winograd][threads]") {
    // Inference with a 3x3 window, stride 1 and at least 16 channels runs Winograd's route
    // (backend/conv/winograd.hpp); training runs the direct kernels, spot-checked above. Odd and
    // even sizes (half-used tiles), channel and filter counts that leave remainders of the vector
    // loops, "valid" and "same", with and without bias, ReLU fused or another activation after.
    struct Case {
        const char* what;
        int filters;
        shape_t input;
        layers::Conv2DOptions options;
    };
    const Case cases[] = {
        {"E1's 14x14x32 -> 64, same, relu",
         64,
         {14, 14, 32},
         {.padding = "same", .activation = "relu"}},
        {"E1's 7x7x64 -> 128, same, relu",
         128,
         {7, 7, 64},
         {.padding = "same", .activation = "relu"}},
        {"9x6x20 -> 24, valid, linear", 24, {9, 6, 20}, {.padding = "valid"}},
        {"5x8x17 -> 40, same, no bias, tanh",
         40,
         {5, 8, 17},
         {.padding = "same", .activation = "tanh", .use_bias = false}},
        {"30x30x16 -> 16, valid, relu (several blocks of tiles)",
         16,
         {30, 30, 16},
         {.padding = "valid", .activation = "relu"}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            utils::set_random_seed(9);
            layers::Conv2D<float> conv(c.filters, 3, c.options);
            conv.build(c.input);
            if (c.options.use_bias)
                conv.params()[1]->value =
                    xt::cast<float>(random_tensor({std::size_t(c.filters)}, 2, -0.2, 0.2));
            shape_t xs = c.input;
            xs.insert(xs.begin(), 3);
            const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 4));
            const auto& w = conv.params()[0]->value;
            const xt::xarray<double> b =
                c.options.use_bias
                    ? xt::xarray<double>(conv.params()[1]->value)
                    : xt::xarray<double>(xt::zeros<double>({std::size_t(c.filters)}));
            const std::size_t pad = c.options.padding == "same" ? 1 : 0;
            for (int threads : {1, 2, 3}) {
                testing::scoped_threads scope(threads);
                for (std::size_t n : {std::size_t(1), std::size_t(3)}) {  // spread, or by images
                    const xt::xarray<float> xn = xt::view(x, xt::range(0, n));
                    conv.forward(xt::xarray<float>(-xn), false);  // another result first
                    const xt::xarray<float> y = conv.forward(xn, false);
                    double worst = 0;
                    for (std::size_t i = 0; i < n; ++i)
                        for (std::size_t oh = 0; oh < y.shape()[1]; ++oh)
                            for (std::size_t ow = 0; ow < y.shape()[2]; ++ow)
                                for (std::size_t f = 0; f < y.shape()[3]; ++f) {
                                    double z = conv_at(x, w, b, i, oh, ow, f, 1, pad, pad);
                                    if (c.options.activation == "relu") z = std::max(z, 0.0);
                                    if (c.options.activation == "tanh") z = std::tanh(z);
                                    worst = std::max(worst, std::abs(double(y(i, oh, ow, f)) - z));
                                }
                    INFO(threads << " threads, batch " << n);
                    CHECK(worst < 2e-5);
                }
            }
        }
    }
}

TEST_CASE("Conv2D's Winograd kernel is remade whenever the kernel changes", "[conv2d][winograd]") {
    // The transformed kernel is kept between inference passes and remade when the kernel's
    // version (Param::changed) or storage changed: set_weights, an optimizer step, a new tensor
    // assigned, a write in place followed by changed().
    utils::set_random_seed(10);
    layers::Conv2D<float> conv(16, 3, {.padding = "same"});
    conv.build({6, 6, 16});
    const xt::xarray<float> x = xt::cast<float>(random_tensor({1, 6, 6, 16}, 11));
    auto inference_matches_training = [&] {
        const xt::xarray<float> infer = conv.forward(x, false);
        const xt::xarray<float> train = conv.forward(x, true);  // the direct kernels
        return xt::amax(xt::abs(infer - train))() < 1e-5f * (1.0f + xt::amax(xt::abs(train))());
    };
    REQUIRE(inference_matches_training());
    auto& kernel = *conv.params()[0];
    SECTION("set_weights") {
        conv.set_weights({xt::cast<float>(random_tensor({3, 3, 16, 16}, 12)),
                          xt::xarray<float>(conv.params()[1]->value)});
        CHECK(inference_matches_training());
    }
    SECTION("an optimizer step") {
        conv.forward(x, true);
        conv.backward(xt::xarray<float>(xt::ones<float>({1, 6, 6, 16})), false);
        optimizers::SGD<float> sgd(0.01);
        sgd.apply(conv.params());
        CHECK(inference_matches_training());
    }
    SECTION("a write in place, then changed()") {
        std::transform(kernel.value.begin(), kernel.value.end(), kernel.value.begin(),
                       [](float v) { return -2.0f * v; });
        kernel.changed();
        CHECK(inference_matches_training());
    }
    SECTION("without changed(), a write in place is not seen: the contract is needed") {
        std::transform(kernel.value.begin(), kernel.value.end(), kernel.value.begin(),
                       [](float v) { return -2.0f * v; });
        CHECK_FALSE(inference_matches_training());
    }
}

TEST_CASE("Training a conv model twice with the same seed gives bit-identical weights",
          "[conv2d][threads]") {
    auto x = xt::xarray<float>(xt::cast<float>(random_tensor({64, 10, 10, 2}, 8)));
    auto y = utils::to_categorical(
        xt::xarray<double>(xt::arange<double>(64) - 3.0 * xt::floor(xt::arange<double>(64) / 3.0)),
        3);
    auto train = [&] {
        utils::set_random_seed(5);
        Sequential m;
        m.add(layers::Conv2D(
            8, 3, {.padding = "same", .activation = "relu", .input_shape = {10, 10, 2}}));
        m.add(layers::BatchNormalization());
        m.add(layers::MaxPooling2D());
        m.add(layers::Conv2D(16, 3, "relu"));
        m.add(layers::Flatten());
        m.add(layers::Dropout(0.3));
        m.add(layers::Dense(3, "softmax"));
        m.compile("adam", "categorical_crossentropy");
        m.fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
        return m.get_weights();
    };
    auto a = train(), b = train();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
}
