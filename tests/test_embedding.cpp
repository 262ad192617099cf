// Embedding: rows of the table by index, Keras's cast of the indices, refused indices, the
// table's gradient (repeated indices add up, the same bits on 1 and 2 threads), Keras's configs,
// and a model that learns through it.
#include "gradient_check.hpp"
#include "thread_count.hpp"

#include <cstring>
#include <limits>

using namespace xkeras;
using testing::random_tensor;

TEST_CASE("Embedding gives row i of its table for index i", "[embedding]") {
    // keras.io's example: Embedding(1000, 64) on (32, 10) integers gives (32, 10, 64)
    layers::Embedding<float> big(1000, 64);
    big.build({10});
    CHECK(big.output_shape() == shape_t{10, 64});
    CHECK(big.get_weights()[0].shape() == std::vector<std::size_t>{1000, 64});
    // the default initializer is Keras's "uniform": RandomUniform(-0.05, 0.05)
    CHECK(xt::amax(xt::abs(big.get_weights()[0]))() <= 0.05f);
    CHECK(xt::amax(xt::abs(big.get_weights()[0]))() > 0.04f);

    layers::Embedding<double> e(4, 2);
    e.build({3});
    e.set_weights({xt::xarray<double>{{0, 1}, {10, 11}, {20, 21}, {30, 31}}});
    // indices cast toward zero, as Keras casts a float input to int32
    const xt::xarray<double> x{{3, 0, 1}, {2.9, -0.5, 1}};
    const xt::xarray<double> expected{{{30, 31}, {0, 1}, {10, 11}}, {{20, 21}, {0, 1}, {10, 11}}};
    CHECK((e.forward(x, false) == expected));
}

TEST_CASE("Embedding refuses indices outside its table, naming them", "[embedding]") {
    layers::Embedding<float> e(5, 2, {.name = "words"});
    e.build({2, 3});
    xt::xarray<float> x = xt::zeros<float>({2, 2, 3});
    x(1, 0, 2) = 5;
    CHECK_THROWS_WITH(e.forward(x, false),
                      "layer 'words' (Embedding): index 5 at (1, 0, 2) of the "
                      "input is outside [0, 5) (input_dim 5)");
    x(1, 0, 2) = -1;
    CHECK_THROWS_WITH(e.forward(x, false),
                      "layer 'words' (Embedding): index -1 at (1, 0, 2) of "
                      "the input is outside [0, 5) (input_dim 5)");
    x(1, 0, 2) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(e.forward(x, false), value_error);
    CHECK_THROWS_WITH(layers::Embedding<float>(0, 3),
                      "Embedding: expected a positive integer for `input_dim`, got 0");
}

TEST_CASE("Embedding's gradient adds up the rows of repeated indices", "[embedding][gradient]") {
    layers::Embedding<double> e(4, 3);
    e.build({5});
    const xt::xarray<double> x{{1, 3, 1, 1, 0}, {3, 3, 2, 0, 1}};
    const auto dy = random_tensor({2, 5, 3}, 4);
    e.forward(x, true);
    const xt::xarray<double> dx = e.backward(dy, true);
    CHECK((dx == xt::zeros<double>({2, 5})));  // indices have no gradient
    xt::xarray<double> expected = xt::zeros<double>({4, 3});
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t t = 0; t < 5; ++t)
            xt::view(expected, std::size_t(x(n, t))) += xt::view(dy, n, t);
    CHECK(xt::allclose(e.params()[0]->grad, expected, 1e-15, 1e-15));
    testing::check_layer_gradients(e, x, 1e-6, 7, false);
}

TEST_CASE("Embedding's gradient has the same bits on 1 and 2 threads", "[embedding][threads]") {
    layers::Embedding<float> e(50, 64);
    e.build({30});
    const auto x = xt::cast<float>(xt::floor(random_tensor({64, 30}, 5, 0.0, 50.0)));
    const auto dy = xt::cast<float>(random_tensor({64, 30, 64}, 6));
    auto gradient = [&](int threads) {
        testing::scoped_threads scope(threads);
        e.forward(x, true);
        e.backward(dy, false);
        return xt::xarray<float>(e.params()[0]->grad);
    };
    const auto one = gradient(1), two = gradient(2);
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

TEST_CASE("Embedding reads Keras 3's and Keras 2's configs", "[embedding][config]") {
    const auto keras3 = nlohmann::json::parse(R"({"name": "embedding", "trainable": true,
        "dtype": "float32", "input_dim": 20000, "output_dim": 128,
        "embeddings_initializer": {"module": "keras.initializers", "class_name": "RandomUniform",
            "config": {"seed": null, "minval": -0.05, "maxval": 0.05}, "registered_name": null},
        "embeddings_regularizer": null, "activity_regularizer": null,
        "embeddings_constraint": null, "mask_zero": false})");
    auto layer = layers::registry<float>::create("Embedding", keras3);
    auto& e = dynamic_cast<layers::Embedding<float>&>(*layer);
    CHECK(e.input_dim() == 20000);
    CHECK(e.output_dim() == 128);
    const auto out = e.get_config();
    for (const char* key : {"name", "input_dim", "output_dim", "mask_zero"})
        CHECK(out[key] == keras3[key]);
    CHECK(out["embeddings_initializer"]["class_name"] == "RandomUniform");

    // tf.keras 2's: input_length, and the initializer by its short name
    const auto keras2 = nlohmann::json::parse(R"({"name": "embedding_1", "trainable": true,
        "batch_input_shape": [null, 40], "dtype": "float32", "input_dim": 41, "output_dim": 8,
        "embeddings_initializer": "uniform", "embeddings_regularizer": null,
        "activity_regularizer": null, "embeddings_constraint": null, "mask_zero": false,
        "input_length": 40})");
    CHECK(layers::registry<float>::create("Embedding", keras2)->name() == "embedding_1");

    // Keras 1's Embedding (`init`) is still told apart from Keras 2's and 3's
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Embedding", "config": {"input_dim": 5, "output_dim": 2,
         "init": "uniform"}}]}})"),
                      Catch::Contains("has Keras 1 options"));
    CHECK_NOTHROW(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3]}},
        {"class_name": "Embedding", "config": {"input_dim": 5, "output_dim": 2}}]}})"));

    auto masked = keras3;
    masked["mask_zero"] = true;
    CHECK(layers::registry<float>::create("Embedding", masked)->get_config()["mask_zero"] == true);
    auto constrained = keras3;
    constrained["embeddings_constraint"] = "non_neg";
    CHECK_THROWS_WITH(layers::registry<float>::create("Embedding", constrained),
                      "Embedding 'embedding': config key 'embeddings_constraint' = \"non_neg\" is "
                      "not supported by xkeras");
}

TEST_CASE("A model learns through an Embedding", "[embedding][model]") {
    // whether a sequence of 12 indices below 10 holds the index 7: a question the mean of
    // learned rows answers, and the raw indices do not
    utils::set_random_seed(5);
    const std::size_t n = 512, steps = 12;
    const auto raw = xt::floor(random_tensor({n, steps}, 8, 0.0, 10.0));
    xt::xarray<float> x = xt::cast<float>(raw);
    xt::xarray<float> y = xt::zeros<float>({n, std::size_t(1)});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t t = 0; t < steps; ++t)
            if (x(i, t) == 7) y(i, 0) = 1;
    Sequential m{Input({steps}), layers::Embedding(10, 8), layers::GlobalAveragePooling1D(),
                 layers::Dense(1, "sigmoid")};
    m.compile(optimizers::Adam(1e-2), "binary_crossentropy", {"accuracy"});
    const auto history = m.fit(x, y, {.batch_size = 32, .epochs = 40, .verbose = 0});
    CHECK(history["accuracy"].back() > 0.95);
}
