// Callbacks: Keras's hook order, stop_training, params, and the verbose-1 progress bar.
#include <catch2/catch.hpp>

#include <sstream>

#include <xkeras/xkeras.hpp>

using namespace xkeras;

namespace {

struct Recorder : callbacks::Callback<float> {
    std::vector<std::string> calls;
    int stop_after_epoch = -1;
    void on_train_begin(const callbacks::Logs&) override { calls.push_back("train_begin"); }
    void on_train_end(const callbacks::Logs& logs) override {
        calls.push_back("train_end:" + std::to_string(logs.count("val_loss")));
    }
    void on_epoch_begin(int e, const callbacks::Logs&) override {
        calls.push_back("epoch_begin " + std::to_string(e));
    }
    void on_epoch_end(int e, const callbacks::Logs& logs) override {
        calls.push_back("epoch_end " + std::to_string(e) + ":" + std::to_string(logs.size()));
        if (e == stop_after_epoch) model->stop_training = true;
    }
    void on_train_batch_begin(int b, const callbacks::Logs&) override {
        calls.push_back("batch_begin " + std::to_string(b));
    }
    void on_train_batch_end(int b, const callbacks::Logs& logs) override {
        calls.push_back("batch_end " + std::to_string(b) + ":" + std::to_string(logs.size()));
    }
};

}  // namespace

TEST_CASE("fit calls the hooks in Keras's order and honours stop_training", "[callbacks]") {
    utils::set_random_seed(1);
    Sequential m;
    m.add(layers::Dense(2, {.activation = "softmax", .input_shape = {3}}));
    m.compile("sgd", "categorical_crossentropy", {"accuracy"});
    xt::xarray<float> x = xt::ones<float>({5, 3});
    xt::xarray<float> y = xt::zeros<float>({5, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    auto rec = std::make_shared<Recorder>();
    rec->stop_after_epoch = 1;
    auto h = m.fit(
        x, y,
        {.batch_size = 3, .epochs = 5, .verbose = 0, .callbacks = {rec}, .validation_split = 0.2});
    // 4 training samples, batch 3: 2 steps; validation on the last sample
    std::vector<std::string> want{
        "train_begin",   "epoch_begin 0", "batch_begin 0", "batch_end 0:2", "batch_begin 1",
        "batch_end 1:2", "epoch_end 0:4", "epoch_begin 1", "batch_begin 0", "batch_end 0:2",
        "batch_begin 1", "batch_end 1:2", "epoch_end 1:4", "train_end:1"};
    CHECK(rec->calls == want);
    CHECK(rec->params.epochs == 5);
    CHECK(rec->params.steps == 2);
    CHECK(rec->model == &m);
    CHECK(h.epoch == std::vector<int>{0, 1});
}

TEST_CASE("The verbose-1 bar is Keras 3's, in place on a terminal", "[callbacks][progbar]") {
    std::ostringstream os;
    callbacks::ProgbarLogger<float> bar(os, /*tty=*/1);
    bar.set_params({1, 2, 4});
    bar.on_train_begin({});
    bar.on_epoch_begin(0, {});
    for (int b = 0; b < 4; ++b) bar.on_train_batch_end(b, {{"loss", 0.5}, {"accuracy", 0.75}});
    bar.on_epoch_end(0, {{"loss", 0.5}, {"accuracy", 0.75}, {"val_loss", 0.00012}});
    std::string out = os.str();
    CHECK_THAT(out, Catch::StartsWith("Epoch 1/2\n"));
    CHECK_THAT(out, Catch::Contains("\r\x1b[1m4/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m"));
    CHECK_THAT(out,
               Catch::Contains("/step - accuracy: 0.7500 - loss: 0.5000 - val_loss: 1.2000e-04"));
    CHECK_THAT(out, Catch::EndsWith("\n"));

    std::ostringstream plain;
    callbacks::ProgbarLogger<float> pbar(plain, /*tty=*/0);
    pbar.set_params({1, 1, 4});
    pbar.on_epoch_begin(0, {});
    pbar.on_epoch_end(0, {{"loss", 2.0}});
    CHECK_THAT(plain.str(), Catch::StartsWith("4/4 ━━━━━━━━━━━━━━━━━━━━ ") &&
                                Catch::Contains("/step - loss: 2.0000\n"));
    CHECK(plain.str().find('\x1b') == std::string::npos);
}

TEST_CASE("Keras's number and time formats", "[callbacks][progbar]") {
    using namespace callbacks::detail;
    CHECK(format_value(0.12345) == "0.1235");
    CHECK(format_value(0.0005) == "5.0000e-04");
    CHECK(format_per_step(0.029) == "29ms");
    CHECK(format_per_step(2.4) == "2s");
    CHECK(format_per_step(0.000412) == "412us");
    CHECK(format_eta(7) == "7s");
    CHECK(format_eta(65) == "1:05");
    CHECK(format_eta(3723) == "1:02:03");
}
