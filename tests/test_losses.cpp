// Losses: values against Keras's formulas, gradients against central differences, the fused
// softmax/sigmoid + crossentropy path against the plain one, and losses written as functions of
// one sample (FunctionLoss, register_loss).
#include <span>

#include "gradient_check.hpp"
#include "temp_dir.hpp"

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

/// Huber's loss (delta 1) of one sample, mean over its values, with its gradient: what a user
/// writes for losses::FunctionLoss.
template <class T>
double huber(std::span<const T> y_true, std::span<const T> y_pred, std::span<T> grad) {
    double total = 0.0;
    const double k = double(y_pred.size());
    for (std::size_t j = 0; j < y_pred.size(); ++j) {
        const double d = double(y_pred[j]) - double(y_true[j]);
        total += std::abs(d) <= 1.0 ? 0.5 * d * d : std::abs(d) - 0.5;
        grad[j] = static_cast<T>(std::clamp(d, -1.0, 1.0) / k);
    }
    return total / k;
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

TEST_CASE("A loss written as a function of one sample is averaged as Keras's losses are",
          "[losses][function]") {
    // the mean squared error as a function gives the built-in's loss and gradient
    const losses::FunctionLoss<double> mse(
        "my_mse", [](std::span<const double> t, std::span<const double> p, std::span<double> g) {
            double s = 0.0;
            for (std::size_t j = 0; j < p.size(); ++j) {
                s += (p[j] - t[j]) * (p[j] - t[j]);
                g[j] = 2.0 * (p[j] - t[j]) / double(p.size());
            }
            return s / double(p.size());
        });
    const auto y = random_tensor({6, 3}, 41), p = random_tensor({6, 3}, 42);
    xt::xarray<double> g1, g2;
    CHECK(mse.compute(y, p, g1) == Approx(losses::MeanSquaredError<double>().compute(y, p, g2)));
    CHECK(max_relative_error(g1, g2) < 1e-12);
    // Huber, checked by central differences as a user would check theirs
    const losses::FunctionLoss<double> h("huber", huber<double>);
    check_loss_gradient(h, y, 2.0 * p, false);
    CHECK(h.to_json() == nlohmann::json{{"module", "builtins"},
                                        {"class_name", "function"},
                                        {"config", "huber"},
                                        {"registered_name", "function"}});
    xt::xarray<double> g;
    CHECK_THROWS_WITH(h.compute(y, xt::xarray<double>(random_tensor({6, 2}, 1)), g),
                      Catch::Contains("huber: targets of shape (6, 3)"));
    CHECK_THROWS_WITH(losses::FunctionLoss<double>("", huber<double>),
                      Catch::Contains("a name of 1 to 200 characters"));
    CHECK_THROWS_WITH(losses::FunctionLoss<double>("none", nullptr),
                      Catch::Contains("'none': expected a function"));
}

TEST_CASE("A registered loss function trains, saves and loads by its name", "[losses][function]") {
    losses::register_loss<float>("huber", huber<float>);
    CHECK_THROWS_WITH(losses::register_loss<float>("mse", huber<float>),
                      Catch::Contains("'mse' is a built-in loss's name"));
    auto make = [] {
        utils::set_random_seed(6);
        Sequential m{Input({4}), layers::Dense(8, "relu"), layers::Dense(2)};
        return m;
    };
    const xt::xarray<float> x = xt::cast<float>(random_tensor({64, 4}, 3));
    const xt::xarray<float> y = xt::cast<float>(random_tensor({64, 2}, 4, -3, 3));
    Sequential by_name = make(), by_object = make();
    by_name.compile("sgd", "huber");
    by_object.compile("sgd", losses::FunctionLoss<float>("huber", huber<float>));
    by_object.set_shuffle_seed(by_name.shuffle_seed());  // each compile draws its own
    const double before = by_name.evaluate(x, y, {.verbose = 0})[0];
    by_name.fit(x, y, {.batch_size = 16, .epochs = 5, .verbose = 0});
    by_object.fit(x, y, {.batch_size = 16, .epochs = 5, .verbose = 0});
    const double after = by_name.evaluate(x, y, {.verbose = 0})[0];
    CHECK(after < before);
    const auto a = by_name.get_weights(), b = by_object.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));

    testing::temp_dir d("xkeras-loss");
    by_object.save(d / "huber.xk");
    auto loaded = load_model(d / "huber.xk");
    CHECK(loaded.loss().name() == "huber");
    CHECK(loaded.evaluate(x, y, {.verbose = 0})[0] == by_object.evaluate(x, y, {.verbose = 0})[0]);
    CHECK_THROWS_WITH(losses::get<float>("hubr"), Catch::Contains("unknown loss 'hubr'") &&
                                                      Catch::Contains("losses::register_loss"));
}
