// Sequential: fit semantics (validation_split, seeds, History, verbose), the end-to-end gradient
// of a small stack, train/test_on_batch, predict, weights, and the errors users meet.
#include "gradient_check.hpp"

#include <sstream>

using namespace xkeras;
using testing::max_relative_error;
using testing::random_tensor;

namespace {

/// A small classification problem: 3 classes, 4 features.
struct toy {
    xt::xarray<float> x, y;
    explicit toy(std::size_t n, std::uint64_t seed = 1) {
        x = xt::cast<float>(random_tensor({n, 4}, seed));
        xt::xarray<int> labels = xt::zeros<int>({n});
        for (std::size_t i = 0; i < n; ++i)
            labels(i) = x(i, 0) + x(i, 1) > 0.5f ? 2 : (x(i, 2) > 0 ? 1 : 0);
        y = utils::to_categorical<float>(labels, 3);
    }
};

void small_model(Sequential& m, std::uint64_t seed) {
    utils::set_random_seed(seed);
    m.add(layers::Dense(8, {.activation = "relu", .input_shape = {4}}));
    m.add(layers::Dropout(0.25));
    m.add(layers::Dense(3, "softmax"));
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy", {"accuracy"});
}

/// Captures std::cout for the scope.
struct capture_cout {
    std::ostringstream buf;
    std::streambuf* old;
    capture_cout() : old(std::cout.rdbuf(buf.rdbuf())) {}
    ~capture_cout() { std::cout.rdbuf(old); }
};

}  // namespace

TEST_CASE("A small stack's gradients match central differences end to end", "[model][gradient]") {
    utils::set_random_seed(3);
    basic_sequential<double> m;
    m.add(layers::Dense<double>(
        6,
        {.activation = "tanh", .kernel_regularizer = regularizers::L2(0.01), .input_shape = {5}}));
    m.add(layers::Activation<double>("sigmoid"));
    m.add(layers::Dropout<double>(0.0));
    m.add(layers::Dense<double>(4, {.bias_regularizer = regularizers::L1(0.02)}));
    m.add(layers::Activation<double>("softmax"));
    // SGD with lr 1: the weight change of one step is minus the gradient.
    m.compile(optimizers::SGD<double>(1.0), "categorical_crossentropy");
    auto x = random_tensor({3, 5}, 4);
    auto y = utils::to_categorical<double>(xt::xarray<double>{0, 3, 1}, 4);
    auto before = m.get_weights();
    m.train_on_batch(x, y);
    auto after = m.get_weights();
    m.set_weights(before);
    for (std::size_t k = 0; k < before.size(); ++k) {
        xt::xarray<double> analytic = before[k] - after[k];
        auto params = m.layers()[k < 2 ? 0 : 3]->params();
        auto& value = params[k % 2]->value;
        auto numeric = testing::numeric_gradient(value, [&] { return m.test_on_batch(x, y)[0]; });
        INFO("weight " << params[k % 2]->name);
        CHECK(max_relative_error(analytic, numeric) < 1e-6);
    }
}

TEST_CASE("validation_split holds out the LAST fraction, before shuffling", "[model][fit]") {
    toy data(100);
    Sequential m;
    small_model(m, 5);
    auto h = m.fit(data.x, data.y,
                   {.batch_size = 16, .epochs = 2, .verbose = 0, .validation_split = 0.2});
    // val_* of the last epoch = evaluate on rows 80..99 with the final weights
    xt::xarray<float> xv = xt::view(data.x, xt::range(80, 100));
    xt::xarray<float> yv = xt::view(data.y, xt::range(80, 100));
    auto scores = m.evaluate(xv, yv, {.verbose = 0});
    CHECK(h["val_loss"].back() == Approx(scores[0]).epsilon(1e-6));
    CHECK(h["val_accuracy"].back() == Approx(scores[1]));
    xt::xarray<float> xf = xt::view(data.x, xt::range(0, 20));
    xt::xarray<float> yf = xt::view(data.y, xt::range(0, 20));
    CHECK(m.evaluate(xf, yf, {.verbose = 0})[0] != Approx(h["val_loss"].back()).epsilon(1e-6));
}

TEST_CASE("The same seed gives bit-identical weights, another seed does not", "[model][fit]") {
    toy data(64);
    auto train = [&](std::uint64_t seed) {
        Sequential m;
        small_model(m, seed);
        m.fit(data.x, data.y, {.batch_size = 10, .epochs = 3, .verbose = 0});
        return m.get_weights();
    };
    auto a = train(7), b = train(7), c = train(8);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
    CHECK((a[0] != c[0]));
}

TEST_CASE("History has Keras's keys, one value per epoch", "[model][fit]") {
    toy data(50);
    Sequential m;
    small_model(m, 2);
    auto h = m.fit(
        data.x, data.y,
        {.batch_size = 8, .epochs = 3, .verbose = 0, .validation_data = std::pair{data.x, data.y}});
    std::vector<std::string> keys;
    for (const auto& [k, v] : h.history) keys.push_back(k);
    CHECK(keys == std::vector<std::string>{"accuracy", "loss", "val_accuracy", "val_loss"});
    CHECK(h["loss"].size() == 3);
    CHECK(h.epoch == std::vector<int>{0, 1, 2});
    CHECK_THROWS_WITH(h["acc"], Catch::Contains("loss") && Catch::Contains("val_accuracy"));
    // initial_epoch: only epochs 2..3 run
    auto h2 = m.fit(data.x, data.y, {.epochs = 4, .verbose = 0, .initial_epoch = 2});
    CHECK(h2.epoch == std::vector<int>{2, 3});
}

TEST_CASE("The metric is logged under the name the user gave", "[model][metrics]") {
    toy data(30);
    Sequential m;
    utils::set_random_seed(1);
    m.add(layers::Dense(3, {.activation = "softmax", .input_shape = {4}}));
    m.compile("sgd", "categorical_crossentropy", {"acc"});
    auto h = m.fit(data.x, data.y, {.epochs = 1, .verbose = 0});
    CHECK(h.contains("acc"));
    // sparse labels pick sparse accuracy
    Sequential s;
    s.add(layers::Dense(3, {.activation = "softmax", .input_shape = {4}}));
    s.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
    xt::xarray<float> labels = xt::zeros<float>({30});
    for (std::size_t i = 0; i < 30; ++i)
        labels(i) = float(std::max_element(&data.y(i, 0), &data.y(i, 0) + 3) - &data.y(i, 0));
    auto hs = s.fit(data.x, labels, {.epochs = 1, .verbose = 0});
    CHECK(hs["accuracy"][0] >= 0.0);
    auto dense_scores = s.evaluate(data.x, labels, {.verbose = 0});
    auto pred = s.predict(data.x);
    double correct = 0;
    for (std::size_t i = 0; i < 30; ++i)
        correct +=
            double(std::max_element(&pred(i, 0), &pred(i, 0) + 3) - &pred(i, 0)) == labels(i);
    CHECK(dense_scores[1] == Approx(correct / 30));
}

TEST_CASE("verbose 0 prints nothing, verbose 2 prints one Keras line per epoch", "[model][fit]") {
    toy data(40);
    Sequential m;
    small_model(m, 3);
    {
        capture_cout c;
        m.fit(data.x, data.y, {.batch_size = 8, .epochs = 2, .verbose = 0});
        m.evaluate(data.x, data.y, {.verbose = 0});
        CHECK(c.buf.str().empty());
    }
    capture_cout c;
    m.fit(data.x, data.y, {.batch_size = 8, .epochs = 2, .verbose = 2});
    std::string out = c.buf.str();
    CHECK_THAT(out, Catch::StartsWith("Epoch 1/2\n5/5 - "));
    CHECK_THAT(out, Catch::Contains("/step - accuracy: ") && Catch::Contains(" - loss: ") &&
                        Catch::Contains("Epoch 2/2\n"));
}

TEST_CASE("predict, train_on_batch and test_on_batch", "[model]") {
    toy data(20);
    Sequential m;
    small_model(m, 4);
    auto p = m.predict(data.x, 7);
    REQUIRE(p.shape()[0] == 20);
    REQUIRE(p.shape()[1] == 3);
    for (std::size_t i = 0; i < 20; ++i)
        CHECK(xt::sum(xt::view(p, i))() == Approx(1.0f).epsilon(1e-5));
    auto before = m.test_on_batch(data.x, data.y);
    for (int i = 0; i < 30; ++i) m.train_on_batch(data.x, data.y);
    auto after = m.test_on_batch(data.x, data.y);
    CHECK(after[0] < before[0]);
    CHECK(m.optimizer().iterations() == 30);
}

TEST_CASE("get_weights / set_weights use Keras's order and shapes", "[model][weights]") {
    Sequential m;
    small_model(m, 6);
    auto w = m.get_weights();
    REQUIRE(w.size() == 4);
    CHECK(shape_of(w[0]) == shape_t{4, 8});
    CHECK(shape_of(w[1]) == shape_t{8});
    CHECK(shape_of(w[2]) == shape_t{8, 3});
    CHECK(shape_of(w[3]) == shape_t{3});
    auto bad = w;
    bad[2] = xt::zeros<float>({3, 8});
    CHECK_THROWS_AS(m.set_weights(bad), shape_error);
    CHECK((m.get_weights()[0] == w[0]));  // a refused list changes nothing
    bad.pop_back();
    CHECK_THROWS_AS(m.set_weights(bad), value_error);
}

TEST_CASE("Misuse throws errors that say what was expected and what came", "[model][errors]") {
    toy data(10);
    Sequential m;
    m.add(layers::Dense(3, {.activation = "softmax", .input_shape = {4}}));
    CHECK_THROWS_WITH(m.fit(data.x, data.y), Catch::Contains("compile()"));
    m.compile("adam", "categorical_crossentropy", {"accuracy"});
    xt::xarray<float> short_y = xt::view(data.y, xt::range(0, 9));
    CHECK_THROWS_WITH(m.fit(data.x, short_y, {.verbose = 0}),
                      Catch::Contains("10 samples") && Catch::Contains("9"));
    xt::xarray<float> wide = xt::zeros<float>({10, 5});
    CHECK_THROWS_WITH(m.fit(wide, data.y, {.verbose = 0}),
                      Catch::Contains("(None, 4)") && Catch::Contains("(10, 5)"));
    xt::xarray<float> y4 = xt::zeros<float>({10, 4});
    CHECK_THROWS_WITH(m.fit(data.x, y4, {.verbose = 0}),
                      Catch::Contains("(10, 4)") && Catch::Contains("(None, 3)"));
    CHECK_THROWS_AS(m.fit(data.x, data.y, {.batch_size = 0}), value_error);
    CHECK_THROWS_AS(m.fit(data.x, data.y, {.validation_split = 1.0}), value_error);
    CHECK_THROWS_AS(m.compile("adam", "crossentropy_loss"), value_error);
    CHECK_THROWS_AS(m.compile("adam", "categorical_crossentropy", {"precision"}), value_error);
    CHECK_THROWS_AS(m.add(layers::Dense(2, {.name = m.layers()[0]->name()})), value_error);

    Sequential sparse;
    sparse.add(layers::Dense(3, {.activation = "softmax", .input_shape = {4}}));
    sparse.compile("adam", "sparse_categorical_crossentropy");
    xt::xarray<float> labels = xt::zeros<float>({10});
    labels(4) = 3;
    CHECK_THROWS_WITH(sparse.fit(data.x, labels, {.verbose = 0}),
                      Catch::Contains("label 4 is 3") && Catch::Contains("[0, 3)"));

    Sequential unbuilt;
    unbuilt.add(layers::Dense(3));
    CHECK_THROWS_AS(unbuilt.count_params(), state_error);
    unbuilt.build({4});
    CHECK(unbuilt.count_params() == 15);
}

TEST_CASE("NaN in the data is refused before training, the weights left as they were",
          "[model][errors]") {
    // (a NaN / inf loss from finite data, and every other fault: test_faults.cpp)
    toy data(16);
    Sequential m;
    small_model(m, 8);
    auto before = m.get_weights();
    data.x(5, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(m.fit(data.x, data.y, {.batch_size = 16, .verbose = 0}), value_error);
    CHECK_THROWS_WITH(m.fit(data.x, data.y, {.batch_size = 16, .verbose = 0}),
                      Catch::Contains("x contains nan at sample 5, position (1)"));
    auto after = m.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
}

TEST_CASE("A model without an input shape is built by the first fit", "[model]") {
    toy data(12);
    Sequential m;
    utils::set_random_seed(9);
    m.add(layers::Dense(5, "relu"));
    m.add(layers::Dense(3, "softmax"));
    CHECK_FALSE(m.built());
    m.compile("adam", "categorical_crossentropy");
    m.fit(data.x, data.y, {.epochs = 1, .verbose = 0});
    CHECK(m.built());
    CHECK(m.count_params() == 4 * 5 + 5 + 5 * 3 + 3);
    Sequential with_input;
    with_input.add(Input({4}));
    with_input.add(layers::Dense(2));
    // a later layer's input_shape is ignored, as in Keras
    with_input.add(layers::Dense(3, {.input_shape = {99}}));
    CHECK(with_input.built());
    CHECK(with_input.output_shape() == shape_t{3});
    CHECK(with_input.layers().size() == 2);
}

TEST_CASE("A small conv stack's gradients match central differences end to end",
          "[model][gradient][cnn]") {
    utils::set_random_seed(13);
    basic_sequential<double> m;
    m.add(layers::Conv2D<double>(
        3, 3, {.padding = "same", .activation = "relu", .input_shape = {6, 6, 2}}));
    m.add(layers::BatchNormalization<double>());
    m.add(layers::MaxPooling2D<double>());
    m.add(layers::Conv2D<double>(4, 2, {.strides = 2, .activation = "tanh"}));
    m.add(layers::Flatten<double>());
    m.add(layers::Dense<double>(3, "softmax"));
    m.compile(optimizers::SGD<double>(1.0), "categorical_crossentropy");
    auto x = random_tensor({4, 6, 6, 2}, 21);
    auto y = utils::to_categorical<double>(xt::xarray<double>{0, 2, 1, 2}, 3);
    std::vector<layers::Param<double>*> trainable = m.trainable_params();
    std::vector<xt::xarray<double>> before;
    for (auto* p : trainable) before.push_back(p->value);
    m.train_on_batch(x, y);  // SGD with lr 1: the change is minus the gradient
    std::vector<xt::xarray<double>> analytic;
    for (std::size_t i = 0; i < trainable.size(); ++i) {
        analytic.push_back(before[i] - trainable[i]->value);
        trainable[i]->value = before[i];
    }
    // the loss in training mode (batch statistics), from the probabilities
    losses::CategoricalCrossentropy<double> cce;
    xt::xarray<double> g;
    auto loss = [&] { return cce.compute(y, m.forward(x, true), g); };
    for (std::size_t i = 0; i < trainable.size(); ++i) {
        auto numeric = testing::numeric_gradient(trainable[i]->value, loss);
        INFO("weight " << trainable[i]->name);
        CHECK(max_relative_error(analytic[i], numeric) < 1e-5);
    }
}

TEST_CASE("Sequential takes its layers as a list, as Keras's Sequential([...])",
          "[model][sequential]") {
    Sequential m{Input({4}), layers::Dense(8, "relu"), layers::ReLU({.max_value = 6.0}),
                 layers::Dense(3), layers::Softmax()};
    REQUIRE(m.layers().size() == 4);
    CHECK(m.built());
    CHECK(m.layers()[1]->class_name() == "ReLU");
    CHECK(m.output_shape() == shape_t{3});

    Sequential named("classifier", layers::Dense(2, {.input_shape = {3}}),
                     std::make_unique<layers::ELU<float>>());
    CHECK(named.name() == "classifier");
    CHECK(named.layers().size() == 2);
    CHECK(named.built());

    // a layer that does not fit is refused as add() refuses it
    CHECK_THROWS_AS((Sequential{Input({4, 5}), layers::Softmax({.axis = 3})}), shape_error);
}
