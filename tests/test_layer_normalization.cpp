// LayerNormalization: outputs against the definition written out per sample (the last axis,
// the last two, without center or scale), gradient checks on each, keras.io's shapes, a large
// mean in float, the same bits on 1 and 2 threads, Keras 3's and tf.keras 2's configs and
// refusals.
#include "gradient_check.hpp"
#include "thread_count.hpp"

#include <cmath>
#include <cstring>

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

/// Each of the first `outer` axes' samples normalised over the rest: gamma (x - mean) /
/// sqrt(var + eps) + beta, the biased variance, gamma and beta flattened over the group.
xt::xarray<double> reference(const xt::xarray<double>& x, std::size_t group, double eps,
                             const xt::xarray<double>& gamma, const xt::xarray<double>& beta) {
    xt::xarray<double> y = x;
    const std::size_t rows = x.size() / group;
    for (std::size_t r = 0; r < rows; ++r) {
        double mean = 0.0, var = 0.0;
        for (std::size_t c = 0; c < group; ++c) mean += x.data()[r * group + c] / double(group);
        for (std::size_t c = 0; c < group; ++c) {
            const double d = x.data()[r * group + c] - mean;
            var += d * d / double(group);
        }
        for (std::size_t c = 0; c < group; ++c) {
            // a default xarray is a scalar: no dimension means no gamma / beta
            const double g = gamma.dimension() ? gamma.data()[c] : 1.0;
            const double b = beta.dimension() ? beta.data()[c] : 0.0;
            y.data()[r * group + c] =
                g * (x.data()[r * group + c] - mean) / std::sqrt(var + eps) + b;
        }
    }
    return y;
}

}  // namespace

TEST_CASE("LayerNormalization computes Keras's definition", "[layer_normalization]") {
    struct Case {
        std::vector<int> axis;
        bool center, scale;
        std::size_t group;
    };
    // input (batch 4, 3, 5)
    const Case cases[] = {{{-1}, true, true, 5},
                          {{-2, -1}, true, true, 15},
                          {{1, 2}, false, true, 15},
                          {{2}, true, false, 5},
                          {{-1}, false, false, 5}};
    for (const auto& c : cases) {
        INFO("axes " << c.axis.size() << " from " << c.axis[0] << ", center " << c.center
                     << ", scale " << c.scale);
        layers::LayerNormalization<double> ln(
            {.axis = c.axis, .epsilon = 0.01, .center = c.center, .scale = c.scale});
        ln.build({3, 5});
        CHECK(ln.output_shape() == shape_t{3, 5});
        auto w = ln.get_weights();
        REQUIRE(w.size() == std::size_t(c.center) + std::size_t(c.scale));
        xt::xarray<double> gamma, beta;
        std::size_t k = 0;
        if (c.scale) {
            CHECK(w[k].size() == c.group);
            CHECK(xt::all(xt::equal(w[k], 1.0)));  // ones, then beta's zeros
            w[k] = gamma = random_tensor(shape_of(w[k]), 1, 0.5, 1.5);
            ++k;
        }
        if (c.center) {
            CHECK(xt::all(xt::equal(w[k], 0.0)));
            w[k] = beta = random_tensor(shape_of(w[k]), 2, -0.5, 0.5);
        }
        ln.set_weights(w);
        const auto x = random_tensor({4, 3, 5}, 3, -2.0, 3.0);
        const auto expected = reference(x, c.group, 0.01, gamma, beta);
        CHECK(xt::allclose(ln.forward(x, false), expected, 1e-12, 1e-12));
        CHECK(xt::allclose(ln.forward(x, true), expected, 1e-12, 1e-12));  // no training mode
        check_layer_gradients(ln, x);
    }
    // keras.io's docstring: axis [1, 2, 3] of (5, 20, 30, 40) gives gamma and beta (20, 30, 40)
    layers::LayerNormalization<float> docs({.axis = {1, 2, 3}});
    docs.build({20, 30, 40});
    for (const auto& w : docs.get_weights())
        CHECK(w.shape() == std::vector<std::size_t>{20, 30, 40});
    CHECK(docs.count_params() == 2 * 20 * 30 * 40);
}

TEST_CASE("LayerNormalization in float holds for a large mean, on 1 and 2 threads alike",
          "[layer_normalization][threads]") {
    // a mean of 1000 against a spread of 0.1: each sample's output still has mean 0 and the
    // variance var / (var + eps) of the float input's values
    const std::size_t rows = 3001, G = 64;
    const auto x = random_tensor({rows, G}, 5, -0.2, 0.2);
    const xt::xarray<float> xf = xt::cast<float>(x + 1000.0);
    const auto dy = xt::cast<float>(random_tensor({rows, G}, 6));
    std::vector<std::vector<xt::xarray<float>>> runs;
    for (int threads : {1, 2, 2}) {
        testing::scoped_threads scope(threads);
        layers::LayerNormalization<float> ln;
        ln.build({G});
        std::vector<xt::xarray<float>> out{ln.forward(xf, true)};
        out.emplace_back(ln.backward(dy, true));
        for (auto* p : ln.params()) out.emplace_back(p->grad);
        runs.push_back(std::move(out));
    }
    const auto& y = runs[0][0];
    for (std::size_t r : {std::size_t(0), rows / 2, rows - 1}) {
        INFO("sample " << r);
        double mx = 0.0, vx = 0.0, my = 0.0, vy = 0.0;
        for (std::size_t c = 0; c < G; ++c) {
            mx += double(xf(r, c)) / double(G);
            my += double(y(r, c)) / double(G);
        }
        for (std::size_t c = 0; c < G; ++c) {
            vx += (double(xf(r, c)) - mx) * (double(xf(r, c)) - mx) / double(G);
            vy += (double(y(r, c)) - my) * (double(y(r, c)) - my) / double(G);
        }
        CHECK(my == Approx(0.0).margin(1e-5));
        CHECK(vy == Approx(vx / (vx + 1e-3)).epsilon(2e-3));
    }
    // the rows' passes and the columns' sums are split without changing any sum's order
    for (std::size_t i = 0; i < runs[0].size(); ++i) {
        INFO("output " << i);
        for (std::size_t run : {1, 2})
            CHECK(std::memcmp(runs[0][i].data(), runs[run][i].data(),
                              runs[0][i].size() * sizeof(float)) == 0);
    }
}

TEST_CASE("LayerNormalization reads Keras 3's and tf.keras 2's configs and refuses what it lacks",
          "[layer_normalization][config]") {
    const auto k3 = nlohmann::json::parse(R"({"name": "layer_normalization", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
        "registered_name": null}, "axis": -1, "epsilon": 1e-06, "center": true, "scale": true,
        "rms_scaling": false, "beta_initializer": {"module": "keras.initializers",
        "class_name": "Zeros", "config": {}, "registered_name": null},
        "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {},
        "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": null,
        "beta_constraint": null, "gamma_constraint": null})");
    auto layer = layers::registry<float>::create("LayerNormalization", k3);
    auto& ln = dynamic_cast<layers::LayerNormalization<float>&>(*layer);
    CHECK(ln.options().epsilon == 1e-6);
    const auto out = layer->get_config();
    for (const char* key : {"name", "axis", "epsilon", "center", "scale", "rms_scaling"})
        CHECK(out[key] == k3[key]);
    // tf.keras 2 writes the axes it resolved at build, as a list: [2] of a (batch, 6, 8) input
    auto tf2 = k3;
    tf2["axis"] = {2};
    tf2.erase("rms_scaling");
    auto built = layers::registry<float>::create("LayerNormalization", tf2);
    built->build({6, 8});
    CHECK(built->get_weights()[0].shape() == std::vector<std::size_t>{8});

    auto refused = [&](const char* key, nlohmann::json value) {
        auto cfg = k3;
        cfg[key] = std::move(value);
        return layers::registry<float>::create("LayerNormalization", cfg);
    };
    CHECK_THROWS_WITH(refused("rms_scaling", true),
                      "LayerNormalization 'layer_normalization': config key 'rms_scaling' = true "
                      "is not supported by xkeras (only false)");
    CHECK_THROWS_WITH(refused("axis", "last"),
                      Catch::Contains("config key 'axis' must be an axis (-64 to 64) or a list "
                                      "of them"));
    CHECK_THROWS_WITH(refused("axis", nlohmann::json::array()),
                      Catch::Contains("expected at least one axis, got none"));
    CHECK_THROWS_WITH(refused("epsilon", 0.0), Catch::Contains("expected epsilon > 0, got 0"));
    // axes that are not the last ones of the input are refused when the input is known
    auto first = refused("axis", 1);
    CHECK_THROWS_WITH(first->build({6, 8}),
                      "layer 'layer_normalization' (LayerNormalization): axis [1] does not fit "
                      "input (None, 6, 8) (expected the last axes of a sample, each once, none "
                      "empty: -1, or e.g. [-2, -1])");
    CHECK_THROWS_WITH(refused("axis", {0, 1})->build({6}), Catch::Contains("axis [0, 1]"));
    CHECK_THROWS_WITH(refused("axis", {-1, -1})->build({6}), Catch::Contains("axis [-1, -1]"));
    CHECK_THROWS_WITH(refused("axis", 3)->build({6}), Catch::Contains("axis [3]"));
}
