// Pooling, global pooling (1D, 2D, max and average) and Reshape: values by hand, shapes,
// gradients, errors.
#include "gradient_check.hpp"
#include "isa_level.hpp"
#include "thread_count.hpp"

#include <limits>

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {
xt::xarray<double> image4x4() {
    xt::xarray<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    x.reshape({1, 4, 4, 1});
    return x;
}
}  // namespace

TEST_CASE("MaxPooling2D and AveragePooling2D values by hand", "[pooling]") {
    layers::MaxPooling2D<double> mp;
    mp.build({4, 4, 1});
    const auto x = image4x4();  // backward reads the input again: it must outlive it
    auto y = mp.forward(x, true);
    REQUIRE(shape_of(y) == shape_t{1, 2, 2, 1});
    CHECK(y(0, 0, 0, 0) == 6);
    CHECK(y(0, 1, 1, 0) == 16);
    // the gradient goes to the max of each window
    xt::xarray<double> dy = xt::ones<double>({1, 2, 2, 1});
    auto dx = mp.backward(dy, true);
    CHECK(dx(0, 1, 1, 0) == 1);
    CHECK(dx(0, 0, 0, 0) == 0);
    CHECK(xt::sum(dx)() == 4);

    layers::AveragePooling2D<double> ap({2, 2});
    ap.build({4, 4, 1});
    auto a = ap.forward(image4x4(), false);
    CHECK(a(0, 0, 0, 0) == Approx((1 + 2 + 5 + 6) / 4.0));
    CHECK(a(0, 1, 1, 0) == Approx((11 + 12 + 15 + 16) / 4.0));
}

TEST_CASE("Pooling with 'same' ignores the padding (max) and counts real cells (average)",
          "[pooling]") {
    layers::MaxPooling2D<double> mp({3, 3}, {.strides = layers::size2{2, 2}, .padding = "same"});
    mp.build({4, 4, 1});
    xt::xarray<double> neg = -image4x4();
    auto y = mp.forward(neg, false);
    REQUIRE(shape_of(y) == shape_t{1, 2, 2, 1});
    // padding total (2-1)*2+3-4 = 1 -> top/left 0, bottom/right 1; negative inputs: a zero pad
    // would win if it were counted
    CHECK(y(0, 1, 1, 0) == -11);
    layers::AveragePooling2D<double> ap({2, 2}, {.padding = "same"});
    xt::xarray<double> x3{1, 2, 3, 4, 5, 6, 7, 8, 9};
    x3.reshape({1, 3, 3, 1});
    ap.build({3, 3, 1});
    auto a = ap.forward(x3, false);
    REQUIRE(shape_of(a) == shape_t{1, 2, 2, 1});
    CHECK(a(0, 0, 1, 0) == Approx((3 + 6) / 2.0));
    CHECK(a(0, 1, 1, 0) == Approx(9.0));
}

TEST_CASE("Pooling output shapes follow Keras (floor for valid, ceil for same)",
          "[pooling][shapes]") {
    CHECK(layers::MaxPooling2D<float>().compute_output_shape({7, 7, 64}) == shape_t{3, 3, 64});
    CHECK(layers::MaxPool2D<float>({2, 2}).compute_output_shape({3, 3, 128}) == shape_t{1, 1, 128});
    CHECK(
        layers::MaxPooling2D<float>({2, 2}, {.padding = "same"}).compute_output_shape({7, 7, 4}) ==
        shape_t{4, 4, 4});
    CHECK(layers::MaxPooling2D<float>({3, 3}, {.strides = layers::size2{1, 1}})
              .compute_output_shape({5, 5, 2}) == shape_t{3, 3, 2});
    CHECK(layers::AvgPool2D<float>({2, 2}).compute_output_shape({5, 4, 1}) == shape_t{2, 2, 1});
    layers::MaxPooling2D<float> big({3, 3}, {.name = "pool"});
    CHECK_THROWS_WITH(big.build({2, 2, 1}),
                      Catch::Contains("pool") && Catch::Contains("(None, 2, 2, 1)"));
    CHECK_THROWS_AS(layers::MaxPooling2D<float>({2, 2}, {.padding = "causal"}), value_error);
}

TEST_CASE("MaxPooling2D's vectorised windows match a plain maximum", "[pooling]") {
    // channels spanning whole vectors and a remainder, 2x2 windows (unrolled) and others, windows
    // inside the input (vector loops) and clipped by "same" padding; at every instruction-set
    // level the CPU runs
    const auto level = GENERATE(from_range(testing::available_isas()));
    INFO("instruction-set level " << backend::name(level));
    testing::scoped_isa at(level);
    struct Case {
        layers::size2 pool, strides;
        const char* padding;
        shape_t input;
    };
    const Case cases[] = {{2, 2, "valid", {6, 7, 40}},
                          {3, 2, "valid", {7, 7, 20}},
                          {{2, 3}, 1, "valid", {5, 6, 17}},
                          {3, 2, "same", {6, 6, 24}}};
    for (const auto& c : cases) {
        layers::MaxPooling2D<float> p(c.pool, {.strides = c.strides, .padding = c.padding});
        p.build(c.input);
        shape_t xs = c.input;
        xs.insert(xs.begin(), 2);
        const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 17));
        const auto& y = p.forward(x, false);
        const auto& g = y.shape();
        const long pad_t =
            c.padding == std::string("same")
                ? std::max(0L, long((g[1] - 1) * c.strides.h + c.pool.h) - long(c.input[0])) / 2
                : 0;
        const long pad_l =
            c.padding == std::string("same")
                ? std::max(0L, long((g[2] - 1) * c.strides.w + c.pool.w) - long(c.input[1])) / 2
                : 0;
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t oh = 0; oh < g[1]; ++oh)
                for (std::size_t ow = 0; ow < g[2]; ++ow)
                    for (std::size_t ch = 0; ch < g[3]; ++ch) {
                        float m = -std::numeric_limits<float>::infinity();
                        for (std::size_t ky = 0; ky < c.pool.h; ++ky)
                            for (std::size_t kx = 0; kx < c.pool.w; ++kx) {
                                const long h = long(oh * c.strides.h + ky) - pad_t;
                                const long w = long(ow * c.strides.w + kx) - pad_l;
                                if (h < 0 || w < 0 || h >= long(c.input[0]) ||
                                    w >= long(c.input[1]))
                                    continue;
                                m = std::max(m, x(n, std::size_t(h), std::size_t(w), ch));
                            }
                        REQUIRE(y(n, oh, ow, ch) == m);
                    }
    }
}

TEST_CASE("MaxPooling2D shares a single image's rows over the threads, with the same result",
          "[pooling][threads]") {
    // from 4,096 input values and 65 pixels a batch smaller than the pool is split by rows (as
    // the convolution before it splits its output); smaller images stay whole
    struct Case {
        const char* what;
        layers::size2 pool, strides;
        const char* padding;
        shape_t input;
    };
    const Case cases[] = {{"rows, E1's first", 2, 2, "valid", {28, 28, 32}},
                          {"rows, 7 of them", 2, 2, "valid", {14, 14, 64}},
                          {"rows, clipped windows", 3, 2, "same", {20, 20, 16}},
                          {"whole, E1's last", 2, 2, "valid", {7, 7, 128}},
                          {"whole, clipped windows", 3, 2, "same", {6, 6, 130}}};
    for (const auto& c : cases) {
        SECTION(c.what) {
            layers::MaxPooling2D<float> p(c.pool, {.strides = c.strides, .padding = c.padding});
            p.build(c.input);
            shape_t xs = c.input;
            xs.insert(xs.begin(), 1);
            const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 18));
            const xt::xarray<float> one = [&] {
                testing::scoped_threads single(1);
                return xt::xarray<float>(p.forward(x, false));
            }();
            for (int threads : {2, 3}) {
                testing::scoped_threads shared(threads);
                // the output first holds another image's result: a part no thread wrote keeps it
                p.forward(xt::xarray<float>(-x), false);
                CHECK(p.forward(x, false) == one);
            }
        }
    }
}

TEST_CASE("Conv2D pools its own output at inference: the two layers one after the other",
          "[pooling][conv2d][threads]") {
    // Conv2D::forward_pooled: each chunk of the convolution's output is pooled by the thread that
    // computed it, by bands of rows, by Winograd's tiles (one pooling window each) or by filters;
    // every route of the convolution that owns its loops, forced (select_route takes the GEMM
    // for 128 filters below the AVX-512 level), at 1-3 threads, batch 1 and 3, at every
    // instruction-set level the CPU runs.
    using route = backend::conv::route;
    struct Case {
        const char* what;
        int filters;
        layers::size2 window;
        shape_t input;
        layers::size2 pool, strides;
        bool average;
        route by;
    };
    const Case cases[] = {
        // each large enough for a single image to be shared out over the threads (Conv2D's
        // `spread`: 16,384 output values for small patches, 4 MFLOP otherwise)
        {"small patches (E1's first), bands of rows",
         32,
         3,
         {28, 28, 1},
         2,
         2,
         false,
         route::small_patch},
        {"direct kernels, 5x5 window, bands of rows",
         64,
         5,
         {12, 12, 16},
         2,
         2,
         false,
         route::direct},
        {"Winograd 2x2 tiles (E1's second), pooled by tiles",
         64,
         3,
         {14, 14, 32},
         2,
         2,
         false,
         route::winograd_2x2},
        // 3 tiles a row, 2 pooled: at 3 threads the tiles are cut after a row's last tile
        {"Winograd 2x2 tiles, odd width, average, by tiles",
         128,
         3,
         {13, 5, 64},
         2,
         2,
         true,
         route::winograd_2x2},
        {"Winograd by filters (E1's last)", 128, 3, {7, 7, 64}, 2, 2, false, route::winograd_2x2},
        {"Winograd 4x4 tiles, bands of 4 rows",
         32,
         3,
         {22, 21, 16},
         2,
         2,
         false,
         route::winograd_4x4},
        {"Winograd 2x2 tiles, 3x3 pooling, bands of 6 rows",
         64,
         3,
         {17, 12, 64},
         3,
         3,
         false,
         route::winograd_2x2},
        {"windows smaller than the stride, odd rows, small patches",
         32,
         3,
         {25, 25, 1},
         1,
         2,
         false,
         route::small_patch},
        {"windows smaller than the stride, Winograd tiles",
         128,
         3,
         {9, 9, 64},
         1,
         2,
         false,
         route::winograd_2x2},
    };
    const auto level = GENERATE(from_range(testing::available_isas()));
    testing::scoped_isa at(level);
    for (const auto& c : cases) {
        SECTION(c.what) {
            INFO("instruction-set level " << backend::name(level));
            utils::set_random_seed(3);
            layers::Conv2D<float> conv(c.filters, c.window,
                                       {.padding = "same", .activation = "relu"});
            conv.build(c.input);
            conv.force_route(backend::conv::pass::inference, c.by);
            std::unique_ptr<layers::Layer<float>> pool;
            if (c.average)
                pool = std::make_unique<layers::AveragePooling2D<float>>(
                    c.pool, layers::Pooling2DOptions{.strides = c.strides});
            else
                pool = std::make_unique<layers::MaxPooling2D<float>>(
                    c.pool, layers::Pooling2DOptions{.strides = c.strides});
            pool->build(conv.output_shape());
            shape_t xs = c.input;
            xs.insert(xs.begin(), 3);
            const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 5));
            for (int threads : {1, 2, 3}) {
                testing::scoped_threads scope(threads);
                for (std::size_t n : {std::size_t(1), std::size_t(3)}) {
                    INFO(threads << " threads, batch " << n);
                    const xt::xarray<float> xn = xt::view(x, xt::range(0, n));
                    const xt::xarray<float> y = conv.forward(xn, false);
                    const xt::xarray<float> z = pool->forward(y, false);
                    // the pooled output holds another result first: a part the fused pass does
                    // not write keeps it
                    conv.forward_pooled(xt::xarray<float>(-xn), *pool->as_pooling());
                    const auto* fused = conv.forward_pooled(xn, *pool->as_pooling());
                    REQUIRE(fused != nullptr);
                    CHECK(*fused == z);
                    CHECK(conv.forward(xn, false) == y);  // the convolution's output is the same
                }
            }
        }
    }
    SECTION("not fused: overlapping or padded windows, another activation, another layer") {
        layers::Conv2D<float> relu(32, 3, {.padding = "same", .activation = "relu"});
        layers::Conv2D<float> tanh(32, 3, {.padding = "same", .activation = "tanh"});
        relu.build({8, 8, 16});
        tanh.build({8, 8, 16});
        layers::MaxPooling2D<float> overlapping({3, 3}, {.strides = layers::size2{2, 2}});
        layers::MaxPooling2D<float> padded({2, 2}, {.padding = "same"});
        layers::MaxPooling2D<float> plain({2, 2});
        layers::Dense<float> dense(4);
        for (layers::Layer<float>* l :
             {(layers::Layer<float>*)&overlapping, (layers::Layer<float>*)&plain,
              (layers::Layer<float>*)&padded})
            l->build({8, 8, 32});
        layers::MaxPooling2D<float> padded_odd({2, 2}, {.padding = "same"});
        padded_odd.build({7, 7, 32});
        const xt::xarray<float> x = xt::cast<float>(random_tensor({1, 8, 8, 16}, 6));
        CHECK(relu.forward_pooled(x, *overlapping.as_pooling()) == nullptr);
        CHECK(tanh.forward_pooled(x, *plain.as_pooling()) == nullptr);
        CHECK(dense.as_pooling() == nullptr);
        CHECK(relu.forward_pooled(x, *plain.as_pooling()) != nullptr);
        CHECK(relu.forward_pooled(x, *padded.as_pooling()) != nullptr);  // needs no padding
        CHECK_FALSE(padded_odd.as_pooling()->pools_in_row_bands());      // a padded last window
        layers::MaxPooling2D<float> other({2, 2});
        other.build({6, 6, 32});
        // not this layer's output
        CHECK_THROWS_AS(relu.forward_pooled(x, *other.as_pooling()), shape_error);
    }
}

TEST_CASE("MaxPooling2D gives a tied window's gradient to its first maximum", "[pooling]") {
    layers::MaxPooling2D<double> p;
    p.build({2, 4, 1});
    // window 1 all equal; window 2 has its maximum 3 twice, at (0, 3) and (1, 2)
    xt::xarray<double> x = {1.0, 1.0, 0.0, 3.0, 1.0, 1.0, 3.0, 2.0};
    x.reshape({1, 2, 4, 1});
    p.forward(x, true);
    xt::xarray<double> dy = {5.0, 7.0};
    dy.reshape({1, 1, 2, 1});
    const auto& dx = p.backward(dy, true);
    xt::xarray<double> want = {5.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0};
    want.reshape({1, 2, 4, 1});
    CHECK((dx == want));
}

TEST_CASE("Pooling gradients match central differences", "[pooling][gradient]") {
    SECTION("max valid 2x2") {
        layers::MaxPooling2D<double> p;
        p.build({4, 6, 3});
        check_layer_gradients(p, random_tensor({2, 4, 6, 3}, 1));
    }
    SECTION("max valid 2x2 on odd sizes (last row and column uncovered)") {
        layers::MaxPooling2D<double> p;
        p.build({5, 7, 2});
        check_layer_gradients(p, random_tensor({2, 5, 7, 2}, 7));
    }
    SECTION("max valid 2x2 stride 3 (gaps between windows)") {
        layers::MaxPooling2D<double> p({2, 2}, {.strides = layers::size2{3, 3}});
        p.build({8, 7, 2});
        check_layer_gradients(p, random_tensor({2, 8, 7, 2}, 8));
    }
    SECTION("max valid 3x3 stride 1 (overlapping windows)") {
        layers::MaxPooling2D<double> p({3, 3}, {.strides = layers::size2{1, 1}});
        p.build({5, 5, 2});
        check_layer_gradients(p, random_tensor({2, 5, 5, 2}, 9));
    }
    SECTION("max same 3x3 stride 2") {
        layers::MaxPooling2D<double> p({3, 3}, {.strides = layers::size2{2, 2}, .padding = "same"});
        p.build({5, 5, 2});
        check_layer_gradients(p, random_tensor({2, 5, 5, 2}, 2));
    }
    SECTION("average valid 2x2") {
        layers::AveragePooling2D<double> p({2, 2});
        p.build({4, 5, 2});
        check_layer_gradients(p, random_tensor({2, 4, 5, 2}, 3));
    }
    SECTION("average same 3x3 stride 1") {
        layers::AveragePooling2D<double> p({3, 3},
                                           {.strides = layers::size2{1, 1}, .padding = "same"});
        p.build({4, 4, 2});
        check_layer_gradients(p, random_tensor({2, 4, 4, 2}, 4));
    }
    SECTION("global average") {
        layers::GlobalAveragePooling2D<double> p;
        p.build({3, 4, 5});
        CHECK(p.output_shape() == shape_t{5});
        check_layer_gradients(p, random_tensor({2, 3, 4, 5}, 5));
    }
    SECTION("reshape") {
        layers::Reshape<double> r({-1, 4});
        r.build({2, 3, 2});
        CHECK(r.output_shape() == shape_t{3, 4});
        check_layer_gradients(r, random_tensor({2, 2, 3, 2}, 6));
    }
}

TEST_CASE("GlobalAveragePooling2D and Reshape values and errors", "[pooling][reshape]") {
    layers::GlobalAveragePooling2D<double> g;
    g.build({4, 4, 1});
    CHECK(g.forward(image4x4(), false)(0, 0) == Approx(8.5));
    CHECK_THROWS_AS(layers::GlobalAveragePooling2D<double>().build({16}), shape_error);
    layers::Reshape<double> r({2, 8});
    r.build({4, 4, 1});
    auto y = r.forward(image4x4(), false);
    CHECK(y(0, 1, 0) == 9);
    layers::Reshape<double> bad({3, -1}, {.name = "rs"});
    CHECK_THROWS_WITH(bad.build({4, 4, 1}), Catch::Contains("rs") && Catch::Contains("(3, -1)"));
    CHECK_THROWS_AS(layers::Reshape<double>({-1, -1}), value_error);
    CHECK_THROWS_AS(layers::Reshape<double>({0, 4}), value_error);
}

TEST_CASE("Global max and average pooling over steps and positions, keepdims too",
          "[pooling][global]") {
    // (1, 3 steps, 2 channels): channel 0 = 1, 5, 3; channel 1 = -2, -4, -1
    const xt::xarray<double> x{{{1.0, -2.0}, {5.0, -4.0}, {3.0, -1.0}}};
    layers::GlobalMaxPooling1D<double> gmax;
    gmax.build({3, 2});
    CHECK((gmax.forward(x, false) == xt::xarray<double>{{5.0, -1.0}}));
    layers::GlobalAveragePooling1D<double> gavg({.keepdims = true});
    gavg.build({3, 2});
    CHECK(gavg.output_shape() == shape_t{1, 2});
    CHECK(xt::allclose(gavg.forward(x, false), xt::xarray<double>{{{3.0, -7.0 / 3.0}}}));
    layers::GlobalMaxPooling2D<double> gmax2({.keepdims = true});
    gmax2.build({4, 4, 1});
    CHECK(gmax2.output_shape() == shape_t{1, 1, 1});
    CHECK(gmax2.forward(image4x4(), false)(0, 0, 0, 0) == 16.0);
    CHECK_THROWS_WITH(layers::GlobalMaxPooling1D<double>({.name = "g"}).build({3, 2, 2}),
                      "layer 'g' (GlobalMaxPooling1D) expects inputs of shape (batch, steps, "
                      "channels) with no empty axis, got (None, 3, 2, 2)");
    CHECK_THROWS_AS(layers::GlobalMaxPooling2D<double>().build({0, 3, 2}), shape_error);
}

TEST_CASE("Global max pooling shares the gradient among tied maxima", "[pooling][global]") {
    // channel 0 ties at 2 (steps 0 and 2), as ReLU's zeros tie: each takes half, as the gradient
    // of Keras's ops.max does in TensorFlow and JAX
    const xt::xarray<double> x{{{2.0, 0.0}, {1.0, 0.0}, {2.0, 0.0}, {-1.0, 3.0}}};
    layers::GlobalMaxPooling1D<double> g;
    g.build({4, 2});
    g.forward(x, true);
    const xt::xarray<double> dy{{1.0, 4.0}};
    CHECK((g.backward(dy, true) ==
           xt::xarray<double>{{{0.5, 0.0}, {0.0, 0.0}, {0.5, 0.0}, {0.0, 4.0}}}));
    for (bool two_d : {false, true}) {
        INFO((two_d ? "2D" : "1D"));
        std::unique_ptr<layers::Layer<double>> p;
        if (two_d)
            p = std::make_unique<layers::GlobalMaxPooling2D<double>>();
        else
            p = std::make_unique<layers::GlobalMaxPooling1D<double>>();
        const shape_t in = two_d ? shape_t{3, 4, 2} : shape_t{5, 3};
        p->build(in);
        shape_t batch{2};
        batch.insert(batch.end(), in.begin(), in.end());
        check_layer_gradients(*p, random_tensor(batch, 8));
    }
}

TEST_CASE("Global poolings read Keras's configs and aliases", "[pooling][global]") {
    const nlohmann::json cfg{{"name", "gmp"}, {"data_format", "channels_last"}, {"keepdims", true}};
    for (const char* name : {"GlobalMaxPooling2D", "GlobalMaxPool2D"}) {
        auto layer = layers::registry<float>::create(name, cfg);
        CHECK(layer->class_name() == "GlobalMaxPooling2D");
        CHECK(layer->get_config()["keepdims"] == true);
    }
    CHECK(layers::registry<float>::create("GlobalAvgPool1D", {{"name", "a"}})->class_name() ==
          "GlobalAveragePooling1D");
    CHECK_THROWS_WITH(
        layers::registry<float>::create("GlobalAveragePooling1D",
                                        {{"name", "a"}, {"data_format", "channels_first"}}),
        Catch::Contains("data_format"));
}

TEST_CASE("MaxPooling1D and AveragePooling1D give keras.io's values", "[pooling][pooling1d]") {
    // the docstrings' x = [1, 2, 3, 4, 5], shaped (1, 5, 1)
    xt::xarray<double> x{1, 2, 3, 4, 5};
    x.reshape({1, 5, 1});
    auto pooled = [&](layers::Layer<double>&& p) {
        p.build({5, 1});
        return xt::xarray<double>(xt::flatten(p.forward(x, false)));
    };
    using O = layers::Pooling1DOptions;
    CHECK((pooled(layers::MaxPooling1D<double>(2, O{.strides = 1})) ==
           xt::xarray<double>{2, 3, 4, 5}));
    CHECK((pooled(layers::MaxPooling1D<double>(2, O{.strides = 2})) == xt::xarray<double>{2, 4}));
    CHECK((pooled(layers::MaxPooling1D<double>(2, O{.strides = 1, .padding = "same"})) ==
           xt::xarray<double>{2, 3, 4, 5, 5}));
    CHECK((pooled(layers::AveragePooling1D<double>(2, O{.strides = 1})) ==
           xt::xarray<double>{1.5, 2.5, 3.5, 4.5}));
    CHECK((pooled(layers::AveragePooling1D<double>(2, O{.strides = 2})) ==
           xt::xarray<double>{1.5, 3.5}));
    CHECK((pooled(layers::AveragePooling1D<double>(2, O{.strides = 1, .padding = "same"})) ==
           xt::xarray<double>{1.5, 2.5, 3.5, 4.5, 5}));
    layers::MaxPooling1D<float> defaults;
    CHECK(defaults.pool_size() == 2);
    CHECK(defaults.strides() == 2);
    defaults.build({7, 3});
    CHECK(defaults.output_shape() == shape_t{3, 3});
}

TEST_CASE("1-D pooling gradients match central differences", "[pooling][pooling1d][gradient]") {
    using O = layers::Pooling1DOptions;
    layers::MaxPooling1D<double> overlapping(3, O{.strides = 1});
    overlapping.build({7, 2});
    check_layer_gradients(overlapping, random_tensor({2, 7, 2}, 1));
    layers::MaxPooling1D<double> same(2, O{.padding = "same"});
    same.build({5, 3});
    check_layer_gradients(same, random_tensor({2, 5, 3}, 2));
    layers::AveragePooling1D<double> gaps(2, O{.strides = 3});
    gaps.build({8, 2});
    check_layer_gradients(gaps, random_tensor({2, 8, 2}, 3));
}

TEST_CASE("1-D poolings read Keras's configs and refuse bad ones", "[pooling][pooling1d]") {
    const auto cfg = nlohmann::json::parse(R"({"name": "max_pooling1d_2", "trainable": true,
        "dtype": "float32", "pool_size": [3], "padding": "same", "strides": [1],
        "data_format": "channels_last"})");
    for (const char* cls : {"MaxPooling1D", "MaxPool1D"}) {
        auto layer = layers::registry<float>::create(cls, cfg);
        auto& p = dynamic_cast<layers::MaxPooling1D<float>&>(*layer);
        CHECK(p.pool_size() == 3);
        CHECK(p.strides() == 1);
        CHECK(p.padding() == "same");
        const auto out = p.get_config();
        for (const char* key : {"name", "pool_size", "padding", "strides", "data_format"})
            CHECK(out[key] == cfg[key]);
    }
    CHECK(layers::registry<float>::create("AvgPool1D", {{"pool_size", 2}})->class_name() ==
          "AveragePooling1D");
    CHECK_THROWS_WITH(layers::registry<float>::create("AveragePooling1D", nlohmann::json::object()),
                      "AveragePooling1D: config key 'pool_size' is missing");
    CHECK_THROWS_WITH(layers::MaxPooling1D<float>(0),
                      "MaxPooling1D: expected a positive integer for `pool_size`, got 0");
    CHECK_THROWS_WITH(layers::AveragePooling1D<float>(2, {.strides = -1}),
                      "AveragePooling1D: expected a positive integer for `strides`, got -1");
    layers::MaxPooling1D<float> p(4, {.name = "p"});
    CHECK_THROWS_WITH(p.build({3, 2}),
                      "layer 'p' (MaxPooling1D): a window of 4 with 'valid' "
                      "padding does not fit 3 steps; the output would be empty");
    CHECK_THROWS_WITH(p.build({8, 8, 2}),
                      "layer 'p' (MaxPooling1D) expects inputs of shape "
                      "(batch, steps, channels), got (None, 8, 8, 2)");
}
