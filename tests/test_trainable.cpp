// Freezing layers (`layer.trainable = false`), as Keras: the optimizer's list is read at
// compile(), so a change applies at the next compile; a frozen layer's weights do not move and
// get no optimizer state; a frozen BatchNormalization runs in inference mode (Keras 3's rule).
#include "gradient_check.hpp"

using namespace xkeras;
using testing::random_tensor;

namespace {

bool same_values(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("trainable = false set on a built model applies at the next compile",
          "[model][trainable]") {
    utils::set_random_seed(2);
    Sequential m;
    m.add(layers::Dense(8, {.activation = "relu", .input_shape = {6}}));
    m.add(layers::BatchNormalization());
    m.add(layers::Dense(3, "softmax"));
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy");
    const xt::xarray<float> x = xt::cast<float>(random_tensor({64, 6}, 3));
    const xt::xarray<float> y = utils::to_categorical(xt::arange<int>(64) % 3, 3);
    m.fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0});

    auto layers = m.layers();
    layers[0]->trainable = false;
    layers[1]->trainable = false;
    // as Keras: the summary shows the flags at once
    const std::string summary = m.summary_string(80);
    CHECK_THAT(summary, Catch::Contains("Trainable params: 27 "));      // the last Dense
    CHECK_THAT(summary, Catch::Contains("Non-trainable params: 88 "));  // 56 + BN's 32
    // the optimizer's list is the compiled one until compile() runs again
    CHECK(m.trainable_params().size() == 6);
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy");
    REQUIRE(m.trainable_params().size() == 2);
    CHECK(m.trainable_params()[0]->name == layers[2]->params()[0]->name);

    const auto before = m.get_weights();
    // a frozen BatchNormalization normalises with its moving statistics in training too
    const xt::xarray<float> in_training = m.forward(x, true);
    CHECK(same_values(in_training, m.forward(x, false)));
    m.fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
    const auto after = m.get_weights();
    // Dense kernel and bias, BN gamma, beta and moving statistics: unchanged; the last Dense:
    // trained
    REQUIRE(after.size() == 8);
    for (std::size_t i = 0; i < 6; ++i) {
        INFO("weight " << i);
        CHECK(same_values(after[i], before[i]));
    }
    CHECK_FALSE(same_values(after[6], before[6]));
    CHECK_FALSE(same_values(after[7], before[7]));
    // the optimizer keeps state for the trained weights only: Adam's m and v of 2 weights,
    // with iterations and the learning rate
    CHECK(m.optimizer().slots().size() == 2);
    for (const auto& [name, s] : m.optimizer().slots())
        CHECK(name.rfind(layers[2]->name() + "/", 0) == 0);
    CHECK(m.optimizer().count_variables() == 2 + 2 * (24 + 3));

    // unfrozen, they train again from the next compile on
    layers[0]->trainable = true;
    layers[1]->trainable = true;
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy");
    CHECK(m.trainable_params().size() == 6);
    m.fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0});
    const auto again = m.get_weights();
    for (std::size_t i = 0; i < 8; ++i) {
        INFO("weight " << i);
        CHECK_FALSE(same_values(again[i], after[i]));
    }
}

TEST_CASE("A layer frozen before the model is built is never trained", "[model][trainable]") {
    utils::set_random_seed(4);
    Sequential m;
    layers::Dense<float> first(5, "tanh");
    first.trainable = false;
    m.add(std::move(first));
    m.add(layers::Dense(2, "softmax"));
    m.compile("sgd", "categorical_crossentropy");
    const xt::xarray<float> x = xt::cast<float>(random_tensor({10, 4}, 5));
    const xt::xarray<float> y = utils::to_categorical(xt::arange<int>(10) % 2, 2);
    m.fit(x, y, {.batch_size = 5, .epochs = 1, .verbose = 0});  // built here
    const auto before = m.get_weights();
    m.fit(x, y, {.batch_size = 5, .epochs = 1, .verbose = 0});
    const auto after = m.get_weights();
    CHECK(same_values(after[0], before[0]));
    CHECK(same_values(after[1], before[1]));
    CHECK_FALSE(same_values(after[2], before[2]));
}
