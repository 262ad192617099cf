// Losses: values against Keras's formulas, gradients against central differences, and the fused
// softmax/sigmoid + crossentropy path against the plain one.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_tensor;

namespace {

xt::xarray<double> softmax(xt::xarray<double> z) {
    activations::apply(activations::kind::softmax, z.data(), z.shape()[0], z.shape()[1]);
    return z;
}

void check_loss_gradient(const losses::Loss<double>& loss, const xt::xarray<double>& y_true,
                         xt::xarray<double> y_pred, bool logits) {
    xt::xarray<double> grad, scratch;
    if (logits)
        loss.compute_from_logits(y_true, y_pred, grad);
    else
        loss.compute(y_true, y_pred, grad);
    auto f = [&] {
        return logits ? loss.compute_from_logits(y_true, y_pred, scratch)
                      : loss.compute(y_true, y_pred, scratch);
    };
    auto numeric = numeric_gradient(y_pred, f);
    INFO(loss.name() << (logits ? " from logits" : ""));
    CHECK(max_relative_error(grad, numeric) < 1e-6);
}

}  // namespace

TEST_CASE("Categorical crossentropy values follow Keras", "[losses]") {
    losses::CategoricalCrossentropy<double> cce;
    xt::xarray<double> y{{0, 1, 0}, {0, 0, 1}};
    xt::xarray<double> p{{0.1, 0.8, 0.1}, {0.2, 0.3, 0.5}};
    xt::xarray<double> g;
    CHECK(cce.compute(y, p, g) == Approx(-(std::log(0.8) + std::log(0.5)) / 2));
    // probabilities are renormalised first, then clipped to [1e-7, 1 - 1e-7]
    xt::xarray<double> unnorm{{0.2, 1.6, 0.2}};
    xt::xarray<double> y1{{0, 1, 0}};
    CHECK(cce.compute(y1, unnorm, g) == Approx(-std::log(0.8)));
    xt::xarray<double> zero{{1.0, 0.0, 0.0}};
    CHECK(cce.compute(y1, zero, g) == Approx(-std::log(1e-7)));  // 16.118
    // from logits: the loss of softmax(z)
    xt::xarray<double> z{{1.0, 2.0, -1.0}};
    CHECK(losses::CategoricalCrossentropy<double>(true).compute(y1, z, g) ==
          Approx(cce.compute(y1, softmax(z), g)));
    // label smoothing 0.1 over 3 classes: y = (0.0333, 0.9333, 0.0333)
    losses::CategoricalCrossentropy<double> smooth(false, 0.1);
    xt::xarray<double> q{{0.2, 0.7, 0.1}};
    double expect =
        -(0.1 / 3 * std::log(0.2) + (0.9 + 0.1 / 3) * std::log(0.7) + 0.1 / 3 * std::log(0.1));
    CHECK(smooth.compute(y1, q, g) == Approx(expect));
}

TEST_CASE("Sparse categorical crossentropy equals the one-hot loss", "[losses]") {
    losses::SparseCategoricalCrossentropy<double> scce;
    losses::CategoricalCrossentropy<double> cce;
    xt::xarray<double> labels{1, 2};
    xt::xarray<double> onehot{{0, 1, 0}, {0, 0, 1}};
    xt::xarray<double> p{{0.1, 0.8, 0.1}, {0.2, 0.3, 0.5}};
    xt::xarray<double> g1, g2;
    CHECK(scce.compute(labels, p, g1) == Approx(cce.compute(onehot, p, g2)));
    CHECK(max_relative_error(g1, g2) < 1e-12);
    xt::xarray<double> bad{1, 3};
    CHECK_THROWS_WITH(scce.check_targets(bad, {3}),
                      Catch::Contains("label 1 is 3") && Catch::Contains("[0, 3)"));
    xt::xarray<double> frac{0.5, 1};
    CHECK_THROWS_AS(scce.check_targets(frac, {3}), value_error);
    xt::xarray<double> col{1.0, 2.0};
    col.reshape({2, 1});
    CHECK_NOTHROW(scce.check_targets(col, {3}));
}

TEST_CASE("Binary crossentropy and MSE values follow Keras (mean over the last axis)", "[losses]") {
    xt::xarray<double> y{{1, 0}, {0, 1}};
    xt::xarray<double> p{{0.9, 0.2}, {0.3, 0.6}};
    xt::xarray<double> g;
    double bce = -(std::log(0.9) + std::log(0.8) + std::log(0.7) + std::log(0.6)) / 4;
    CHECK(losses::BinaryCrossentropy<double>().compute(y, p, g) == Approx(bce));
    double mse = (0.01 + 0.04 + 0.09 + 0.16) / 4;
    CHECK(losses::MeanSquaredError<double>().compute(y, p, g) == Approx(mse));
    xt::xarray<double> z{{2.0, -1.0}, {0.5, 3.0}};
    xt::xarray<double> s = 1.0 / (1.0 + xt::exp(-z));
    CHECK(losses::BinaryCrossentropy<double>(true).compute(y, z, g) ==
          Approx(losses::BinaryCrossentropy<double>().compute(y, s, g)));
}

TEST_CASE("Every loss's gradient matches central differences", "[losses][gradient]") {
    auto probs = softmax(random_tensor({4, 5}, 31, -2, 2));
    auto onehot = utils::to_categorical<double>(xt::xarray<double>{0, 3, 4, 1}, 5);
    xt::xarray<double> labels{0, 3, 4, 1};
    auto logits = random_tensor({4, 5}, 32, -2, 2);
    check_loss_gradient(losses::CategoricalCrossentropy<double>(), onehot, probs, false);
    check_loss_gradient(losses::CategoricalCrossentropy<double>(false, 0.2), onehot, probs, false);
    check_loss_gradient(losses::CategoricalCrossentropy<double>(), onehot, logits, true);
    check_loss_gradient(losses::SparseCategoricalCrossentropy<double>(), labels, probs, false);
    check_loss_gradient(losses::SparseCategoricalCrossentropy<double>(), labels, logits, true);
    auto bin = random_tensor({4, 3}, 33, 0, 1);
    auto p = random_tensor({4, 3}, 34, 0.05, 0.95);
    check_loss_gradient(losses::BinaryCrossentropy<double>(), bin, p, false);
    check_loss_gradient(losses::BinaryCrossentropy<double>(), bin, random_tensor({4, 3}, 35, -3, 3),
                        true);
    check_loss_gradient(losses::MeanSquaredError<double>(), bin, p, false);
}

TEST_CASE("Loss names resolve like Keras's strings", "[losses]") {
    CHECK(losses::get<double>("categorical_crossentropy")->name() == "categorical_crossentropy");
    CHECK(losses::get<double>("mse")->name() == "mean_squared_error");
    CHECK(losses::get<double>("MSE")->name() == "mean_squared_error");
    CHECK_THROWS_WITH(losses::get<double>("Categorical_Crossentropy"),
                      Catch::Contains("unknown loss"));
    CHECK_THROWS_AS(losses::CategoricalCrossentropy<double>(false, 1.5), value_error);
}
