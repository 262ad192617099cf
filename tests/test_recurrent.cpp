// SimpleRNN, LSTM and GRU: outputs against the equations written out in plain loops (every
// step's output or the last, forwards and backwards, each activation, no bias), gradients, the
// Orthogonal initializer and LSTM's forget gate bias, the same bits on 1 and 2 threads, Keras 3's
// and tf.keras 2's configs and refusals.
#include "gradient_check.hpp"
#include "thread_count.hpp"

#include <cmath>
#include <cstring>

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

double sigmoid(double x) {
    return 1.0 / (1.0 + std::exp(-x));
}

/// a a^T of a (rows x cols) matrix, or a^T a with `columns`.
xt::xarray<double> gram(const xt::xarray<double>& a, bool columns) {
    const std::size_t rows = a.shape()[0], cols = a.shape()[1];
    const std::size_t m = columns ? cols : rows, len = columns ? rows : cols;
    xt::xarray<double> g = xt::zeros<double>({m, m});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t k = 0; k < len; ++k)
                g(i, j) += columns ? a(k, i) * a(k, j) : a(i, k) * a(j, k);
    return g;
}

double act(const std::string& name, double x) {
    if (name == "tanh") return std::tanh(x);
    if (name == "sigmoid") return sigmoid(x);
    if (name == "relu") return x > 0 ? x : 0.0;
    return x;
}

/// The LSTM of Keras's documentation, sample by sample and step by step: gates i, f, c, o in
/// the kernels' columns in that order.
xt::xarray<double> lstm_reference(const xt::xarray<double>& x, const xt::xarray<double>& W,
                                  const xt::xarray<double>& U, const xt::xarray<double>& b,
                                  const std::string& activation, bool sequences, bool backwards) {
    const std::size_t n = x.shape()[0], steps = x.shape()[1], F = x.shape()[2];
    const std::size_t u = U.shape()[0];
    xt::xarray<double> y = sequences ? xt::xarray<double>(xt::zeros<double>({n, steps, u}))
                                     : xt::zeros<double>({n, u});
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> h(u, 0.0), c(u, 0.0);
        for (std::size_t t = 0; t < steps; ++t) {
            const std::size_t s = backwards ? steps - 1 - t : t;
            std::vector<double> z(4 * u);
            for (std::size_t k = 0; k < 4 * u; ++k) {
                double v = b.size() ? b(k) : 0.0;
                for (std::size_t f = 0; f < F; ++f) v += x(i, s, f) * W(f, k);
                for (std::size_t j = 0; j < u; ++j) v += h[j] * U(j, k);
                z[k] = v;
            }
            for (std::size_t j = 0; j < u; ++j) {
                const double ig = sigmoid(z[j]), fg = sigmoid(z[u + j]);
                const double g = act(activation, z[2 * u + j]), o = sigmoid(z[3 * u + j]);
                c[j] = fg * c[j] + ig * g;
                h[j] = o * act(activation, c[j]);
            }
            if (sequences)
                for (std::size_t j = 0; j < u; ++j) y(i, t, j) = h[j];
        }
        if (!sequences)
            for (std::size_t j = 0; j < u; ++j) y(i, j) = h[j];
    }
    return y;
}

/// Keras's GRU (reset_after): gates z, r, h in the kernels' columns in that order, the bias's
/// first row for the input, its second for the previous output.
xt::xarray<double> gru_reference(const xt::xarray<double>& x, const xt::xarray<double>& W,
                                 const xt::xarray<double>& U, const xt::xarray<double>& b,
                                 const std::string& activation, bool sequences, bool backwards) {
    const std::size_t n = x.shape()[0], steps = x.shape()[1], F = x.shape()[2];
    const std::size_t u = U.shape()[0];
    xt::xarray<double> y = sequences ? xt::xarray<double>(xt::zeros<double>({n, steps, u}))
                                     : xt::zeros<double>({n, u});
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> h(u, 0.0);
        for (std::size_t t = 0; t < steps; ++t) {
            const std::size_t s = backwards ? steps - 1 - t : t;
            std::vector<double> xp(3 * u), hp(3 * u);
            for (std::size_t k = 0; k < 3 * u; ++k) {
                xp[k] = b.size() ? b(0, k) : 0.0;
                hp[k] = b.size() ? b(1, k) : 0.0;
                for (std::size_t f = 0; f < F; ++f) xp[k] += x(i, s, f) * W(f, k);
                for (std::size_t j = 0; j < u; ++j) hp[k] += h[j] * U(j, k);
            }
            for (std::size_t j = 0; j < u; ++j) {
                const double z = sigmoid(xp[j] + hp[j]), r = sigmoid(xp[u + j] + hp[u + j]);
                const double g = act(activation, xp[2 * u + j] + r * hp[2 * u + j]);
                h[j] = z * h[j] + (1 - z) * g;
            }
            if (sequences)
                for (std::size_t j = 0; j < u; ++j) y(i, t, j) = h[j];
        }
        if (!sequences)
            for (std::size_t j = 0; j < u; ++j) y(i, j) = h[j];
    }
    return y;
}

/// Keras's SimpleRNN: h = act(x W + b + h_prev U).
xt::xarray<double> simple_rnn_reference(const xt::xarray<double>& x, const xt::xarray<double>& W,
                                        const xt::xarray<double>& U, const xt::xarray<double>& b,
                                        const std::string& activation, bool sequences,
                                        bool backwards) {
    const std::size_t n = x.shape()[0], steps = x.shape()[1], F = x.shape()[2];
    const std::size_t u = U.shape()[0];
    xt::xarray<double> y = sequences ? xt::xarray<double>(xt::zeros<double>({n, steps, u}))
                                     : xt::zeros<double>({n, u});
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> h(u, 0.0), next(u);
        for (std::size_t t = 0; t < steps; ++t) {
            const std::size_t s = backwards ? steps - 1 - t : t;
            for (std::size_t k = 0; k < u; ++k) {
                double v = b.size() ? b(k) : 0.0;
                for (std::size_t f = 0; f < F; ++f) v += x(i, s, f) * W(f, k);
                for (std::size_t j = 0; j < u; ++j) v += h[j] * U(j, k);
                next[k] = act(activation, v);
            }
            h = next;
            if (sequences)
                for (std::size_t j = 0; j < u; ++j) y(i, t, j) = h[j];
        }
        if (!sequences)
            for (std::size_t j = 0; j < u; ++j) y(i, j) = h[j];
    }
    return y;
}

}  // namespace

TEST_CASE("SimpleRNN computes Keras's equations", "[simple_rnn]") {
    struct Case {
        std::string activation;
        bool sequences, backwards, bias;
    };
    const Case cases[] = {{"tanh", false, false, true},
                          {"tanh", true, true, true},
                          {"sigmoid", true, false, false},
                          {"relu", false, true, true},
                          {"linear", true, false, true}};
    for (const auto& c : cases) {
        INFO("activation " << c.activation << ", return_sequences " << c.sequences
                           << ", go_backwards " << c.backwards << ", use_bias " << c.bias);
        layers::SimpleRNN<double> rnn(4, {.activation = c.activation,
                                          .use_bias = c.bias,
                                          .return_sequences = c.sequences,
                                          .go_backwards = c.backwards});
        rnn.build({5, 3});
        CHECK(rnn.output_shape() == (c.sequences ? shape_t{5, 4} : shape_t{4}));
        auto w = rnn.get_weights();
        REQUIRE(w.size() == (c.bias ? 3u : 2u));
        w[0] = random_tensor({3, 4}, 1, -0.5, 0.5);
        w[1] = random_tensor({4, 4}, 2, -0.5, 0.5);
        if (c.bias) w[2] = random_tensor({4}, 3, -0.5, 0.5);
        rnn.set_weights(w);
        const auto x = random_tensor({3, 5, 3}, 4);
        const auto expected =
            simple_rnn_reference(x, w[0], w[1], c.bias ? w[2] : xt::xarray<double>(), c.activation,
                                 c.sequences, c.backwards);
        CHECK(xt::allclose(rnn.forward(x, false), expected, 1e-12, 1e-12));
        check_layer_gradients(rnn, x);
    }
    layers::SimpleRNN<float> keras(32);
    keras.build({28, 28});
    CHECK(keras.count_params() == 1952);  // Keras's summary of SimpleRNN(32) on 28 features
    CHECK(keras.name().rfind("simple_rnn", 0) == 0);
    // the recurrent kernel is orthogonal, the bias zeros
    const auto w = keras.get_weights();
    CHECK(xt::allclose(gram(xt::cast<double>(w[1]), true), xt::eye<double>(32), 1e-5, 1e-5));
    CHECK(xt::all(xt::equal(w[2], 0.0f)));
}

TEST_CASE("SimpleRNN reads Keras 3's config and refuses what it lacks", "[simple_rnn][config]") {
    const auto k3 = nlohmann::json::parse(R"({"name": "simple_rnn", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
        "registered_name": null}, "return_sequences": true, "return_state": false,
        "go_backwards": false, "stateful": false, "unroll": false, "zero_output_for_mask": false,
        "units": 16, "activation": "relu", "use_bias": true,
        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
        "config": {"seed": null}, "registered_name": null},
        "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal",
        "config": {"seed": null, "gain": 1.0}, "registered_name": null},
        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
        "registered_name": null}, "kernel_regularizer": null, "recurrent_regularizer": null,
        "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
        "recurrent_constraint": null, "bias_constraint": null, "dropout": 0.0,
        "recurrent_dropout": 0.0, "seed": null})");
    auto layer = layers::registry<float>::create("SimpleRNN", k3);
    auto& rnn = dynamic_cast<layers::SimpleRNN<float>&>(*layer);
    CHECK(rnn.units() == 16);
    CHECK(rnn.return_sequences());
    const auto out = layer->get_config();
    for (const char* key : {"name", "units", "activation", "return_sequences", "go_backwards",
                            "use_bias", "dropout", "recurrent_dropout", "seed"})
        CHECK(out[key] == k3[key]);
    CHECK(!out.contains("recurrent_activation"));  // a SimpleRNN has no gates
    auto cfg = k3;
    cfg["activation"] = "softmax";
    CHECK_THROWS_WITH(layers::registry<float>::create("SimpleRNN", cfg),
                      "SimpleRNN 'simple_rnn': activation 'softmax' is not supported (tanh, "
                      "sigmoid, relu or linear)");
    cfg = k3;
    cfg["recurrent_activation"] = "sigmoid";  // not a SimpleRNN key
    CHECK_THROWS_WITH(layers::registry<float>::create("SimpleRNN", cfg),
                      Catch::Contains("config key 'recurrent_activation' is an option xkeras "
                                      "does not know"));
    cfg = k3;
    cfg["go_backwards"] = true;
    cfg["recurrent_dropout"] = 0.5;
    CHECK_THROWS_WITH(layers::registry<float>::create("SimpleRNN", cfg),
                      Catch::Contains("'recurrent_dropout' = 0.5 is not supported"));
    cfg = k3;
    cfg["dropout"] = 1.5;
    CHECK_THROWS_WITH(layers::registry<float>::create("SimpleRNN", cfg),
                      Catch::Contains("expected `dropout` in [0, 1], got 1.5"));
}

TEST_CASE("LSTM computes Keras's equations", "[lstm]") {
    struct Case {
        std::string activation;
        bool sequences, backwards, bias;
    };
    const Case cases[] = {{"tanh", false, false, true},   {"tanh", true, false, true},
                          {"tanh", true, true, true},     {"tanh", false, true, false},
                          {"sigmoid", true, false, true}, {"relu", false, false, true},
                          {"linear", true, true, true}};
    for (const auto& c : cases) {
        INFO("activation " << c.activation << ", return_sequences " << c.sequences
                           << ", go_backwards " << c.backwards << ", use_bias " << c.bias);
        layers::LSTM<double> lstm(5, {.activation = c.activation,
                                      .use_bias = c.bias,
                                      .return_sequences = c.sequences,
                                      .go_backwards = c.backwards});
        lstm.build({6, 3});
        CHECK(lstm.output_shape() == (c.sequences ? shape_t{6, 5} : shape_t{5}));
        auto w = lstm.get_weights();
        w[0] = random_tensor({3, 20}, 1, -0.5, 0.5);
        w[1] = random_tensor({5, 20}, 2, -0.5, 0.5);
        if (c.bias) w[2] = random_tensor({20}, 3, -0.5, 0.5);
        lstm.set_weights(w);
        const auto x = random_tensor({4, 6, 3}, 4);
        const auto expected = lstm_reference(x, w[0], w[1], c.bias ? w[2] : xt::xarray<double>(),
                                             c.activation, c.sequences, c.backwards);
        CHECK(xt::allclose(lstm.forward(x, false), expected, 1e-12, 1e-12));
        check_layer_gradients(lstm, x);
    }
}

TEST_CASE("LSTM's weights have Keras's shapes and initial values", "[lstm]") {
    layers::LSTM<float> lstm(128);
    lstm.build({28, 28});
    const auto w = lstm.get_weights();
    REQUIRE(w.size() == 3);
    CHECK(w[0].shape() == std::vector<std::size_t>{28, 512});
    CHECK(w[1].shape() == std::vector<std::size_t>{128, 512});
    CHECK(w[2].shape() == std::vector<std::size_t>{512});
    CHECK(lstm.count_params() == 80384);  // Keras's summary of LSTM(128) on 28 features
    // unit_forget_bias: ones for the forget gate, zeros elsewhere
    for (std::size_t k = 0; k < 512; ++k) {
        INFO("bias " << k);
        CHECK(w[2](k) == (k >= 128 && k < 256 ? 1.0f : 0.0f));
    }
    // the recurrent kernel's rows are orthonormal (a wide 128 x 512 matrix)
    CHECK(xt::allclose(gram(xt::cast<double>(w[1]), false), xt::eye<double>(128), 1e-5, 1e-5));
    layers::LSTM<float> plain(4, {.unit_forget_bias = false});
    plain.build({3, 2});
    CHECK(xt::all(xt::equal(plain.get_weights()[2], 0.0f)));
}

TEST_CASE("Orthogonal gives orthonormal columns or rows, times its gain", "[lstm][initializers]") {
    for (const shape_t& shape : {shape_t{9, 4}, shape_t{4, 9}, shape_t{3, 2, 5}, shape_t{6, 6}}) {
        INFO("shape " << shape_str(shape));
        xt::xarray<double> w(shape);
        initializers::Orthogonal(2.0, 7).fill(w.data(), shape);
        const std::size_t cols = shape.back(), rows = w.size() / cols;
        w.reshape({rows, cols});
        CHECK(xt::allclose(gram(w, rows >= cols), 4.0 * xt::eye<double>(std::min(rows, cols)),
                           1e-12, 1e-12));
    }
    xt::xarray<float> a = xt::zeros<float>({5, 5}), b = xt::zeros<float>({5, 5});
    initializers::Orthogonal(1.0, 3).fill(a.data(), {5, 5});
    initializers::Orthogonal(1.0, 3).fill(b.data(), {5, 5});
    CHECK((a == b));  // a seed gives the same matrix
    CHECK_THROWS_WITH(initializers::Orthogonal().fill(a.data(), {70000, 70000}),
                      Catch::Contains("is too large to orthogonalise"));
}

TEST_CASE("LSTM reads Keras 3's and tf.keras 2's configs and refuses what it lacks",
          "[lstm][config]") {
    // tf.keras 2.4's, from ../shared/keras_files/l2_01_kotlindl_lstm/model.json
    const auto tf2 = nlohmann::json::parse(R"({"name": "lstm_3", "trainable": true,
        "batch_input_shape": [null, 40, 41], "dtype": "float32", "return_sequences": true,
        "return_state": false, "go_backwards": false, "stateful": false, "unroll": false,
        "time_major": false, "units": 64, "activation": "tanh", "recurrent_activation": "sigmoid",
        "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform",
        "config": {"seed": null}}, "recurrent_initializer": {"class_name": "Orthogonal",
        "config": {"gain": 1.0, "seed": null}}, "bias_initializer": {"class_name": "Zeros",
        "config": {}}, "unit_forget_bias": true, "kernel_regularizer": null,
        "recurrent_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
        "kernel_constraint": null, "recurrent_constraint": null, "bias_constraint": null,
        "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2})");
    auto layer = layers::registry<float>::create("LSTM", tf2);
    auto& lstm = dynamic_cast<layers::LSTM<float>&>(*layer);
    CHECK(lstm.units() == 64);
    CHECK(lstm.options().return_sequences);
    CHECK(lstm.options().recurrent_initializer.class_name == "Orthogonal");
    const auto out = lstm.get_config();
    for (const char* key : {"name", "units", "activation", "recurrent_activation",
                            "return_sequences", "go_backwards", "use_bias", "unit_forget_bias"})
        CHECK(out[key] == tf2[key]);
    for (const char* key : {"class_name", "config"})  // written in Keras 3's form
        CHECK(out["recurrent_initializer"][key] == tf2["recurrent_initializer"][key]);
    // absent keys take Keras's defaults
    const auto least = layers::registry<float>::create("LSTM", {{"units", 2}});
    CHECK(least->get_config()["activation"] == "tanh");
    CHECK(least->get_config()["recurrent_activation"] == "sigmoid");

    auto refused = [&](const char* key, nlohmann::json value) {
        auto cfg = tf2;
        cfg[key] = std::move(value);
        return layers::registry<float>::create("LSTM", cfg);
    };
    CHECK_THROWS_WITH(refused("return_state", true),
                      "LSTM 'lstm_3': config key 'return_state' = true is not supported by xkeras "
                      "(only false)");
    CHECK_THROWS_WITH(refused("recurrent_dropout", 0.2),
                      "LSTM 'lstm_3': config key 'recurrent_dropout' = 0.2 is not supported by "
                      "xkeras (only 0.0)");
    CHECK_THROWS_WITH(refused("stateful", true), Catch::Contains("'stateful' = true"));
    CHECK_THROWS_WITH(refused("recurrent_activation", "hard_sigmoid"),
                      "LSTM 'lstm_3': recurrent_activation 'hard_sigmoid' is not supported (only "
                      "sigmoid, Keras's default)");
    CHECK_THROWS_WITH(refused("activation", "softmax"),
                      "LSTM 'lstm_3': activation 'softmax' is not supported (tanh, sigmoid, relu "
                      "or linear)");
    CHECK_THROWS_WITH(layers::LSTM<float>(0),
                      "LSTM: expected a positive integer for `units`, got 0");
    layers::LSTM<float> flat(4, {.name = "flat"});
    CHECK_THROWS_WITH(flat.build({8}),
                      "layer 'flat' (LSTM) expects inputs of shape (batch, steps, features) with "
                      "at least one step and one feature, got (None, 8)");
}

TEST_CASE("GRU computes Keras's equations (reset_after)", "[gru]") {
    struct Case {
        std::string activation;
        bool sequences, backwards, bias;
    };
    const Case cases[] = {{"tanh", false, false, true},
                          {"tanh", true, true, true},
                          {"tanh", true, false, false},
                          {"relu", false, true, true},
                          {"sigmoid", true, false, true}};
    for (const auto& c : cases) {
        INFO("activation " << c.activation << ", return_sequences " << c.sequences
                           << ", go_backwards " << c.backwards << ", use_bias " << c.bias);
        layers::GRU<double> gru(4, {.activation = c.activation,
                                    .use_bias = c.bias,
                                    .return_sequences = c.sequences,
                                    .go_backwards = c.backwards});
        gru.build({5, 3});
        auto w = gru.get_weights();
        w[0] = random_tensor({3, 12}, 1, -0.5, 0.5);
        w[1] = random_tensor({4, 12}, 2, -0.5, 0.5);
        if (c.bias) w[2] = random_tensor({2, 12}, 3, -0.5, 0.5);
        gru.set_weights(w);
        const auto x = random_tensor({3, 5, 3}, 4);
        const auto expected = gru_reference(x, w[0], w[1], c.bias ? w[2] : xt::xarray<double>(),
                                            c.activation, c.sequences, c.backwards);
        CHECK(xt::allclose(gru.forward(x, false), expected, 1e-12, 1e-12));
        check_layer_gradients(gru, x);
    }
    layers::GRU<float> keras(128);
    keras.build({28, 28});
    CHECK(keras.get_weights()[2].shape() == std::vector<std::size_t>{2, 384});
    CHECK(keras.count_params() == 60672);  // Keras's summary of GRU(128) on 28 features
}

TEST_CASE(
    "Recurrent layers: the same bits on 1 and 2 threads at inference, run after run in "
    "training",
    "[lstm][gru][simple_rnn][threads]") {
    // the GEMMs are shared out over the threads by blocks of rows or columns: a forward pass
    // gives the same bits on any number of threads, gradients the same bits for the same
    // number, and differ across numbers by rounding only
    utils::set_random_seed(4);
    layers::LSTM<float> lstm(64, {.return_sequences = true});
    layers::GRU<float> gru(48);
    layers::SimpleRNN<float> rnn(40, {.go_backwards = true});
    lstm.build({12, 10});
    gru.build({12, 10});
    rnn.build({12, 10});
    const auto x = xt::cast<float>(random_tensor({96, 12, 10}, 5));
    auto run = [&](layers::Layer<float>& layer, int threads) {
        testing::scoped_threads scope(threads);
        shape_t dy_shape{96};
        for (auto d : layer.output_shape()) dy_shape.push_back(d);
        const auto dy = xt::cast<float>(random_tensor(dy_shape, 6));
        std::vector<xt::xarray<float>> out{layer.forward(x, false), layer.forward(x, true)};
        out.emplace_back(layer.backward(dy, true));
        for (auto* p : layer.params()) out.emplace_back(p->grad);
        return out;
    };
    auto same = [](const xt::xarray<float>& a, const xt::xarray<float>& b) {
        return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
    };
    for (layers::Layer<float>* layer :
         {static_cast<layers::Layer<float>*>(&lstm), static_cast<layers::Layer<float>*>(&gru),
          static_cast<layers::Layer<float>*>(&rnn)}) {
        const auto one = run(*layer, 1), two = run(*layer, 2), again = run(*layer, 2);
        for (std::size_t i = 0; i < one.size(); ++i) {
            INFO(layer->class_name() << ", output " << i);
            CHECK(same(two[i], again[i]));
            if (i < 2)
                CHECK(same(one[i], two[i]));
            else
                CHECK(xt::allclose(one[i], two[i], 1e-5, 1e-6));
        }
    }
}

TEST_CASE("GRU reads Keras 3's config and refuses what it lacks", "[gru][config]") {
    const auto k3 = nlohmann::json::parse(R"({"name": "gru", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
        "registered_name": null}, "return_sequences": false, "return_state": false,
        "go_backwards": false, "stateful": false, "unroll": false, "zero_output_for_mask": false,
        "units": 32, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": true,
        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
        "config": {"seed": null}, "registered_name": null},
        "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal",
        "config": {"seed": null, "gain": 1.0}, "registered_name": null},
        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
        "registered_name": null}, "kernel_regularizer": null, "recurrent_regularizer": null,
        "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
        "recurrent_constraint": null, "bias_constraint": null, "dropout": 0.0,
        "recurrent_dropout": 0.0, "reset_after": true, "seed": null})");
    auto layer = layers::registry<float>::create("GRU", k3);
    CHECK(dynamic_cast<layers::GRU<float>&>(*layer).units() == 32);
    const auto out = layer->get_config();
    for (const char* key : {"name", "units", "activation", "return_sequences", "reset_after"})
        CHECK(out[key] == k3[key]);
    auto cfg = k3;
    cfg["reset_after"] = false;
    CHECK_THROWS_WITH(layers::registry<float>::create("GRU", cfg),
                      "GRU 'gru': reset_after=False is not supported (only Keras's default, "
                      "reset_after=True)");
    cfg = k3;
    cfg["recurrent_dropout"] = 0.1;
    CHECK_THROWS_WITH(layers::registry<float>::create("GRU", cfg),
                      Catch::Contains("'recurrent_dropout' = 0.1 is not supported"));
}

TEST_CASE("The recurrent layers' dropout masks each sample's features, one mask for every step",
          "[recurrent][dropout]") {
    for (const std::string cls : {"SimpleRNN", "LSTM", "GRU"}) {
        INFO(cls);
        auto make = [&](double rate) {
            utils::set_random_seed(4);
            auto l = layers::registry<double>::create(
                cls, {{"units", 3}, {"return_sequences", true}, {"dropout", rate}, {"seed", 11}});
            l->build({5, 6});
            return l;
        };
        auto dropped = make(0.5), plain = make(0.0);
        const xt::xarray<double> x = random_tensor({4, 5, 6}, 21);
        // at inference the layer is the one without dropout
        CHECK(xt::allclose(dropped->forward(x, false), plain->forward(x, false), 0.0, 0.0));
        // in training: the layer without dropout on x times the mask, the mask the same at
        // every step of a sample (a feature kept at one step is kept at all)
        const nlohmann::json state = dropped->training_state();
        REQUIRE(state["seed"] == 11);
        const xt::xarray<double> y = dropped->forward(x, true);
        layers::detail::dropout_stream stream{11, 0};
        xt::xarray<double> mask = xt::zeros<double>({4, 6});
        stream.next(mask.data(), 4, 6, 0.5);
        std::size_t zeros = 0;
        for (double m : mask) zeros += m == 0.0;
        CHECK(zeros > 0);
        CHECK(zeros < mask.size());
        xt::xarray<double> masked = x;
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t t = 0; t < 5; ++t)
                for (std::size_t k = 0; k < 6; ++k) masked(i, t, k) *= mask(i, k);
        CHECK(xt::allclose(y, plain->forward(masked, false), 0.0, 1e-15));
        // the next batch draws a new mask; the state replays one
        CHECK_FALSE(xt::allclose(xt::xarray<double>(dropped->forward(x, true)), y));
        dropped->set_training_state(state);
        CHECK(xt::allclose(dropped->forward(x, true), y, 0.0, 0.0));
        check_layer_gradients(*dropped, x);
        CHECK(dropped->get_config()["dropout"] == 0.5);
        CHECK(dropped->get_config()["seed"] == 11);
        CHECK(plain->training_state().is_null());
    }
}
