// The built-in callbacks against scripted logs: EarlyStopping (patience, min_delta, baseline,
// restore_best_weights, start_from_epoch, mode inference, messages), CSVLogger contents,
// ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, LambdaCallback, ExponentialDecay.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <xkeras/xkeras.hpp>

using namespace xkeras;
using callbacks::Logs;

namespace {

/// A compiled one-layer model whose first weight encodes an epoch number.
struct fixture {
    Sequential model;
    fixture() {
        utils::set_random_seed(1);
        model.add(layers::Dense(2, {.activation = "softmax", .input_shape = {3}}));
        model.compile(optimizers::SGD(0.1), "categorical_crossentropy", {"accuracy"});
    }
    void mark(int epoch) {
        auto w = model.get_weights();
        w[0].fill(float(epoch));
        model.set_weights(w);
    }
    float marked() { return model.get_weights()[0](0, 0); }
};

/// Runs `cb` over scripted epoch logs of `key`; returns the epochs run.
template <class CB>
int script(fixture& f, CB& cb, const std::string& key, const std::vector<double>& values) {
    cb.set_model(&f.model);
    f.model.stop_training = false;
    cb.on_train_begin({});
    int e = 0;
    for (; e < int(values.size()); ++e) {
        f.mark(e);
        cb.on_epoch_end(e, Logs{{key, values[std::size_t(e)]}, {"loss", 1.0}});
        if (f.model.stop_training) break;
    }
    cb.on_train_end({});
    return std::min(e + 1, int(values.size()));
}

struct capture {
    std::ostringstream buf;
    std::ostream& os;
    std::streambuf* old;
    explicit capture(std::ostream& s) : os(s), old(s.rdbuf(buf.rdbuf())) {}
    ~capture() { os.rdbuf(old); }
};

}  // namespace

TEST_CASE("EarlyStopping: patience counts epochs without improvement", "[callbacks][early]") {
    fixture f;
    std::ostringstream out;
    callbacks::EarlyStopping<float> es({.monitor = "val_loss", .patience = 2, .verbose = 1}, out);
    // best at epoch 1 (0.5); epochs 2 and 3 do not improve -> stop at epoch 3
    CHECK(script(f, es, "val_loss", {0.9, 0.5, 0.6, 0.55, 0.1}) == 4);
    CHECK(es.stopped_epoch() == 3);
    CHECK(es.best_epoch() == 1);
    CHECK(out.str() == "Epoch 4: early stopping\n");
}

TEST_CASE("EarlyStopping: min_delta, max mode and patience 0", "[callbacks][early]") {
    fixture f;
    callbacks::EarlyStopping<float> es(
        {.monitor = "val_accuracy", .min_delta = 0.01, .patience = 1});
    // 0.985 -> 0.99 is an improvement of less than 0.01: not an improvement
    CHECK(script(f, es, "val_accuracy", {0.98, 0.985, 0.99, 0.999}) == 2);
    CHECK(*es.best() == Approx(0.98));
    callbacks::EarlyStopping<float> zero({.monitor = "val_accuracy"});
    // patience 0 never stops at epoch 0, stops at the first non-improvement after it
    CHECK(script(f, zero, "val_accuracy", {0.5, 0.6, 0.6, 0.7}) == 3);
}

TEST_CASE("EarlyStopping: a baseline must be beaten to reset the wait", "[callbacks][early]") {
    fixture f;
    callbacks::EarlyStopping<float> es({.monitor = "val_loss", .patience = 2, .baseline = 0.3});
    // improvements that do not beat the baseline leave the wait growing: the first epoch
    // without improvement then stops (without a baseline it would not)
    CHECK(script(f, es, "val_loss", {0.9, 0.8, 0.85, 0.7}) == 3);
    callbacks::EarlyStopping<float> none({.monitor = "val_loss", .patience = 2});
    CHECK(script(f, none, "val_loss", {0.9, 0.8, 0.85, 0.7}) == 4);
    callbacks::EarlyStopping<float> beaten({.monitor = "val_loss", .patience = 2, .baseline = 0.3});
    CHECK(script(f, beaten, "val_loss", {0.9, 0.2, 0.1, 0.05, 0.01}) == 5);
}

TEST_CASE("EarlyStopping: restore_best_weights, with Keras 3's messages", "[callbacks][early]") {
    fixture f;
    std::ostringstream out;
    callbacks::EarlyStopping<float> es({.monitor = "val_accuracy",
                                        .min_delta = 0.01,
                                        .patience = 4,
                                        .verbose = 1,
                                        .restore_best_weights = true},
                                       out);
    CHECK(script(f, es, "val_accuracy", {0.9881, 0.9886, 0.9890, 0.9885, 0.9889, 0.99}) == 5);
    CHECK(f.marked() == 0.0f);  // the weights of epoch 0, the best within min_delta
    CHECK(out.str() ==
          "Epoch 5: early stopping\nRestoring model weights from the end of the best epoch: 1.\n");
    // Keras 3 restores also when training runs to the end
    std::ostringstream out2;
    callbacks::EarlyStopping<float> full(
        {.monitor = "val_loss", .patience = 10, .verbose = 1, .restore_best_weights = true}, out2);
    CHECK(script(f, full, "val_loss", {0.5, 0.3, 0.4}) == 3);
    CHECK(f.marked() == 1.0f);
    CHECK(out2.str() == "Restoring model weights from the end of the best epoch: 2.\n");
}

TEST_CASE("EarlyStopping: start_from_epoch ignores the first epochs", "[callbacks][early]") {
    fixture f;
    callbacks::EarlyStopping<float> es(
        {.monitor = "val_loss", .patience = 1, .start_from_epoch = 2});
    CHECK(script(f, es, "val_loss", {0.1, 0.2, 0.5, 0.6, 0.7}) == 4);
    CHECK(es.best_epoch() == 2);
}

TEST_CASE("Monitor direction: auto infers like Keras 3, or refuses", "[callbacks][early]") {
    fixture f;
    callbacks::EarlyStopping<float> loss({.monitor = "loss", .patience = 0});
    CHECK(script(f, loss, "loss", {1.0, 2.0, 3.0}) == 2);  // min: 2.0 is worse
    callbacks::EarlyStopping<float> acc({.monitor = "val_accuracy", .patience = 0});
    CHECK(script(f, acc, "val_accuracy", {0.5, 0.4, 0.3}) == 2);  // max: 0.4 is worse
    callbacks::EarlyStopping<float> unknown({.monitor = "val_f1", .patience = 0});
    CHECK_THROWS_WITH(script(f, unknown, "val_f1", {0.5, 0.4}),
                      Catch::Contains("isn't able to automatically determine") &&
                          Catch::Contains("monitor=val_f1"));
    callbacks::EarlyStopping<float> explicit_max(
        {.monitor = "val_f1", .patience = 0, .mode = "max"});
    CHECK(script(f, explicit_max, "val_f1", {0.5, 0.6, 0.4}) == 3);
    CHECK_THROWS_AS(callbacks::EarlyStopping<float>({.mode = "maximum"}), value_error);
}

TEST_CASE("A missing monitor warns once, listing the keys there are", "[callbacks][early]") {
    fixture f;
    capture err(std::cerr);
    callbacks::EarlyStopping<float> es({.monitor = "val_acc"});
    script(f, es, "val_accuracy", {0.5, 0.6, 0.7});
    CHECK(err.buf.str() ==
          "UserWarning: Early stopping conditioned on metric `val_acc` which is not available. "
          "Available metrics are: loss,val_accuracy\n");
    CHECK_FALSE(f.model.stop_training);
}

TEST_CASE("EarlyStopping stops a real fit and restores the best weights", "[callbacks][early]") {
    utils::set_random_seed(3);
    Sequential m;
    m.add(layers::Dense(3, {.activation = "softmax", .input_shape = {4}}));
    m.compile(optimizers::SGD(5.0), "categorical_crossentropy", {"accuracy"});
    xt::xarray<float> x = xt::ones<float>({20, 4});
    xt::xarray<float> y = xt::zeros<float>({20, 3});
    xt::view(y, xt::all(), 1) = 1.0f;
    // an improvement of at least 10 in the loss never happens: stops after patience + 1 epochs
    auto es = std::make_shared<callbacks::EarlyStopping<float>>(
        callbacks::EarlyStoppingOptions{.monitor = "loss", .min_delta = 10, .patience = 2});
    auto h = m.fit(x, y, {.epochs = 50, .verbose = 0, .callbacks = {es}});
    CHECK(h.epoch.size() == 3);
    CHECK(es->stopped_epoch() == 2);
}

TEST_CASE("CSVLogger writes Keras's columns, 0-based epochs and NA", "[callbacks][csv]") {
    namespace fs = std::filesystem;
    auto path = fs::temp_directory_path() / "xkeras_csvlogger_test.csv";
    fs::remove(path);
    fixture f;
    xt::xarray<float> x = xt::ones<float>({8, 3});
    xt::xarray<float> y = xt::zeros<float>({8, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    auto csv = std::make_shared<callbacks::CSVLogger<float>>(path);
    auto h = f.model.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {csv}});
    std::ifstream in(path);
    std::string header, row0, row1;
    std::getline(in, header);
    std::getline(in, row0);
    std::getline(in, row1);
    CHECK(header == "epoch,accuracy,loss,val_accuracy,val_loss");
    CHECK_THAT(row0, Catch::StartsWith("0,") && Catch::EndsWith(",NA,NA"));
    CHECK_THAT(row1, Catch::StartsWith("1,"));
    CHECK(std::stod(row1.substr(row1.find(',', 2) + 1)) == h["loss"][1]);
    // append: no second header
    auto again = std::make_shared<callbacks::CSVLogger<float>>(path, ";", true);
    f.model.fit(x, y, {.epochs = 1, .verbose = 0, .callbacks = {again}});
    std::ifstream in2(path);
    std::string line, last;
    int lines = 0;
    while (std::getline(in2, line)) {
        ++lines;
        last = line;
    }
    CHECK(lines == 4);
    CHECK_THAT(last, Catch::StartsWith("0;"));
    fs::remove(path);
    CHECK_THROWS_AS(callbacks::CSVLogger<float>(path, ""), value_error);
}

TEST_CASE("ReduceLROnPlateau lowers the rate on a plateau, with cooldown", "[callbacks][lr]") {
    fixture f;
    std::ostringstream out;
    callbacks::ReduceLROnPlateau<float> r(
        {.factor = 0.5, .patience = 2, .verbose = 1, .cooldown = 1, .min_lr = 0.03}, out);
    script(f, r, "val_loss", {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0});
    // lr 0.1 -> 0.05 after epoch 3 (index 2), cooldown 1, then -> max(0.025, 0.03) = 0.03
    CHECK(f.model.optimizer().learning_rate() == Approx(0.03));
    CHECK_THAT(out.str(),
               Catch::StartsWith("\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.05"));
    CHECK_THAT(out.str(),
               Catch::Contains("\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.03."));
    CHECK_THROWS_AS(callbacks::ReduceLROnPlateau<float>({.factor = 1.0}), value_error);
}

TEST_CASE("LearningRateScheduler sets the rate each epoch and logs it", "[callbacks][lr]") {
    fixture f;
    xt::xarray<float> x = xt::ones<float>({4, 3});
    xt::xarray<float> y = xt::zeros<float>({4, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    std::ostringstream out;
    auto s = std::make_shared<callbacks::LearningRateScheduler<float>>(
        [](int epoch, double lr) { return epoch == 0 ? lr : lr / 2; }, 1, out);
    auto h = f.model.fit(x, y, {.epochs = 3, .verbose = 0, .callbacks = {s}});
    REQUIRE(h["learning_rate"].size() == 3);
    CHECK(h["learning_rate"][0] == Approx(0.1));
    CHECK(h["learning_rate"][1] == Approx(0.05));
    CHECK(h["learning_rate"][2] == Approx(0.025));
    CHECK_THAT(out.str(),
               Catch::Contains("\nEpoch 2: LearningRateScheduler setting learning rate to 0.05"));
}

TEST_CASE("TerminateOnNaN stops training instead of throwing", "[callbacks][nan]") {
    fixture f;
    xt::xarray<float> x = xt::ones<float>({6, 3});
    xt::xarray<float> y = xt::zeros<float>({6, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    // NaN data is refused before training (test_faults.cpp), so the weights go bad instead:
    // a NaN weight before batch 2 makes that batch's loss NaN
    auto poison = std::make_shared<callbacks::LambdaCallback<float>>(
        callbacks::LambdaHooks<float>{.on_train_batch_begin = [&f](int batch, const Logs&) {
            if (batch != 2) return;
            auto w = f.model.get_weights();
            w[0](1, 0) = std::numeric_limits<float>::quiet_NaN();
            f.model.set_weights(w);
        }});
    std::ostringstream out;
    auto t = std::make_shared<callbacks::TerminateOnNaN<float>>(false, out);
    auto h = f.model.fit(
        x, y,
        {.batch_size = 2, .epochs = 5, .verbose = 0, .callbacks = {poison, t}, .shuffle = false});
    CHECK(out.str() == "Batch 2: Invalid loss, terminating training\n");
    CHECK(h.epoch.size() == 1);
    CHECK_FALSE(std::isfinite(h["loss"][0]));
    CHECK(f.model.optimizer().iterations() == 2);  // the bad batch was not applied
    auto raise = std::make_shared<callbacks::TerminateOnNaN<float>>(true);
    CHECK_THROWS_AS(
        f.model.fit(
            x, y, {.batch_size = 2, .verbose = 0, .callbacks = {poison, raise}, .shuffle = false}),
        numerical_error);
}

TEST_CASE("LambdaCallback calls the functions it is given", "[callbacks][lambda]") {
    fixture f;
    xt::xarray<float> x = xt::ones<float>({4, 3});
    xt::xarray<float> y = xt::zeros<float>({4, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    int epochs = 0, batches = 0;
    bool began = false;
    auto l = std::make_shared<callbacks::LambdaCallback<float>>(callbacks::LambdaHooks<float>{
        .on_epoch_end = [&](int, const Logs& logs) { epochs += logs.count("loss") ? 1 : 0; },
        .on_train_batch_end = [&](int, const Logs&) { ++batches; },
        .on_train_begin = [&](const Logs&) { began = true; }});
    f.model.fit(x, y, {.batch_size = 2, .epochs = 3, .verbose = 0, .callbacks = {l}});
    CHECK(epochs == 3);
    CHECK(batches == 6);
    CHECK(began);
}

TEST_CASE("ExponentialDecay follows Keras's formula and drives the optimizer",
          "[callbacks][schedules]") {
    optimizers::schedules::ExponentialDecay smooth(0.1, 10, 0.5), stairs(0.1, 10, 0.5, true);
    CHECK(smooth(0) == Approx(0.1));
    CHECK(smooth(5) == Approx(0.1 * std::pow(0.5, 0.5)));
    CHECK(stairs(5) == Approx(0.1));
    CHECK(stairs(25) == Approx(0.025));
    optimizers::SGD<double> sgd(
        {.learning_rate = optimizers::schedules::ExponentialDecay(1.0, 1, 0.5)});
    layers::Param<double> p{"w", xt::xarray<double>{0.0}, xt::xarray<double>{1.0}};
    sgd.apply({&p});  // lr 1
    sgd.apply({&p});  // lr 0.5
    CHECK(p.value(0) == Approx(-1.5));
    CHECK(sgd.learning_rate() == Approx(0.25));
    CHECK_THROWS_AS(sgd.set_learning_rate(0.1), state_error);
    CHECK_THROWS_AS(optimizers::schedules::ExponentialDecay(0.1, 0, 0.5), value_error);
}
