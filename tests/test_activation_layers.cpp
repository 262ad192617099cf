// ReLU, ELU, Softmax and PReLU as layers: Keras's values (the examples of Keras's own
// documentation), their options and refusals, Keras configs, softmax along any axis of the
// sample, the softmax output fused with crossentropy as Dense(..., "softmax") is, and PReLU's
// shared alphas. The gradient checks and round trips of every layer (tests/test_every_layer.cpp)
// cover them too.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

template <class L>
xt::xarray<double> run(L&& layer, const xt::xarray<double>& x) {
    layer.build(shape_t(x.shape().begin() + 1, x.shape().end()));
    return layer.forward(x, false);
}

bool near(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    return a.shape() == b.shape() && xt::allclose(a, b, 1e-7, 1e-12);
}

}  // namespace

TEST_CASE("ReLU gives Keras's documented values", "[activation][relu]") {
    // keras.activations.relu's and keras.layers.ReLU's docstrings
    const xt::xarray<double> x{{-10.0, -5.0, 0.0, 5.0, 10.0}};
    CHECK(near(run(layers::ReLU<double>(), x), {{0.0, 0.0, 0.0, 5.0, 10.0}}));
    CHECK(near(run(layers::ReLU<double>({.negative_slope = 0.5}), x),
               {{-5.0, -2.5, 0.0, 5.0, 10.0}}));
    CHECK(near(run(layers::ReLU<double>({.max_value = 5.0}), x), {{0.0, 0.0, 0.0, 5.0, 5.0}}));
    CHECK(near(run(layers::ReLU<double>({.threshold = 5.0}), x), {{0.0, 0.0, 0.0, 0.0, 10.0}}));
    CHECK(near(run(layers::ReLU<double>({.max_value = 10.0, .negative_slope = 0.5}), x),
               {{-5.0, -2.5, 0.0, 5.0, 10.0}}));
    // below the threshold: negative_slope * (x - threshold); a ceiling under the threshold
    // leaves that side alone, as Keras's relu (clip after the threshold) does
    const xt::xarray<double> z{{-1.0, 1.0, 2.5, 4.0}};
    CHECK(near(
        run(layers::ReLU<double>({.max_value = 1.5, .negative_slope = 0.1, .threshold = 2.0}), z),
        {{-0.3, -0.1, 1.5, 1.5}}));
}

TEST_CASE("ReLU refuses what Keras refuses, naming the option", "[activation][relu]") {
    CHECK_THROWS_WITH(layers::ReLU<float>({.max_value = -1.0}),
                      "ReLU: expected max_value >= 0 and finite, got -1");
    CHECK_THROWS_WITH(layers::ReLU<float>({.negative_slope = -0.5}),
                      "ReLU: expected negative_slope >= 0 and finite, got -0.5");
    CHECK_THROWS_WITH(layers::ReLU<float>({.threshold = -2.0}),
                      "ReLU: expected threshold >= 0 and finite, got -2");
}

TEST_CASE("ReLU reads Keras 3's config, a null max_value included", "[activation][relu]") {
    const auto cfg = nlohmann::json::parse(R"({"name": "re_lu", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                  "registered_name": null},
        "max_value": null, "negative_slope": 0.0, "threshold": 0.0})");
    auto layer = layers::registry<float>::create("ReLU", cfg);
    auto& relu = dynamic_cast<layers::ReLU<float>&>(*layer);
    CHECK_FALSE(relu.max_value().has_value());
    CHECK(layer->get_config()["max_value"].is_null());
    auto six = layers::registry<float>::create(
        "ReLU", {{"name", "relu6"}, {"max_value", 6.0}, {"negative_slope", 0.0}});
    CHECK(six->get_config()["max_value"] == 6.0);
    CHECK_THROWS_WITH(layers::registry<float>::create("ReLU", {{"max_value", "six"}}),
                      Catch::Contains("config key 'max_value'"));
}

TEST_CASE("ReLU's gradient with its ceiling, threshold and slope", "[activation][relu][gradient]") {
    layers::ReLU<double> relu({.max_value = 0.5, .negative_slope = 0.3, .threshold = 0.1});
    relu.build({2, 6});
    check_layer_gradients(relu, random_tensor({3, 2, 6}, 5));
}

TEST_CASE("ELU gives alpha (exp(x) - 1) below zero", "[activation][elu]") {
    const xt::xarray<double> x{{-2.0, -0.5, 0.0, 3.0}};
    const auto e = [](double v) { return std::expm1(v); };
    CHECK(near(run(layers::ELU<double>(), x), {{e(-2.0), e(-0.5), 0.0, 3.0}}));
    CHECK(near(run(layers::ELU<double>({.alpha = 0.5}), x),
               {{0.5 * e(-2.0), 0.5 * e(-0.5), 0.0, 3.0}}));
    layers::Activation<double> by_name("elu");  // the activation by name, alpha 1
    by_name.build({4});
    CHECK(near(by_name.forward(x, false), {{e(-2.0), e(-0.5), 0.0, 3.0}}));
}

TEST_CASE("ELU's gradient for a positive and a negative alpha", "[activation][elu][gradient]") {
    for (double alpha : {1.3, -0.7}) {
        INFO("alpha " << alpha);
        layers::ELU<double> elu({.alpha = alpha});
        elu.build({7});
        check_layer_gradients(elu, random_tensor({4, 7}, 9));
    }
}

TEST_CASE("ELU reads tf.keras's alpha and Keras 3's config without it", "[activation][elu]") {
    auto tf = layers::registry<float>::create("ELU", {{"name", "elu"}, {"alpha", 0.25}});
    CHECK(dynamic_cast<layers::ELU<float>&>(*tf).alpha() == 0.25);
    auto k3 = layers::registry<float>::create("ELU", {{"name", "elu_1"}, {"trainable", true}});
    CHECK(dynamic_cast<layers::ELU<float>&>(*k3).alpha() == 1.0);
    CHECK(tf->get_config()["alpha"] == 0.25);
}

TEST_CASE("Softmax gives Keras's documented values and sums to 1 on its axis",
          "[activation][softmax]") {
    // keras.layers.Softmax's docstring: [1, 2, 1] -> [0.21194157, 0.5761169, 0.21194157]
    const auto y = run(layers::Softmax<double>(), xt::xarray<double>{{1.0, 2.0, 1.0}});
    CHECK(y(0, 0) == Approx(0.21194157).epsilon(1e-7));
    CHECK(y(0, 1) == Approx(0.5761169).epsilon(1e-7));
    CHECK(y(0, 2) == Approx(0.21194157).epsilon(1e-7));

    const xt::xarray<double> x = random_tensor({2, 3, 4, 5}, 3, -4.0, 4.0);
    for (int axis : {1, 2, 3, -1, -2, -3}) {
        INFO("axis " << axis);
        const auto s = run(layers::Softmax<double>({.axis = axis}), x);
        const std::size_t a = std::size_t(axis < 0 ? 4 + axis : axis);
        const xt::xarray<double> sums = xt::sum(s, {a});
        CHECK(xt::allclose(sums, xt::ones_like(sums)));
        // each line along the axis is the softmax of that line
        xt::xarray<double> line = xt::view(x, 1, 2, 3, xt::all());
        if (a == 3) {
            line = xt::exp(line - xt::amax(line)());
            line /= xt::sum(line)();
            CHECK(xt::allclose(xt::view(s, 1, 2, 3, xt::all()), line));
        }
    }
}

TEST_CASE("Softmax's gradient along each axis of the sample", "[activation][softmax][gradient]") {
    for (int axis : {1, 2, -1}) {
        INFO("axis " << axis);
        layers::Softmax<double> softmax({.axis = axis});
        softmax.build({3, 4});
        check_layer_gradients(softmax, random_tensor({2, 3, 4}, 17));
    }
}

TEST_CASE("Softmax refuses the batch axis, axes it lacks and lists of axes",
          "[activation][softmax]") {
    CHECK_THROWS_WITH(layers::Softmax<float>({.axis = 0}),
                      Catch::StartsWith("Softmax: axis 0 is the batch axis"));
    layers::Softmax<float> far({.axis = 3, .name = "far"});
    CHECK_THROWS_WITH(far.build({4, 5}),
                      "layer 'far' (Softmax): axis 3 is not a non-empty axis of inputs "
                      "(None, 4, 5)");
    layers::Softmax<float> below({.axis = -4, .name = "below"});
    CHECK_THROWS_AS(below.build({4, 5}), shape_error);
    auto listed = layers::registry<float>::create("Softmax", {{"axis", {2}}});
    CHECK(dynamic_cast<layers::Softmax<float>&>(*listed).axis() == 2);
    CHECK_THROWS_WITH(layers::registry<float>::create("Softmax", {{"name", "s"}, {"axis", {1, 2}}}),
                      Catch::StartsWith("Softmax 's': config key 'axis' must be one axis"));
    CHECK_THROWS_AS(layers::registry<float>::create("Softmax", {{"axis", 18446744073709551615u}}),
                    value_error);
}

TEST_CASE("A Softmax layer last is fused with crossentropy as Dense's softmax is",
          "[activation][softmax][losses]") {
    // the same weights, once as Dense(3, "softmax"), once as Dense(3) + Softmax(): a training
    // step gives the same bits when both take the fused softmax-crossentropy gradient
    const xt::xarray<float> x = xt::cast<float>(random_tensor({8, 5}, 1));
    xt::xarray<float> y = xt::zeros<float>({8, 3});
    for (std::size_t i = 0; i < 8; ++i) y(i, i % 3) = 1.0f;
    auto fit_once = [&](bool separate) {
        utils::set_random_seed(4);
        Sequential m;
        m.add(Input({5}));
        if (separate) {
            m.add(layers::Dense(3));
            m.add(layers::Softmax());
        } else {
            m.add(layers::Dense(3, "softmax"));
        }
        m.compile("sgd", "categorical_crossentropy");
        const auto logs = m.train_on_batch(x, y);
        return std::make_pair(logs, m.get_weights());
    };
    const auto [fused_logs, fused_w] = fit_once(false);
    const auto [layer_logs, layer_w] = fit_once(true);
    CHECK(fused_logs == layer_logs);
    REQUIRE(fused_w.size() == layer_w.size());
    for (std::size_t i = 0; i < fused_w.size(); ++i) CHECK(fused_w[i] == layer_w[i]);
}

TEST_CASE("PReLU scales the negative values by its learned alpha, shared along shared_axes",
          "[activation][prelu]") {
    // (2, 3) per sample, alpha shared along axis 1 (the rows): one alpha per column
    layers::PReLU<double> p(
        {.alpha_initializer = initializers::Constant(0.25), .shared_axes = {1}});
    p.build({2, 3});
    REQUIRE(p.params().size() == 1);
    CHECK(p.params()[0]->value.shape() == std::vector<std::size_t>{1, 3});
    p.params()[0]->value = xt::xarray<double>{{0.1, 0.2, 0.3}};
    const xt::xarray<double> x{{{-1.0, -2.0, 3.0}, {4.0, -5.0, -6.0}}};
    CHECK(near(p.forward(x, false), {{{-0.1, -0.4, 3.0}, {4.0, -1.0, -1.8}}}));
    // Keras's default: alpha zeros, the layer starts as a ReLU
    CHECK(near(run(layers::PReLU<double>(), x), {{{0.0, 0.0, 3.0}, {4.0, 0.0, 0.0}}}));
}

TEST_CASE("PReLU has Keras's weight count: one alpha per channel after a Conv2D",
          "[activation][prelu]") {
    backend::clear_session();  // Keras's automatic names from their start
    Sequential m;
    m.add(layers::Conv2D(32, {3, 3}));
    m.add(layers::PReLU({.shared_axes = {1, 2}}));
    m.add(layers::PReLU());
    m.build({30, 30, 1});
    CHECK(m.layers()[1]->count_params() == 32);
    CHECK(m.layers()[2]->count_params() == 28 * 28 * 32);
    CHECK(m.layers()[1]->name() == "p_re_lu");
}

TEST_CASE("PReLU's gradients, alpha's included, and 0 at x = 0 as Keras's relu gives",
          "[activation][prelu][gradient]") {
    layers::PReLU<double> p(
        {.alpha_initializer = initializers::RandomUniform(0.1, 0.5, 3), .shared_axes = {2}});
    p.build({3, 4});
    check_layer_gradients(p, random_tensor({5, 3, 4}, 11));
    layers::PReLU<double> q({.alpha_initializer = initializers::Constant(0.5)});
    q.build({2});
    const xt::xarray<double> x{{0.0, -2.0}};
    q.forward(x, true);
    CHECK((q.backward(xt::xarray<double>{{1.0, 1.0}}, true) == xt::xarray<double>{{0.0, 0.5}}));
    CHECK((q.params()[0]->grad == xt::xarray<double>{0.0, -2.0}));
}

TEST_CASE("PReLU reads Keras 3's config and refuses shared axes the input lacks",
          "[activation][prelu]") {
    const nlohmann::json cfg = {{"name", "p_re_lu"},
                                {"trainable", true},
                                {"dtype", "float32"},
                                {"alpha_initializer",
                                 {{"module", "keras.initializers"},
                                  {"class_name", "Constant"},
                                  {"config", {{"value", 0.25}}},
                                  {"registered_name", nullptr}}},
                                {"alpha_regularizer", nullptr},
                                {"alpha_constraint", nullptr},
                                {"shared_axes", {1, 2}}};
    auto layer = layers::registry<float>::create("PReLU", cfg);
    const auto& p = dynamic_cast<layers::PReLU<float>&>(*layer);
    CHECK(p.options().shared_axes == std::vector<int>{1, 2});
    CHECK(layer->get_config()["shared_axes"] == nlohmann::json({1, 2}));
    CHECK(layers::PReLU<float>().get_config()["shared_axes"].is_null());
    auto single = cfg;
    single["shared_axes"] = 1;  // Keras takes one axis as an integer too
    CHECK(dynamic_cast<layers::PReLU<float>&>(*layers::registry<float>::create("PReLU", single))
              .options()
              .shared_axes == std::vector<int>{1});
    layers::PReLU<float> far({.shared_axes = {3}});
    CHECK_THROWS_WITH(far.build({4, 5}), Catch::Contains("shared axis 3 does not fit input") &&
                                             Catch::Contains("expected axes 1 to 2"));
    auto bad = cfg;
    bad["shared_axes"] = {0};
    CHECK_THROWS_WITH(layers::registry<float>::create("PReLU", bad),
                      Catch::Contains("config key 'shared_axes' must be an axis (1 to 64)"));
    bad = cfg;
    bad["alpha_constraint"] = "non_neg";
    CHECK_THROWS_WITH(layers::registry<float>::create("PReLU", bad),
                      Catch::Contains("alpha_constraint"));
}
