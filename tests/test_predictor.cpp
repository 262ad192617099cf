// The inference-only library (xkeras/predictor.hpp, the CMake target xkeras::predictor): a
// Predictor loads what load_model loads (xkeras's .xk, Keras 3's .keras, a legacy .h5) and
// predicts exactly what the loaded model predicts, for one sample and for batches; wrong input
// sizes and bad files are refused with the library's exceptions.
#include <xkeras/predictor.hpp>

#include "keras_files_helpers.hpp"

namespace {

/// The Predictor's outputs for the first `n` images of `x` (as the model takes them), next to
/// the model's own predict at the same batch size: the same values, bit for bit. (Another batch
/// size may take another route through the kernels, and round differently.)
void check_same_predictions(const Predictor& p, Sequential& model, const xt::xarray<float>& x,
                            std::size_t n) {
    const xt::xarray<float> first = xt::view(x, xt::range(0, n));
    const std::span<const float> values(first.data(), first.size());
    for (std::size_t batch_size : {std::size_t(32), std::size_t(7)}) {
        INFO("batch size " << batch_size);
        const auto expected = model.predict(first, batch_size);
        const auto got = p.predict(values, n, batch_size);
        REQUIRE(got.size() == expected.size());
        CHECK(std::equal(got.begin(), got.end(), expected.data()));
    }
    // one sample
    const xt::xarray<float> one_image = xt::view(x, xt::range(0, 1));
    const auto expected = model.predict(one_image, 1);
    const auto one = p.predict(values.first(p.input_size()));
    REQUIRE(one.size() == p.output_size());
    CHECK(std::equal(one.begin(), one.end(), expected.data()));
}

}  // namespace

TEST_CASE("A Predictor predicts what the loaded model predicts, from .xk, .keras and .h5",
          "[predictor]") {
    scratch dir;
    Sequential cnn = small_cnn(3, "adam");
    const auto x = test_images({28, 28, 1}, 255.f);
    const xt::xarray<float> train = xt::view(x, xt::range(0, 256));
    const xt::xarray<float> labels = xt::cast<float>(xt::view(test_labels(), xt::range(0, 256)));
    cnn.fit(train, labels, {.batch_size = 64, .epochs = 1, .verbose = 0});
    for (const char* name : {"cnn.xk", "cnn.keras", "cnn.h5"}) {
        INFO(name);
        cnn.save(dir.path / name);
        const Predictor p(dir.path / name);
        CHECK(p.input_shape() == shape_t{28, 28, 1});
        CHECK(p.output_shape() == shape_t{10});
        CHECK(p.input_size() == 784);
        CHECK(p.output_size() == 10);
        check_same_predictions(p, cnn, x, 50);
    }
    // a model Keras trained (LeNet with tanh, raw pixels)
    const auto lenet = fixtures / "k3_01_seq_lenet_tanh/mnist_model.keras";
    Sequential keras_model = load_model(lenet);
    const Predictor p(lenet);
    check_same_predictions(p, keras_model, test_images(keras_model.input_shape(), 1.f), 20);
    CHECK(p.summary().find("Total params") != std::string::npos);
    CHECK(Predictor::has_keras_files());
}

TEST_CASE("A Predictor refuses inputs of the wrong size and files it cannot load", "[predictor]") {
    scratch dir;
    Sequential mlp;
    mlp.add(Input({6}));
    mlp.add(layers::Dense(3, "softmax"));
    mlp.save(dir.path / "mlp.xk");
    Predictor p(dir.path / "mlp.xk");
    const std::vector<float> x(13, 0.5f);
    CHECK_THROWS_WITH(p.predict(x, 2),
                      Catch::Contains("2 samples of 6 values") && Catch::Contains("got 13"));
    CHECK_THROWS_AS(p.predict(std::span<const float>(x).first(5)), shape_error);
    // a sample count whose value count overflows cannot match any input
    CHECK_THROWS_AS(p.predict(x, std::numeric_limits<std::size_t>::max() / 3 + 1), shape_error);
    CHECK(p.predict(std::span<const float>(x).first(12), 2).size() == 6);
    CHECK(p.predict(std::span<const float>(), 0).empty());
    CHECK_THROWS_WITH(Predictor(dir.path / "missing.keras"), Catch::Contains("missing.keras"));
    write_bytes(dir.path / "bad.xk", "not a model");
    CHECK_THROWS_AS(Predictor(dir.path / "bad.xk"), io_error);
    // moved, it keeps working
    Predictor moved = std::move(p);
    CHECK(moved.predict(std::span<const float>(x).first(6)).size() == 3);
}
