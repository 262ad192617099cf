// Conv1D: outputs against plain loops for each padding ("valid", "same", "causal"), strides and
// dilations, causality, every route of the convolution kernels, gradients, pooling fused at
// inference, Keras's configs and refusals.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

/// Conv1D by its definition: out[n, t, f] = b[f] + sum_k sum_c x[n, t*s + k*d - pad, c] *
/// w[k, c, f], with x zero outside [0, steps).
xt::xarray<double> conv1d_reference(const xt::xarray<double>& x, const xt::xarray<double>& w,
                                    const xt::xarray<double>& b, std::size_t s, std::size_t d,
                                    const std::string& padding) {
    const std::size_t n = x.shape()[0], steps = x.shape()[1], C = x.shape()[2];
    const std::size_t k = w.shape()[0], F = w.shape()[2], span = d * (k - 1) + 1;
    std::size_t out = 0, pad = 0;
    if (padding == "valid") {
        out = (steps - span) / s + 1;
    } else {
        out = (steps + s - 1) / s;
        pad = padding == "causal"
                  ? span - 1
                  : std::size_t(std::max(0L, long((out - 1) * s + span) - long(steps))) / 2;
    }
    xt::xarray<double> y = xt::zeros<double>({n, out, F});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t t = 0; t < out; ++t)
            for (std::size_t f = 0; f < F; ++f) {
                double acc = b(f);
                for (std::size_t j = 0; j < k; ++j) {
                    const long at = long(t * s + j * d) - long(pad);
                    if (at < 0 || at >= long(steps)) continue;
                    for (std::size_t c = 0; c < C; ++c) acc += x(i, at, c) * w(j, c, f);
                }
                y(i, t, f) = acc;
            }
    return y;
}

}  // namespace

TEST_CASE("Conv1D computes Keras's convolution for each padding, stride and dilation", "[conv1d]") {
    struct Case {
        std::string padding;
        int kernel, strides, dilation;
        std::size_t steps;
    };
    const Case cases[] = {{"valid", 3, 1, 1, 10}, {"valid", 3, 2, 1, 10}, {"valid", 2, 1, 3, 9},
                          {"same", 3, 1, 1, 10},  {"same", 4, 3, 1, 10},  {"same", 3, 1, 2, 7},
                          {"causal", 3, 1, 1, 8}, {"causal", 2, 1, 4, 9}, {"causal", 3, 2, 1, 8},
                          {"CAUSAL", 1, 1, 1, 3}};
    for (const auto& c : cases) {
        INFO("padding " << c.padding << ", kernel " << c.kernel << ", strides " << c.strides
                        << ", dilation " << c.dilation << ", steps " << c.steps);
        layers::Conv1D<double> conv(
            5, c.kernel, {.strides = c.strides, .padding = c.padding, .dilation_rate = c.dilation});
        conv.build({c.steps, 3});
        const auto w = random_tensor({std::size_t(c.kernel), 3, 5}, 1);
        const auto b = random_tensor({5}, 2);
        conv.set_weights({w, b});
        const auto x = random_tensor({2, c.steps, 3}, 3);
        std::string p = c.padding;
        for (auto& ch : p) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        const auto expected =
            conv1d_reference(x, w, b, std::size_t(c.strides), std::size_t(c.dilation), p);
        CHECK(conv.output_shape() == shape_t{expected.shape()[1], 5});
        CHECK(xt::allclose(conv.forward(x, false), expected, 1e-12, 1e-12));
        check_layer_gradients(conv, x);
    }
}

TEST_CASE("Conv1D output shapes are Keras's", "[conv1d]") {
    // keras.io's example: Conv1D(32, 3, activation="relu") on (4, 10, 128) gives (4, 8, 32)
    layers::Conv1D<float> conv(32, 3, "relu");
    conv.build({10, 128});
    CHECK(conv.output_shape() == shape_t{8, 32});
    CHECK(conv.get_weights()[0].shape() == std::vector<std::size_t>{3, 128, 32});
    CHECK(conv.count_params() == 3 * 128 * 32 + 32);
    layers::Conv1D<float> causal(4, 5, {.strides = 3, .padding = "causal"});
    causal.build({10, 2});
    CHECK(causal.output_shape() == shape_t{4, 4});  // ceil(10 / 3)
}

TEST_CASE("Conv1D with causal padding never looks ahead", "[conv1d]") {
    layers::Conv1D<double> conv(2, 3, {.padding = "causal", .dilation_rate = 2});
    conv.build({12, 2});
    auto x = random_tensor({1, 12, 2}, 5);
    const xt::xarray<double> before = conv.forward(x, false);
    x(0, 7, 1) += 1.0;
    const xt::xarray<double> after = conv.forward(x, false);
    for (std::size_t t = 0; t < 12; ++t) {
        INFO("step " << t);
        const bool same = xt::view(before, 0, t) == xt::view(after, 0, t);
        // step 7 reaches outputs 7, 9 and 11 (dilation 2, kernel 3)
        CHECK(same == (t != 7 && t != 9 && t != 11));
    }
}

TEST_CASE("Conv1D gives the same results on every route of the kernels", "[conv1d][routes]") {
    using pass = layers::Conv1D<double>::pass;
    using route = backend::conv::route;
    struct Case {
        const char* padding;
        int dilation;
    };
    int ran = 0;
    for (const auto& c :
         {Case{"same", 1}, Case{"causal", 1}, Case{"causal", 2}, Case{"valid", 1}}) {
        layers::Conv1D<double> conv(
            6, 3, {.padding = c.padding, .dilation_rate = c.dilation, .activation = "relu"});
        conv.build({11, 4});
        const auto x = random_tensor({3, 11, 4}, 7);
        const auto dy = random_tensor({3, conv.output_shape()[0], 6}, 8);
        auto run = [&] {
            std::vector<xt::xarray<double>> out{conv.forward(x, true)};
            out.emplace_back(conv.backward(dy, true));
            out.emplace_back(conv.params()[0]->grad);
            out.emplace_back(conv.params()[1]->grad);
            return out;
        };
        const auto expected = run();
        for (pass p : {pass::training, pass::weight_gradient, pass::input_gradient})
            for (route r : {route::gemm, route::direct, route::small_patch}) {
                INFO("padding " << c.padding << ", dilation " << c.dilation << ", pass " << int(p)
                                << ", route " << backend::conv::name(r));
                try {
                    conv.force_route(p, r);
                } catch (const value_error&) {
                    continue;  // the route cannot run this pass of this geometry
                }
                ++ran;
                const auto got = run();
                for (std::size_t i = 0; i < got.size(); ++i)
                    CHECK(xt::allclose(got[i], expected[i], 1e-12, 1e-12));
                conv.force_route(p, std::nullopt);
            }
    }
    CHECK(ran > 12);  // more than the GEMM route alone (3 passes x 4 geometries)
}

TEST_CASE("Conv1D followed by MaxPooling1D pools its own output at inference",
          "[conv1d][pooling]") {
    utils::set_random_seed(3);
    Sequential m{Input({40, 3}), layers::Conv1D(16, 5, {.padding = "causal", .activation = "relu"}),
                 layers::MaxPooling1D(2), layers::Flatten(), layers::Dense(4)};
    const auto x = xt::cast<float>(random_tensor({5, 40, 3}, 9));
    xt::xarray<float> h = x;
    for (auto* layer : m.layers()) h = xt::xarray<float>(layer->forward(h, false));
    CHECK(xt::allclose(m.predict(x), h, 1e-6, 1e-6));
}

TEST_CASE("Conv1D reads and writes Keras's config", "[conv1d][config]") {
    const auto cfg = nlohmann::json::parse(R"({
        "name": "conv1d_3", "trainable": true, "dtype": "float32", "filters": 8,
        "kernel_size": [5], "strides": [1], "padding": "causal", "data_format": "channels_last",
        "dilation_rate": [4], "groups": 1, "activation": "relu", "use_bias": false,
        "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal",
                               "config": {"seed": null}, "registered_name": null},
        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                             "config": {}, "registered_name": null},
        "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
        "kernel_constraint": null, "bias_constraint": null})");
    auto layer = layers::registry<float>::create("Conv1D", cfg);
    auto& conv = dynamic_cast<layers::Conv1D<float>&>(*layer);
    CHECK(conv.name() == "conv1d_3");
    CHECK(conv.kernel_size() == 5);
    CHECK(conv.options().dilation_rate == 4);
    CHECK(conv.options().padding == "causal");
    CHECK_FALSE(conv.options().use_bias);
    const auto out = conv.get_config();
    for (const char* key : {"filters", "kernel_size", "strides", "padding", "dilation_rate",
                            "groups", "activation", "use_bias", "data_format"})
        CHECK(out[key] == cfg[key]);
    // an integer where Keras writes a list of one
    auto plain = cfg;
    plain["kernel_size"] = 5;
    plain["strides"] = 1;
    CHECK(dynamic_cast<layers::Conv1D<float>&>(*layers::registry<float>::create("Conv1D", plain))
              .kernel_size() == 5);
}

TEST_CASE("Conv1D refuses what Keras refuses and what xkeras lacks", "[conv1d][config]") {
    CHECK_THROWS_WITH(layers::Conv1D<float>(0, 3),
                      "Conv1D: expected a positive integer for `filters`, got 0");
    CHECK_THROWS_WITH(layers::Conv1D<float>(4, -1),
                      "Conv1D: expected a positive integer for `kernel_size`, got -1");
    CHECK_THROWS_WITH(layers::Conv1D<float>(4, 3, {.padding = "full"}),
                      "Conv1D: expected padding 'valid', 'same' or 'causal', got 'full'");
    CHECK_THROWS_WITH(layers::Conv2D<float>(4, 3, {.padding = "causal"}),
                      "Conv2D: expected padding 'valid' or 'same', got 'causal'");
    CHECK_THROWS_WITH(layers::Conv1D<float>(4, 3, {.strides = 2, .dilation_rate = 2, .name = "c"}),
                      "Conv1D 'c': strides > 1 cannot be combined with dilation_rate > 1 (got "
                      "strides 2 and dilation_rate 2)");
    layers::Conv1D<float> wide(4, 3, {.dilation_rate = 3, .name = "wide"});
    CHECK_THROWS_WITH(wide.build({6, 2}),
                      "layer 'wide' (Conv1D): a window of 3 (dilated) spanning 7 steps with "
                      "'valid' padding does not fit 6 steps; the output would be empty");
    CHECK_THROWS_WITH(wide.build({6, 2, 1}),
                      "layer 'wide' (Conv1D) expects inputs of shape (batch, steps, channels), "
                      "got (None, 6, 2, 1)");
    nlohmann::json cfg = {{"filters", 2}, {"kernel_size", {3}}, {"groups", 2}};
    CHECK_THROWS_WITH(layers::registry<float>::create("Conv1D", cfg),
                      "Conv1D: config key 'groups' = 2 is not supported by xkeras (only 1)");
    cfg = {{"filters", 2}, {"kernel_size", {3, 3}}};
    CHECK_THROWS_WITH(layers::registry<float>::create("Conv1D", cfg),
                      "Conv1D: config key 'kernel_size' must be an integer or a list of one, got "
                      "an array of 2 elements: [3,3]");
    cfg = {{"filters", 2}, {"kernel_size", 3}, {"data_format", "channels_first"}};
    CHECK_THROWS_WITH(layers::registry<float>::create("Conv1D", cfg),
                      "Conv1D: config key 'data_format' = \"channels_first\" is not supported by "
                      "xkeras (only \"channels_last\")");
}
