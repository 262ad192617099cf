// TimeDistributed: the wrapped layer applied to every step with the same weights, against the
// layer run on each step apart; keras.io's Conv2D-over-frames shapes and count; a Dropout inside
// (its masks differ per step, its stream saved with the model); the weights' names, Keras 3's
// config, and refusals. The every-layer suite gives it the gradient check and the round trips.
#include "gradient_check.hpp"
#include "temp_dir.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

TEST_CASE("TimeDistributed applies its layer to every step with the same weights",
          "[time_distributed]") {
    utils::set_random_seed(3);
    layers::TimeDistributed<double> td(layers::Dense<double>(4, "tanh"));
    td.build({5, 3});
    CHECK(td.output_shape() == shape_t{5, 4});
    CHECK(td.count_params() == 3 * 4 + 4);
    const xt::xarray<double> x = random_tensor({2, 5, 3}, 7);
    const xt::xarray<double> y = td.forward(x, false);

    layers::Dense<double> alone(4, "tanh");
    alone.build({3});
    alone.set_weights(td.get_weights().data(), 2);
    for (std::size_t t = 0; t < 5; ++t) {
        const xt::xarray<double> step = xt::view(x, xt::all(), t, xt::all());
        const xt::xarray<double> expected = alone.forward(step, false);
        const xt::xarray<double> got = xt::view(y, xt::all(), t, xt::all());
        INFO("step " << t);
        CHECK(xt::allclose(got, expected, 0.0, 0.0));
    }
    check_layer_gradients(td, x);
}

TEST_CASE("TimeDistributed(Conv2D) over frames has keras.io's shapes and count",
          "[time_distributed]") {
    // keras.io: 10 frames of 128x128 RGB, TimeDistributed(Conv2D(64, (3, 3))) gives
    // (None, 10, 126, 126, 64)
    backend::clear_session();  // Keras's automatic names from their start
    Sequential m{Input({10, 128, 128, 3}), layers::TimeDistributed(layers::Conv2D(64, {3, 3}))};
    CHECK(m.output_shape() == shape_t{10, 126, 126, 64});
    CHECK(m.count_params() == 3 * 3 * 3 * 64 + 64);
    const auto names = [&] {
        std::vector<std::string> out;
        for (auto* p : m.layers()[0]->params()) out.push_back(p->name);
        return out;
    }();
    CHECK(names == std::vector<std::string>{"time_distributed/conv2d/kernel",
                                            "time_distributed/conv2d/bias"});
}

TEST_CASE("TimeDistributed(Dropout) draws a mask per step and saves its stream",
          "[time_distributed][dropout]") {
    utils::set_random_seed(8);
    Sequential m{Input({6, 50}), layers::TimeDistributed(layers::Dropout(0.5, {.seed = 4})),
                 layers::Flatten(), layers::Dense(2, "softmax")};
    m.compile("adam", "categorical_crossentropy");
    const xt::xarray<float> x = xt::ones<float>({4, 6, 50});
    xt::xarray<float> y = xt::zeros<float>({4, 2});
    for (std::size_t i = 0; i < 4; ++i) y(i, i % 2) = 1.0f;
    auto& td = *m.layers()[0];
    const xt::xarray<float> masked = td.forward(x, true);
    // the steps of a sample get masks of their own
    CHECK((xt::view(masked, 0, 0, xt::all()) != xt::view(masked, 0, 1, xt::all())));
    CHECK(td.training_state()["calls"] == 1);

    // an exact resume: the stream state travels with the model file
    testing::temp_dir d("xkeras-td");
    m.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
    m.save(d / "td.xk");
    auto loaded = load_model(d / "td.xk");
    m.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
    loaded.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
    const auto a = m.get_weights(), b = loaded.get_weights();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
}

TEST_CASE("TimeDistributed reads Keras 3's config and refuses what it cannot wrap",
          "[time_distributed]") {
    const nlohmann::json k3 = {
        {"name", "time_distributed"},
        {"trainable", true},
        {"dtype", "float32"},
        {"layer",
         {{"module", "keras.layers"},
          {"class_name", "Dense"},
          {"config", {{"name", "dense"}, {"units", 8}, {"activation", "relu"}}},
          {"registered_name", nullptr}}}};
    auto layer = layers::registry<float>::create("TimeDistributed", k3);
    const auto& td = dynamic_cast<layers::TimeDistributed<float>&>(*layer);
    CHECK(td.layer().class_name() == "Dense");
    CHECK(td.layer().name() == "dense");
    const auto written = layer->get_config();
    CHECK(written["layer"]["class_name"] == "Dense");
    CHECK(written["layer"]["config"]["units"] == 8);

    auto unknown = k3;
    unknown["layer"]["class_name"] = "ConvLSTM2D";
    CHECK_THROWS_WITH(layers::registry<float>::create("TimeDistributed", unknown),
                      Catch::Contains("config key 'layer': layer class 'ConvLSTM2D' is not "
                                      "supported by xkeras"));
    auto bad = k3;
    bad["layer"] = "dense";
    CHECK_THROWS_WITH(layers::registry<float>::create("TimeDistributed", bad),
                      Catch::Contains("config key 'layer' must be a layer"));
    layers::TimeDistributed flat(layers::Dense(2));
    CHECK_THROWS_WITH(flat.build({7}), Catch::Contains("TimeDistributed") &&
                                           Catch::Contains("rank 3 or more, got (None, 7)"));
    layers::TimeDistributed conv(layers::Conv2D(2, {3, 3}));
    CHECK_THROWS_AS(conv.build({4, 8, 3}), shape_error);  // a frame of (8, 3) is no image
}
