// Keras's sample_weight and class_weight: the weighted losses (sum(w_i l_i) / N, Keras's
// sum_over_batch_size) against keras.io's documented values and central differences, the fused
// logits path included; training weighted as training on the samples repeated; class_weight as
// the sample weights of each sample's class; the compiled metrics unweighted (Keras 3);
// validation_split holding out the weights with their samples; evaluate and test_on_batch;
// refusals by message.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_tensor;

namespace {

/// The weighted loss and its gradient at y_pred, against central differences.
void check_weighted_gradient(const losses::Loss<double>& loss, const xt::xarray<double>& y_true,
                             xt::xarray<double> y_pred, const xt::xarray<double>& w, bool logits) {
    xt::xarray<double> grad, scratch;
    loss.compute_weighted(y_true, y_pred, grad, w.data(), logits);
    auto f = [&] { return loss.compute_weighted(y_true, y_pred, scratch, w.data(), logits); };
    INFO(loss.name() << (logits ? " from logits" : ""));
    CHECK(max_relative_error(grad, numeric_gradient(y_pred, f)) < 1e-6);
}

/// Dense(3, softmax) on 4 features with fixed weights, compiled with SGD.
Sequential weighted_model(const std::vector<std::string>& metrics = {"accuracy"}) {
    utils::set_random_seed(5);
    Sequential m("weighted", Input({4}), layers::Dense(3, "softmax"));
    m.compile(optimizers::SGD(0.1), "sparse_categorical_crossentropy", metrics);
    m.set_shuffle_seed(1);
    return m;
}

xt::xarray<float> features(std::size_t n, std::uint64_t seed) {
    return xt::cast<float>(random_tensor({n, 4}, seed));
}

}  // namespace

TEST_CASE("Weighted losses give keras.io's documented values", "[sample_weight][losses]") {
    xt::xarray<double> g;
    {  // MeanSquaredError: 0.5, and 0.25 with sample_weight [0.7, 0.3]
        const xt::xarray<double> yt = {{0.0, 1.0}, {0.0, 0.0}}, yp = {{1.0, 1.0}, {1.0, 0.0}};
        const xt::xarray<double> w = {0.7, 0.3};
        const losses::MeanSquaredError<double> mse;
        CHECK(mse.compute(yt, yp, g) == Approx(0.5));
        CHECK(mse.compute_weighted(yt, yp, g, w.data(), false) == Approx(0.25));
    }
    {  // CategoricalCrossentropy: 1.177, and 0.814 with [0.3, 0.7]
        const xt::xarray<double> yt = {{0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}};
        const xt::xarray<double> yp = {{0.05, 0.95, 0.0}, {0.1, 0.8, 0.1}};
        const xt::xarray<double> w = {0.3, 0.7};
        const losses::CategoricalCrossentropy<double> cce;
        CHECK(cce.compute(yt, yp, g) == Approx(1.177).margin(5e-4));
        CHECK(cce.compute_weighted(yt, yp, g, w.data(), false) == Approx(0.814).margin(5e-4));
        // the same labels as integers
        const xt::xarray<double> labels = {1.0, 2.0};
        CHECK(losses::SparseCategoricalCrossentropy<double>().compute_weighted(
                  labels, yp, g, w.data(), false) == Approx(0.814).margin(5e-4));
    }
    {  // BinaryCrossentropy: 0.815, and 0.458 with [1, 0]
        const xt::xarray<double> yt = {{0.0, 1.0}, {0.0, 0.0}}, yp = {{0.6, 0.4}, {0.4, 0.6}};
        const xt::xarray<double> w = {1.0, 0.0};
        const losses::BinaryCrossentropy<double> bce;
        CHECK(bce.compute(yt, yp, g) == Approx(0.815).margin(5e-4));
        CHECK(bce.compute_weighted(yt, yp, g, w.data(), false) == Approx(0.458).margin(5e-4));
    }
}

TEST_CASE("Weighted losses: each sample's loss times its weight over N, with their gradients",
          "[sample_weight][losses][gradient]") {
    const auto logits = random_tensor({4, 5}, 32, -2, 2);
    xt::xarray<double> probs = logits;
    activations::apply(activations::kind::softmax, probs.data(), 4, 5);
    const xt::xarray<double> labels{0, 3, 4, 1};
    const auto onehot = utils::to_categorical<double>(labels, 5);
    const xt::xarray<double> w = {0.5, 2.0, 0.0, 1.25};
    // the definition: sample i alone times w_i, over the batch
    const losses::CategoricalCrossentropy<double> cce;
    xt::xarray<double> g, g1;
    double want = 0.0;
    for (std::size_t i = 0; i < 4; ++i) {
        xt::xarray<double> yt = xt::view(onehot, xt::range(i, i + 1));
        xt::xarray<double> yp = xt::view(probs, xt::range(i, i + 1));
        want += w(i) * cce.compute(yt, yp, g1);
    }
    CHECK(cce.compute_weighted(onehot, probs, g, w.data(), false) == Approx(want / 4));
    // weights of one give the unweighted loss and gradient
    const xt::xarray<double> ones = xt::ones<double>({4});
    xt::xarray<double> plain;
    const double unweighted = cce.compute(onehot, probs, plain);
    CHECK(cce.compute_weighted(onehot, probs, g, ones.data(), false) == Approx(unweighted));
    CHECK(xt::allclose(g, plain, 1e-12, 1e-15));
    // the fused path from logits gives the loss of the probabilities
    CHECK(cce.compute_weighted(onehot, logits, g, w.data(), true) == Approx(want / 4));
    check_weighted_gradient(cce, onehot, probs, w, false);
    check_weighted_gradient(cce, onehot, logits, w, true);
    check_weighted_gradient(losses::SparseCategoricalCrossentropy<double>(), labels, probs, w,
                            false);
    check_weighted_gradient(losses::SparseCategoricalCrossentropy<double>(), labels, logits, w,
                            true);
    const auto bin = random_tensor({4, 3}, 33, 0, 1);
    check_weighted_gradient(losses::BinaryCrossentropy<double>(), bin,
                            random_tensor({4, 3}, 34, 0.05, 0.95), w, false);
    check_weighted_gradient(losses::BinaryCrossentropy<double>(), bin,
                            random_tensor({4, 3}, 35, -3, 3), w, true);
    // a sequence output: a sample's weight covers all its steps
    check_weighted_gradient(losses::MeanSquaredError<double>(), random_tensor({4, 3, 2}, 36),
                            random_tensor({4, 3, 2}, 37), w, false);
}

TEST_CASE("Training with sample weights is training on the samples repeated",
          "[sample_weight][fit]") {
    const auto x = features(3, 7);
    const xt::xarray<float> y = {0.0f, 2.0f, 1.0f};
    // weights (2, 0, 1) over 3 samples: (2 l_a + l_c) / 3, the loss of the batch (a, a, c)
    auto weighted = weighted_model();
    const xt::xarray<float> w = {2.0f, 0.0f, 1.0f};
    const auto logs = weighted.train_on_batch(x, y, w);
    auto repeated = weighted_model();
    xt::xarray<float> xr = x;
    xt::view(xr, 1) = xt::view(x, 0);
    xt::xarray<float> yr = y;
    yr(1) = y(0);
    const auto plain = repeated.train_on_batch(xr, yr);
    CHECK(logs[0] == Approx(plain[0]).epsilon(1e-6));
    const auto a = weighted.get_weights(), b = repeated.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(xt::allclose(a[i], b[i], 1e-6f, 1e-7f));
    // the metrics are not weighted (Keras 3's `metrics`): the sample of weight 0 counts
    auto m = weighted_model();
    const xt::xarray<float> one_zero = {1.0f, 0.0f, 0.0f};
    const double acc_all = m.test_on_batch(x, y)[1];
    const auto weighted_eval = m.test_on_batch(x, y, one_zero);
    CHECK(weighted_eval[1] == acc_all);
    // and the loss is sample 0's over the batch of 3
    xt::xarray<float> x0 = xt::view(x, xt::range(0, 1));
    const xt::xarray<float> y0 = {0.0f};
    CHECK(weighted_eval[0] == Approx(m.test_on_batch(x0, y0)[0] / 3.0).epsilon(1e-6));
}

TEST_CASE("fit and evaluate take sample_weight, and validation_split holds out their weights",
          "[sample_weight][fit]") {
    const auto x = features(40, 8);
    xt::xarray<float> y = xt::cast<float>(xt::floor(random_tensor({40}, 9, 0.0, 3.0)));
    const xt::xarray<float> w = xt::cast<float>(random_tensor({40}, 10, 0.0, 2.0));
    auto m = weighted_model();
    const auto h = m.fit(
        x, y,
        {.batch_size = 8, .epochs = 2, .verbose = 0, .validation_split = 0.25, .sample_weight = w});
    // val_loss is evaluate's on the last 10 samples with their weights
    xt::xarray<float> xv = xt::view(x, xt::range(30, 40)), yv = xt::view(y, xt::range(30, 40));
    xt::xarray<float> wv = xt::view(w, xt::range(30, 40));
    const auto scores = m.evaluate(xv, yv, {.batch_size = 8, .verbose = 0, .sample_weight = wv});
    CHECK(h.history.at("val_loss").back() == Approx(scores[0]).epsilon(1e-6));
    CHECK(scores[0] != Approx(m.evaluate(xv, yv, {.batch_size = 8, .verbose = 0})[0]));
    // weights of one train as no weights do
    auto plain = weighted_model(), ones = weighted_model();
    plain.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
    ones.fit(x, y,
             {.batch_size = 8,
              .epochs = 2,
              .verbose = 0,
              .sample_weight = xt::xarray<float>(xt::ones<float>({40, 1}))});
    const auto a = plain.get_weights(), b = ones.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(xt::allclose(a[i], b[i], 1e-6f, 1e-7f));
}

TEST_CASE("class_weight weighs each sample by its class, as Keras", "[class_weight][fit]") {
    const auto x = features(30, 11);
    const xt::xarray<float> labels = xt::cast<float>(xt::floor(random_tensor({30}, 12, 0.0, 3.0)));
    const std::map<int, double> cw = {{0, 0.5}, {2, 3.0}};  // class 1 weighs 1
    xt::xarray<float> w = xt::ones<float>({30});
    for (std::size_t i = 0; i < 30; ++i)
        w(i) = labels(i) == 0.0f ? 0.5f : labels(i) == 2.0f ? 3.0f : 1.0f;
    auto by_class = weighted_model(), by_sample = weighted_model();
    by_class.fit(x, labels, {.batch_size = 8, .epochs = 2, .verbose = 0, .class_weight = cw});
    by_sample.fit(x, labels, {.batch_size = 8, .epochs = 2, .verbose = 0, .sample_weight = w});
    const auto a = by_class.get_weights(), b = by_sample.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
    // one-hot targets: the class is the largest target's index
    const auto onehot = utils::to_categorical<float>(labels, 3);
    CHECK((training::class_sample_weights<float>(onehot, cw, "fit") == w));
    xt::xarray<float> column = labels;
    column.reshape({30, 1});
    CHECK((training::class_sample_weights<float>(column, cw, "fit") == w));
    // validation is not weighted by class (Keras weighs only the training data by class)
    auto split = weighted_model();
    const auto h = split.fit(
        x, labels,
        {.batch_size = 8, .epochs = 1, .verbose = 0, .validation_split = 0.2, .class_weight = cw});
    xt::xarray<float> xv = xt::view(x, xt::range(24, 30)), yv = xt::view(labels, xt::range(24, 30));
    CHECK(h.history.at("val_loss").back() ==
          Approx(split.evaluate(xv, yv, {.batch_size = 8, .verbose = 0})[0]).epsilon(1e-6));
}

TEST_CASE("Sample and class weights that cannot be used are refused by message",
          "[sample_weight][class_weight][errors]") {
    const auto x = features(6, 13);
    const xt::xarray<float> y = {0.0f, 1.0f, 2.0f, 0.0f, 1.0f, 2.0f};
    auto m = weighted_model();
    const auto before = m.get_weights();
    CHECK_THROWS_WITH(
        m.fit(x, y, {.verbose = 0, .sample_weight = xt::xarray<float>(xt::ones<float>({5}))}),
        "model 'weighted': fit: sample_weight has shape (5,); expected one weight per sample, "
        "(6,) or (6, 1)");
    CHECK_THROWS_WITH(
        m.fit(x, y, {.verbose = 0, .sample_weight = xt::xarray<float>(xt::ones<float>({6, 2}))}),
        Catch::Contains("sample_weight has shape (6, 2)"));
    xt::xarray<float> nan = xt::ones<float>({6});
    nan(4) = std::nanf("");
    CHECK_THROWS_WITH(m.evaluate(x, y, {.verbose = 0, .sample_weight = nan}),
                      Catch::StartsWith("model 'weighted': evaluate: sample_weight contains nan "
                                        "at sample 4"));
    CHECK_THROWS_WITH(m.train_on_batch(x, y, xt::xarray<float>(xt::ones<float>({2}))),
                      Catch::Contains("train_on_batch: sample_weight has shape (2,)"));
    CHECK_THROWS_WITH(m.fit(x, y,
                            {.verbose = 0,
                             .class_weight = {{0, 2.0}},
                             .sample_weight = xt::xarray<float>(xt::ones<float>({6}))}),
                      "model 'weighted': fit: class_weight and sample_weight cannot both be "
                      "given (as in Keras): fold the class weights into sample_weight");
    CHECK_THROWS_WITH(m.fit(x, y, {.verbose = 0, .class_weight = {{1, INFINITY}}}),
                      "model 'weighted': fit: class_weight of class 1 is inf; weights must be "
                      "finite");
    const auto after = m.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
    CHECK(m.optimizer().iterations() == 0);
    // targets with steps have no one class per sample
    CHECK_THROWS_WITH(
        training::class_sample_weights<float>(xt::zeros<float>({2, 3, 4}), {{0, 1.0}}, "fit"),
        "fit: class_weight needs targets of shape (samples,), (samples, 1) or "
        "(samples, classes), got (2, 3, 4)");
}

TEST_CASE("weighted_metrics take the sample weights, logged as Keras 3 logs them",
          "[sample_weight][metrics]") {
    const auto x = features(12, 14);
    const xt::xarray<float> y = xt::cast<float>(xt::floor(random_tensor({12}, 15, 0.0, 3.0)));
    const xt::xarray<float> w = xt::cast<float>(random_tensor({12}, 16, 0.0, 2.0));
    auto m = weighted_model();
    m.compile(optimizers::SGD(0.1), "sparse_categorical_crossentropy", {"accuracy"},
              {"accuracy", "mse"});
    REQUIRE(m.compiled_metrics().size() == 3);
    CHECK(m.compiled_metrics()[1] ==
          metrics::compiled_metric{"accuracy", "weighted_accuracy", true});
    CHECK(m.compiled_metrics()[2] == metrics::compiled_metric{"mse", "mse", true});
    // the weighted accuracy by hand: sum of the weights of the samples right over their sum
    const auto p = m.predict(x);
    double right = 0.0, all = 0.0;
    for (std::size_t i = 0; i < 12; ++i) {
        const auto row = xt::xarray<float>(xt::view(p, i));
        right += (double(xt::argmax(row)()) == double(y(i))) * double(w(i));
        all += double(w(i));
    }
    const auto scores = m.evaluate(x, y, {.batch_size = 5, .verbose = 0, .sample_weight = w});
    REQUIRE(scores.size() == 4);
    const auto plain = m.evaluate(x, y, {.batch_size = 5, .verbose = 0});
    CHECK(scores[1] == plain[1]);  // `metrics`: not weighted
    CHECK(scores[2] == Approx(right / all).epsilon(1e-12));
    CHECK(plain[2] == plain[1]);  // no weights: the weighted accuracy is the accuracy
    // fit logs them under those names, validation too
    const auto h = m.fit(
        x, y,
        {.batch_size = 4, .epochs = 1, .verbose = 0, .validation_split = 0.25, .sample_weight = w});
    for (const char* key : {"accuracy", "weighted_accuracy", "mse", "val_weighted_accuracy"})
        CHECK(h.history.count(key) == 1);
    // and the model's JSON keeps them
    const auto j = nlohmann::json::parse(m.to_json());
    CHECK(j["compile_config"]["weighted_metrics"] == nlohmann::json({"accuracy", "mse"}));
    auto again = model_from_json(m.to_json());
    CHECK(again.compiled_metrics() == m.compiled_metrics());
    auto none = weighted_model();
    CHECK(nlohmann::json::parse(none.to_json())["compile_config"]["weighted_metrics"].is_null());
    // a name given twice is refused
    CHECK_THROWS_WITH(m.compile("sgd", "mse", {}, {"mse", "mse"}),
                      "compile: weighted_metrics 'mse' is given twice");
}

TEST_CASE("Metrics take the targets they can read, one per row broadcast as Keras does",
          "[metrics][errors]") {
    const shape_t onehot{6, 3}, labels{6}, column{6, 1}, outputs{6, 3};
    CHECK_NOTHROW(metrics::get<float>("categorical_accuracy", onehot, outputs));
    CHECK_NOTHROW(metrics::get<float>("sparse_categorical_accuracy", column, outputs));
    CHECK_NOTHROW(metrics::get<float>("mse", labels, outputs));
    CHECK_THROWS_WITH(metrics::get<float>("categorical_accuracy", labels, outputs),
                      "metric 'categorical_accuracy' needs targets of the outputs' shape "
                      "(one-hot); the targets have shape (6,) and the outputs (6, 3)");
    CHECK_THROWS_WITH(metrics::get<float>("sparse_categorical_accuracy", onehot, outputs),
                      Catch::StartsWith("metric 'sparse_categorical_accuracy' needs one integer "
                                        "label per row of the outputs"));
    CHECK_THROWS_WITH(metrics::get<float>("mae", shape_t{6, 2}, outputs),
                      Catch::StartsWith("metric 'mae' needs targets of the outputs' shape, or "
                                        "one per row of them"));
    // one per row is compared with every value of its row: mse of (0, 1, 2) against 1 is 2 / 3
    auto mse = metrics::get<float>("mse", shape_t{1}, shape_t{1, 3});
    mse->update(xt::xarray<float>{1.0f}, xt::xarray<float>{{0.0f, 1.0f, 2.0f}});
    CHECK(mse->result() == Approx(2.0 / 3.0));
    // and a model refuses them before training
    auto m = weighted_model({"categorical_accuracy"});
    CHECK_THROWS_WITH(
        m.fit(features(6, 17), xt::xarray<float>(xt::zeros<float>({6})), {.verbose = 0}),
        Catch::Contains("metric 'categorical_accuracy' needs targets of the outputs' "
                        "shape (one-hot)"));
    CHECK(m.optimizer().iterations() == 0);
}
