// Model files and Keras JSON: round trips, Keras 3 / tf.keras 2.x / Keras 1 JSON, save / load
// with bit-identical predictions and an exact resume, every damaged-file case, weights by name,
// and ModelCheckpoint.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"
#include "model_file_bytes.hpp"
#include "temp_dir.hpp"
#include "whole_file.hpp"

using namespace xkeras;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// A small trained CNN with every kind of state: conv, BN, pooling, dropout, dense.
void small_cnn(Sequential& m) {
    using namespace xkeras::layers;
    m.add(Conv2D(4, 3, {.padding = "same", .activation = "relu", .input_shape = {8, 8, 1}}));
    m.add(BatchNormalization());
    m.add(MaxPooling2D());
    m.add(Flatten());
    m.add(Dropout(0.3));
    m.add(Dense(3, "softmax"));
}

struct data {
    xt::xarray<float> x, y;
    data() {
        detail::rng g(4);
        x = xt::xarray<float>::from_shape({48, 8, 8, 1});
        for (auto& v : x) v = float(g.uniform());
        xt::xarray<double> labels = xt::zeros<double>({48});
        for (std::size_t i = 0; i < 48; ++i) labels(i) = double(i % 3);
        y = utils::to_categorical(labels, 3);
    }
};

}  // namespace

TEST_CASE("to_json writes Keras 3's Sequential JSON", "[io][json]") {
    backend::clear_session();
    Sequential m;
    seed_models::e4_cnn(m);
    m.compile("adam", "categorical_crossentropy", {"accuracy"});
    json j = json::parse(m.to_json());
    CHECK(j["module"] == "keras");
    CHECK(j["class_name"] == "Sequential");
    CHECK(j["registered_name"].is_null());
    const auto& layers = j["config"]["layers"];
    REQUIRE(layers.size() == 8);  // InputLayer + 7
    CHECK(layers[0]["class_name"] == "InputLayer");
    CHECK(layers[0]["config"]["batch_shape"] == json::parse("[null, 28, 28, 1]"));
    const auto& conv = layers[1];
    CHECK(conv["module"] == "keras.layers");
    CHECK(conv["config"]["name"] == "conv2d");
    CHECK(conv["config"]["kernel_size"] == json::parse("[3, 3]"));
    CHECK(conv["config"]["padding"] == "valid");
    CHECK(conv["config"]["data_format"] == "channels_last");
    CHECK(conv["config"]["kernel_initializer"]["class_name"] == "GlorotUniform");
    CHECK(conv["config"]["dtype"]["class_name"] == "DTypePolicy");
    CHECK(conv["build_config"]["input_shape"] == json::parse("[null, 28, 28, 1]"));
    CHECK(layers[2]["class_name"] == "MaxPooling2D");
    CHECK(layers[2]["config"]["strides"] == json::parse("[2, 2]"));
    CHECK(j["config"]["build_input_shape"] == json::parse("[null, 28, 28, 1]"));
    CHECK(j["compile_config"]["loss"] == "categorical_crossentropy");
    CHECK(j["compile_config"]["metrics"] == json::parse(R"(["accuracy"])"));
    CHECK(j["compile_config"]["optimizer"]["class_name"] == "Adam");
    CHECK(j["compile_config"]["optimizer"]["config"]["epsilon"] == 1e-7);
}

TEST_CASE("model_from_json round-trips every layer and the compile config", "[io][json]") {
    Sequential m("roundtrip");
    using namespace xkeras::layers;
    m.add(Input({10, 10, 3}));
    m.add(Conv2D(4, {3, 2},
                 {.strides = 2,
                  .padding = "same",
                  .activation = "tanh",
                  .kernel_initializer = initializers::HeNormal(7),
                  .kernel_regularizer = regularizers::L2(0.001)}));
    m.add(BatchNormalization({.momentum = 0.9, .epsilon = 0.01}));
    m.add(AveragePooling2D({2, 2}, {.padding = "same"}));
    m.add(Reshape({-1, 4}));
    m.add(Flatten());
    m.add(Dropout(0.1, {.seed = 3}));
    m.add(Dense(
        5,
        {.activation = "sigmoid", .use_bias = false, .bias_regularizer = regularizers::L1(0.5)}));
    m.add(Activation("softmax"));
    m.compile(optimizers::RMSprop({.learning_rate = 0.01, .momentum = 0.5, .centered = true}),
              losses::CategoricalCrossentropy<float>(false, 0.1), {"acc"});
    auto back = model_from_json<float>(m.to_json());
    CHECK(back.name() == "roundtrip");
    CHECK(back.count_params() == m.count_params());
    CHECK(back.summary_string(76) == m.summary_string(76));
    CHECK(back.to_json() == m.to_json());
    CHECK(back.optimizer().class_name() == "RMSprop");
    CHECK(back.optimizer().learning_rate() == Approx(0.01));
    CHECK(back.metric_names() == std::vector<std::string>{"acc"});
}

TEST_CASE("model_from_json reads tf.keras 2.x JSON", "[io][json]") {
    // keras-io's mnist_convnet as tf.keras 2.x writes it: InputLayer batch_input_shape, dtype
    // strings, BatchNormalization axis as a list.
    const std::string tk2 =
        R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "dtype": "float32",
        "sparse": false, "ragged": false, "name": "input_1"}},
      {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32",
        "filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
        "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
        "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
        "bias_constraint": null}},
      {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "trainable": true,
        "dtype": "float32", "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true,
        "beta_initializer": {"class_name": "Zeros", "config": {}},
        "gamma_initializer": {"class_name": "Ones", "config": {}},
        "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
        "moving_variance_initializer": {"class_name": "Ones", "config": {}},
        "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}},
      {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": true, "dtype": "float32",
        "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
      {"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32",
        "data_format": "channels_last"}},
      {"class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32",
        "rate": 0.5, "noise_shape": null, "seed": null}},
      {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 10,
        "activation": "softmax", "use_bias": true,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
        "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
        "bias_constraint": null}}]}, "keras_version": "2.13.1", "backend": "tensorflow"})";
    auto m = model_from_json<float>(tk2);
    CHECK(m.count_params() == 320 + 128 + 5408 * 10 + 10);
    CHECK(m.layers()[1]->output_shape() == shape_t{26, 26, 32});
    CHECK_FALSE(m.compiled());

    // older tf.keras: batch_input_shape on the first layer
    const std::string old = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "Dense", "config": {"name": "dense", "batch_input_shape": [null, 784],
        "units": 512, "activation": "relu", "kernel_initializer": "glorot_uniform"}},
      {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}})";
    auto m2 = model_from_json<float>(old);
    CHECK(m2.count_params() == 784 * 512 + 512 + 5130);
}

TEST_CASE("Keras 2.0-2.2's Sequential config (a bare list of layers) is read", "[io][json]") {
    // tests/data/keras216_model_config.json: the model_config attribute of a real file written
    // by Keras 2.1.6 (../shared/keras_files/h5_09_keras216_cnn, read with h5py). Its
    // convolutions are channels_first, which xkeras refuses by name, not as "Keras 1".
    std::ifstream in(fs::path(XKERAS_TEST_DATA_DIR) / "keras216_model_config.json");
    REQUIRE(in);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THROWS_WITH(model_from_json<float>(text),
                      "model JSON: layer 0: Conv2D 'conv2d_3': config key 'data_format' = "
                      "\"channels_first\" is not supported by xkeras (only \"channels_last\")");
    // the same model channels_last: every layer of the list, its names and Keras's 59,933
    // parameters
    auto replace_all = [&](const std::string& from, const std::string& to) {
        for (std::size_t at; (at = text.find(from)) != std::string::npos;)
            text.replace(at, from.size(), to);
    };
    replace_all("channels_first", "channels_last");
    replace_all("[null, 1, 28, 28]", "[null, 28, 28, 1]");
    auto model = model_from_json<float>(text);
    REQUIRE(model.layers().size() == 9);
    CHECK(model.layers()[0]->name() == "conv2d_3");
    CHECK(model.layers()[8]->name() == "dense_5");
    CHECK(model.input_shape() == shape_t{28, 28, 1});
    CHECK(model.count_params() == 59933);
}

TEST_CASE("model_from_json refuses what it cannot honour, by name", "[io][json][errors]") {
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"output_dim": 10}}]})"),
                      "model JSON: layer 0 (Dense) has Keras 1 options (output_dim, init, "
                      "border_mode, ...); xkeras reads the JSON of Keras 2 (tf.keras) and Keras 3");
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"units": 10}}], "keras_version": "1.2.2"})"),
                      Catch::Contains("Keras 1 schema (keras_version 1.2.2)"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Convolution2D", "config": {}}]}})"),
                      Catch::Contains("Keras 1 layer") && Catch::Contains("Convolution2D"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "ConvLSTM2D", "config": {"filters": 4}}]}})"),
                      Catch::Contains("'ConvLSTM2D' is not supported"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 4, "kernel_constraint": {"class_name": "MaxNorm"}}}]}})"),
                      Catch::Contains("Dense 'd'") && Catch::Contains("kernel_constraint"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "data_format": "channels_first"}}]}})"),
                      Catch::Contains("data_format") && Catch::Contains("channels_first"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 4, "quantization_config": {"mode": "int8"}}}]}})"),
                      Catch::Contains("quantization_config"));
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Functional", "config": {}})"),
                      "model JSON: the Functional config has no 'layers' list");
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": "Bogus", "config": {}})"),
                      Catch::Contains("class_name 'Bogus' is not supported; xkeras reads "
                                      "Sequential models and Functional models that are a plain "
                                      "chain"));
    CHECK_THROWS_WITH(model_from_json<float>("{not json"), Catch::Contains("malformed JSON"));
}

TEST_CASE("save then load_model gives bit-identical predictions and compile state", "[io][file]") {
    testing::temp_dir d("xkeras-io");
    data dt;
    utils::set_random_seed(2);
    Sequential m;
    small_cnn(m);
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy", {"accuracy"});
    m.fit(dt.x, dt.y, {.batch_size = 16, .epochs = 1, .verbose = 0});
    m.save(d.path() / "m.xk");
    auto loaded = load_model(d.path() / "m.xk");
    CHECK((loaded.predict(dt.x) == m.predict(dt.x)));
    CHECK(loaded.optimizer().iterations() == m.optimizer().iterations());
    CHECK(loaded.optimizer().class_name() == "Adam");
    CHECK(loaded.optimizer().slots().size() == m.optimizer().slots().size());
    CHECK(loaded.metric_names() == m.metric_names());
    CHECK(loaded.summary_string(76) == m.summary_string(76));
    // BN's moving statistics are weights and come back too
    CHECK((loaded.get_weights()[3] == m.get_weights()[3]));
}

TEST_CASE("save, train 2 epochs, load, train 2 more equals 4 epochs bit for bit",
          "[io][file][resume]") {
    testing::temp_dir d("xkeras-io");
    data dt;
    auto fresh = [](Sequential& m) {
        utils::set_random_seed(11);
        small_cnn(m);
        m.compile(optimizers::Adam(0.01), "categorical_crossentropy", {"accuracy"});
    };
    Sequential straight;
    fresh(straight);
    straight.fit(dt.x, dt.y, {.batch_size = 10, .epochs = 4, .verbose = 0});

    Sequential first;
    fresh(first);
    first.fit(dt.x, dt.y, {.batch_size = 10, .epochs = 2, .verbose = 0});
    first.save(d.path() / "half.xk");
    auto resumed = load_model(d.path() / "half.xk");
    resumed.fit(dt.x, dt.y, {.batch_size = 10, .epochs = 4, .verbose = 0, .initial_epoch = 2});

    auto a = straight.get_weights(), b = resumed.get_weights();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
}

TEST_CASE("Damaged, truncated and foreign files are refused, saying which check failed",
          "[io][file][errors]") {
    testing::temp_dir d("xkeras-io");
    utils::set_random_seed(3);
    Sequential m;
    small_cnn(m);
    m.compile("adam", "categorical_crossentropy");
    const auto good = d.path() / "good.xk", bad = d.path() / "bad.xk";
    m.save(good);
    const std::string bytes = testing::read_bytes(good);
    REQUIRE(load_model(good).count_params() == m.count_params());

    // a flipped byte anywhere: in the header, in the weights, in the checksum
    for (std::size_t pos :
         {std::size_t(30), bytes.size() / 2, bytes.size() - 40, bytes.size() - 1}) {
        std::string b = bytes;
        b[pos] ^= 0x20;
        testing::write_bytes(bad, b);
        INFO("flipped byte " << pos);
        CHECK_THROWS_WITH(load_model(bad), Catch::Contains("SHA-256 check failed") ||
                                               Catch::Contains("header announces"));
    }
    // truncated at several places
    for (std::size_t len :
         {std::size_t(0), std::size_t(10), std::size_t(40), bytes.size() / 3, bytes.size() - 1}) {
        testing::write_bytes(bad, bytes.substr(0, len));
        INFO("truncated to " << len);
        CHECK_THROWS_AS(load_model(bad), io_error);
    }
    testing::write_bytes(bad, bytes.substr(0, 10));
    CHECK_THROWS_WITH(load_model(bad), Catch::Contains("truncated"));
    // foreign files; Keras's own are read only by a program that includes keras_files.hpp,
    // which this test program does not (tests/test_keras_files.cpp does)
    const std::string keras_file =
        "' is a Keras file (.keras or .h5); include "
        "<xkeras/keras_files.hpp> and link the CMake target "
        "xkeras::keras_files (HDF5 and libzip) to read it";
    testing::write_bytes(bad, std::string("PK\x03\x04") + std::string(100, 'x'));
    CHECK_THROWS_WITH(load_model(bad), "'" + bad.string() + keras_file);
    testing::write_bytes(bad, std::string("\x89HDF\r\n\x1a\n") + std::string(100, 'x'));
    CHECK_THROWS_WITH(load_model(bad), "'" + bad.string() + keras_file);
    Sequential dense;
    dense.add(layers::Dense(2, {.input_shape = {3}}));
    CHECK_THROWS_WITH(dense.load_weights(bad), "'" + bad.string() + keras_file);
    testing::write_bytes(bad, std::string(200, 'a'));
    CHECK_THROWS_WITH(load_model(bad), Catch::Contains("not an xkeras model file"));
    // a file from a newer xkeras
    std::string future = bytes;
    future[8] = 9;
    testing::write_bytes(bad, future);
    CHECK_THROWS_WITH(load_model(bad), Catch::Contains("format version 9"));
    CHECK_THROWS_WITH(load_model(d.path() / "missing.xk"), Catch::Contains("cannot open"));
    // a weights-only file is not a model
    m.save_weights(bad);
    CHECK_THROWS_WITH(load_model(bad), Catch::Contains("load_weights"));
}

TEST_CASE("Saving is atomic: a failed save leaves no file and says why", "[io][file]") {
    testing::temp_dir d("xkeras-io");
    Sequential m;
    small_cnn(m);
    CHECK_THROWS_WITH(m.save(d.path() / "no" / "such" / "dir" / "m.xk"), Catch::Contains("m.xk"));
    m.save(d.path() / "m.xk");
    m.save(d.path() / "m.xk");  // replacing works and leaves only the file
    CHECK(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()) == 1);
    Sequential unbuilt;
    unbuilt.add(layers::Dense(2));
    CHECK_THROWS_AS(unbuilt.save(d.path() / "u.xk"), state_error);
}

TEST_CASE("save_weights / load_weights match by layer class and position", "[io][weights]") {
    testing::temp_dir d("xkeras-io");
    data dt;
    utils::set_random_seed(4);
    Sequential a;
    small_cnn(a);
    a.save_weights(d.path() / "w.xk");
    Sequential b;  // same layers, other automatic names
    small_cnn(b);
    REQUIRE(a.layers()[0]->name() != b.layers()[0]->name());
    b.load_weights(d.path() / "w.xk");
    CHECK((b.predict(dt.x) == a.predict(dt.x)));

    Sequential other;
    other.add(layers::Conv2D(5, 3, {.padding = "same", .input_shape = {8, 8, 1}}));
    other.add(layers::Flatten());
    other.add(layers::Dense(3));
    auto before = other.get_weights();
    CHECK_THROWS_WITH(other.load_weights(d.path() / "w.xk"), Catch::Contains("conv2d/kernel") &&
                                                                 Catch::Contains("(3, 3, 1, 5)") &&
                                                                 Catch::Contains("(3, 3, 1, 4)"));
    auto after = other.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
}

TEST_CASE("A version-1 file written by an earlier xkeras still loads", "[io][file][compat]") {
    // tests/data/tiny_v1.xk: Dense(3, relu) on 4 inputs + Dense(2, softmax), compiled with SGD,
    // saved by xkeras 0.1.0 (format version 1). Later versions must keep reading it.
    const auto path = fs::path(XKERAS_TEST_DATA_DIR) / "tiny_v1.xk";
    auto m = load_model(path);
    CHECK(m.count_params() == 4 * 3 + 3 + 3 * 2 + 2);
    CHECK(m.optimizer().class_name() == "SGD");
    xt::xarray<float> x = xt::ones<float>({1, 4});
    auto p = m.predict(x);
    CHECK(p(0, 0) + p(0, 1) == Approx(1.0f));
}

TEST_CASE("ModelCheckpoint saves the best epochs with Keras's messages", "[io][checkpoint]") {
    testing::temp_dir d("xkeras-io");
    utils::set_random_seed(5);
    Sequential m;
    m.add(layers::Dense(2, {.activation = "softmax", .input_shape = {3}}));
    m.compile("sgd", "categorical_crossentropy", {"accuracy"});
    std::ostringstream out;
    callbacks::ModelCheckpoint<float> ck(
        (d.path() / "best.xk").string(),
        {.monitor = "val_accuracy", .verbose = 1, .save_best_only = true}, out);
    ck.set_model(&m);
    ck.on_train_begin({});
    const double accs[] = {0.98811, 0.98861, 0.98861, 0.99};
    for (int e = 0; e < 4; ++e) {
        ck.on_epoch_begin(e, {});
        ck.on_epoch_end(e, {{"val_accuracy", accs[e]}, {"loss", 0.1}});
    }
    const std::string p = (d.path() / "best.xk").string();
    CHECK(out.str() ==
          "\nEpoch 1: val_accuracy improved from -inf to 0.98811, saving model to " + p +
              "\n\nEpoch 2: val_accuracy improved from 0.98811 to 0.98861, saving model to " + p +
              "\n\nEpoch 3: val_accuracy did not improve from 0.98861\n" +
              "\nEpoch 4: val_accuracy improved from 0.98861 to 0.99000, saving model to " + p +
              "\n");
    CHECK(load_model(p).count_params() == 8);
}

TEST_CASE("ModelCheckpoint file names, weights only, batches and a missing monitor",
          "[io][checkpoint]") {
    CHECK(callbacks::detail::format_path("w.{epoch:02d}-{val_loss:.2f}.xk", 3, std::nullopt,
                                         {{"val_loss", 0.12345}}) == "w.03-0.12.xk");
    CHECK(callbacks::detail::format_path("m_{epoch}_{batch}.xk", 12, 7, {}) == "m_12_7.xk");
    CHECK_THROWS_WITH(
        callbacks::detail::format_path("{val_acc:.2f}", 1, std::nullopt, {{"loss", 1}}),
        Catch::Contains("{val_acc}") && Catch::Contains("loss"));
    testing::temp_dir d("xkeras-io");
    utils::set_random_seed(6);
    Sequential m;
    m.add(layers::Dense(2, {.activation = "softmax", .input_shape = {3}}));
    m.compile("sgd", "categorical_crossentropy");
    xt::xarray<float> x = xt::ones<float>({8, 3});
    xt::xarray<float> y = xt::zeros<float>({8, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    auto every = std::make_shared<callbacks::ModelCheckpoint<float>>(
        (d.path() / "w.{epoch:02d}.xk").string(),
        callbacks::ModelCheckpointOptions{.save_weights_only = true});
    auto batches = std::make_shared<callbacks::ModelCheckpoint<float>>(
        (d.path() / "b.{epoch}.{batch}.xk").string(),
        callbacks::ModelCheckpointOptions{.save_freq = 3});
    std::ostringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    auto missing = std::make_shared<callbacks::ModelCheckpoint<float>>(
        (d.path() / "never.xk").string(),
        callbacks::ModelCheckpointOptions{.monitor = "val_loss", .save_best_only = true});
    m.fit(x, y,
          {.batch_size = 2, .epochs = 2, .verbose = 0, .callbacks = {every, batches, missing}});
    std::cerr.rdbuf(old);
    CHECK(fs::exists(d.path() / "w.01.xk"));
    CHECK(fs::exists(d.path() / "w.02.xk"));
    CHECK(fs::exists(d.path() / "b.1.2.xk"));  // 3rd batch of epoch 1 (batches 0-based)
    CHECK(fs::exists(d.path() / "b.2.1.xk"));  // 6th batch overall
    CHECK_FALSE(fs::exists(d.path() / "never.xk"));
    CHECK(err.str() ==
          "UserWarning: Can save best model only with val_loss available, skipping. "
          "Available metrics are: loss\n");
    CHECK_THROWS_WITH(load_model(d.path() / "w.01.xk"), Catch::Contains("load_weights"));
}

TEST_CASE("Keras 3 and tf.keras 2.x JSON of the seed models load with Keras's counts",
          "[io][json]") {
    // E1 as Keras 3 writes it (abridged initializer objects are still objects)
    auto conv = [](const char* name, int filters) {
        return std::string(
                   R"({"module": "keras.layers", "class_name": "Conv2D", "config": {"name": ")") +
               name +
               R"(", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
               "filters": )" +
               std::to_string(filters) +
               R"(, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last",
               "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true,
               "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
               "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
               "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
               "kernel_constraint": null, "bias_constraint": null}, "registered_name": null},)";
    };
    auto pool = [](const char* name) {
        return std::string(
                   R"({"module": "keras.layers", "class_name": "MaxPooling2D", "config": {"name": ")") +
               name +
               R"(", "trainable": true, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}, "registered_name": null},)";
    };
    const std::string e1 =
        R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 28, 28, 1], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer"}, "registered_name": null},)" +
        conv("conv2d", 32) + pool("max_pooling2d") + conv("conv2d_1", 64) +
        pool("max_pooling2d_1") + conv("conv2d_2", 128) + pool("max_pooling2d_2") +
        R"({"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}, "registered_name": null},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 128, "activation": "relu", "use_bias": true,
          "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
          "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
          "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null},
        {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32", "rate": 0.25, "seed": null, "noise_shape": null}, "registered_name": null},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "dtype": "float32", "units": 10, "activation": "softmax", "use_bias": true}, "registered_name": null}],
        "build_input_shape": [null, 28, 28, 1]}, "registered_name": null, "build_config": {"input_shape": [null, 28, 28, 1]},
        "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.0010000000474974513,
          "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99,
          "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999,
          "epsilon": 1e-07, "amsgrad": false}, "registered_name": null},
          "loss": "categorical_crossentropy", "loss_weights": null, "metrics": ["Accuracy"], "weighted_metrics": null,
          "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false}})";
    auto m1 = model_from_json<float>(e1);
    CHECK(m1.count_params() == 241546);
    CHECK(m1.layers()[5]->output_shape() == shape_t{3, 3, 128});
    CHECK(m1.compiled());
    CHECK(m1.metric_names() == std::vector<std::string>{"Accuracy"});
    CHECK(m1.optimizer().learning_rate() == Approx(0.001));

    // E2 as older tf.keras writes it: batch_input_shape on the first layer, Activation layers
    const std::string e2 =
        R"({"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
      {"class_name": "Dense", "config": {"name": "dense_4", "trainable": true, "batch_input_shape": [null, 784], "dtype": "float32",
        "units": 512, "activation": "linear", "use_bias": true,
        "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": null}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null,
        "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
      {"class_name": "Activation", "config": {"name": "activation_4", "trainable": true, "dtype": "float32", "activation": "relu"}},
      {"class_name": "Dropout", "config": {"name": "dropout_3", "trainable": true, "dtype": "float32", "rate": 0.5, "noise_shape": null, "seed": null}},
      {"class_name": "Dense", "config": {"name": "dense_5", "trainable": true, "dtype": "float32", "units": 256, "activation": "linear", "use_bias": true}},
      {"class_name": "Activation", "config": {"name": "activation_5", "trainable": true, "dtype": "float32", "activation": "relu"}},
      {"class_name": "Dropout", "config": {"name": "dropout_4", "trainable": true, "dtype": "float32", "rate": 0.2, "noise_shape": null, "seed": null}},
      {"class_name": "Dense", "config": {"name": "dense_6", "trainable": true, "dtype": "float32", "units": 10, "activation": "linear", "use_bias": true}},
      {"class_name": "Activation", "config": {"name": "activation_6", "trainable": true, "dtype": "float32", "activation": "softmax"}}]},
      "keras_version": "2.2.4", "backend": "tensorflow"})";
    auto m2 = model_from_json<float>(e2);
    CHECK(m2.count_params() == 535818);
    CHECK(m2.layers()[0]->name() == "dense_4");
}

TEST_CASE("Losses with options survive the JSON round trip", "[io][json]") {
    for (bool logits : {false, true}) {
        losses::CategoricalCrossentropy<float> cce(logits, logits ? 0.0 : 0.2);
        auto back = losses::from_json<float>(cce.to_json());
        auto* c = dynamic_cast<losses::CategoricalCrossentropy<float>*>(back.get());
        REQUIRE(c != nullptr);
        CHECK(c->from_logits() == logits);
        CHECK(c->label_smoothing() == Approx(logits ? 0.0 : 0.2));
        CHECK(back->to_json() == cce.to_json());
        losses::SparseCategoricalCrossentropy<float> s(logits);
        CHECK(losses::from_json<float>(s.to_json())->to_json() == s.to_json());
        losses::BinaryCrossentropy<float> b(logits, 0.1);
        CHECK(losses::from_json<float>(b.to_json())->to_json() == b.to_json());
    }
    CHECK_THROWS_AS(losses::from_json<float>(json::parse(R"({"class_name": "Huber"})")),
                    value_error);
}

TEST_CASE("A loss is written back in the form it was given, as Keras keeps it", "[io][json]") {
    // a name stays that name, a loss object is Keras 3's serialized object
    Sequential by_name;
    by_name.add(layers::Dense(1, {.input_shape = {2}}));
    by_name.compile("sgd", "mse");
    CHECK(json::parse(by_name.to_json())["compile_config"]["loss"] == "mse");
    Sequential by_object;
    by_object.add(layers::Dense(1, {.activation = "sigmoid", .input_shape = {2}}));
    by_object.compile("sgd", losses::BinaryCrossentropy<float>());
    const json object = json::parse(by_object.to_json())["compile_config"]["loss"];
    CHECK(object["class_name"] == "BinaryCrossentropy");
    CHECK(object["module"] == "keras.losses");
    CHECK(object["config"]["from_logits"] == false);
    CHECK(object["config"]["name"] == "binary_crossentropy");

    // a loss object read from a file is written back as read (issue 25: it came back a string)
    const json read = json::parse(R"({"module": "keras.losses", "class_name": "BinaryCrossentropy",
        "config": {"name": "binary_crossentropy", "reduction": "sum_over_batch_size",
                   "from_logits": false, "label_smoothing": 0.0, "axis": -1, "dtype": null},
        "registered_name": null})");
    CHECK(losses::from_json<float>(read)->to_json() == read);
    // but tf.keras 2.x's form, which Keras 3 refuses ("reduction": "auto", "fn"), is written in
    // Keras 3's
    const json tf_keras = json::parse(R"({"class_name": "SparseCategoricalCrossentropy",
        "config": {"reduction": "auto", "name": "sparse_categorical_crossentropy",
                   "from_logits": true, "ignore_class": null}})");
    CHECK(losses::from_json<float>(tf_keras)->to_json() ==
          losses::SparseCategoricalCrossentropy<float>(true).to_json());
    const json tf_keras_v3 = json::parse(R"({"module": "keras.losses",
        "class_name": "CategoricalCrossentropy", "config": {"reduction": "auto",
        "name": "categorical_crossentropy", "from_logits": false, "label_smoothing": 0.1,
        "axis": -1, "fn": "categorical_crossentropy"}, "registered_name": null})");
    CHECK(losses::from_json<float>(tf_keras_v3)->to_json() ==
          losses::CategoricalCrossentropy<float>(false, 0.1).to_json());

    // Keras 3 writes a loss function as a "function" object naming it
    const json function = json::parse(R"({"module": "builtins", "class_name": "function",
        "config": "binary_crossentropy", "registered_name": "function"})");
    auto fn = losses::from_json<float>(function);
    CHECK(fn->name() == "binary_crossentropy");
    CHECK(fn->to_json() == function);
    auto model = model_from_json<float>(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 2]}},
        {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}]},
        "compile_config": {"optimizer": "adam", "loss": )" +
                                        function.dump() + R"(, "metrics": ["accuracy"]}})");
    CHECK(model.loss().name() == "binary_crossentropy");
    CHECK(json::parse(model.to_json())["compile_config"]["loss"] == function);

    // wrong types name the loss and the key, not nlohmann's type_error
    CHECK_THROWS_WITH(
        losses::from_json<float>(json::parse(R"({"class_name": "function", "config": 3})")),
        "loss: a loss function's config must be its name, got 3");
    CHECK_THROWS_WITH(losses::from_json<float>(json::parse(
                          R"({"class_name": "BinaryCrossentropy", "config": "binary"})")),
                      "loss BinaryCrossentropy: config must be an object, got \"binary\"");
    CHECK_THROWS_WITH(
        losses::from_json<float>(json::parse(
            R"({"class_name": "CategoricalCrossentropy", "config": {"from_logits": "yes"}})")),
        "loss CategoricalCrossentropy: from_logits must be true or false, got \"yes\"");
    CHECK_THROWS_WITH(
        losses::from_json<float>(json::parse(R"({"class_name": "SparseCategoricalCrossentropy",
            "config": {"ignore_class": 0}})")),
        Catch::Contains("ignore_class 0 is not supported"));
}

using testing::model_file_bytes;

TEST_CASE("Hostile JSON and model files are refused with xkeras errors (tests/fuzz)",
          "[io][json][file][errors]") {
    // found by fuzz_model_json: nlohmann reports a number too large for a double as
    // out_of_range, not parse_error, and it escaped model_from_json and the file loader
    CHECK_THROWS_AS(model_from_json<float>(R"({"class_name": 1E999})"), value_error);
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": 1E999})"),
                      Catch::StartsWith("model JSON: malformed JSON: ") &&
                          Catch::Contains("number overflow parsing '1E999'"));
    CHECK_THROWS_WITH(io::detail::parse_model_bytes(model_file_bytes(R"({"kind": 1E999})"), "n.xk"),
                      Catch::StartsWith("'n.xk': the header: malformed JSON: ") &&
                          Catch::Contains("number overflow"));
    // found by reading while writing the targets (inputs in tests/fuzz/regressions/):
    // a value of the wrong JSON type escaped as nlohmann::json::type_error
    CHECK_THROWS_WITH(model_from_json<float>(R"({"class_name": 5})"),
                      Catch::StartsWith("model JSON: a value has the wrong type: ") &&
                          Catch::Contains("type must be string, but is number"));
    CHECK_THROWS_WITH(io::detail::parse_model_bytes(model_file_bytes("[1, 2]"), "a.xk"),
                      "'a.xk': the header is not a JSON object but array");
    {
        const std::string head =
            R"({"format_version": 1, "kind": "model", "dtype": "float32", "model": {"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [null, 2]}},
            {"class_name": "Dense", "config": {"units": 1}}]}},
            "weights": [{"key": "dense/kernel", "shape": [2, 1], "offset": 0}, {"key": "dense/bias", "shape": [1], "offset": 8}],
            "training_state": {"shuffle_seed": "x"}})";
        const auto f =
            io::detail::parse_model_bytes(model_file_bytes(head, std::string(12, '\0')), "s.xk");
        CHECK_THROWS_AS(io::detail::load_model_from<float>(f), io_error);
        CHECK_THROWS_WITH(io::detail::load_model_from<float>(f),
                          "'s.xk': the shuffle seed must be an integer from 0 to "
                          "18446744073709551615, got \"x\"");
    }
    // an integer outside int's range was wrapped: units 4294967297 became a Dense of 1 unit
    CHECK_THROWS_WITH(
        model_from_json<float>(
            R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d", "units": 4294967297}}]}})"),
        "model JSON: layer 0: Dense 'd': config key 'units' = 4294967297 is out of range (at most "
        "2147483647)");
    // a shape whose element count overflows a size_t wrapped to 0 in Flatten
    CHECK_THROWS_WITH(
        model_from_json<float>(
            R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4294967296, 4294967296]}},
            {"class_name": "Flatten", "config": {"name": "f"}}]}})"),
        "model JSON: layer 1: layer 'f' (Flatten): input shape (None, 4294967296, 4294967296) has "
        "more elements than a size_t can count");
    // a model file announcing a layer far larger than its data is refused before allocating
    {
        const std::string head =
            R"({"format_version": 1, "kind": "model", "dtype": "float32", "model": {"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [null, 1000]}},
            {"class_name": "Dense", "config": {"name": "d", "units": 2000000000}}]}}, "weights": []})";
        const auto f = io::detail::parse_model_bytes(model_file_bytes(head), "big.xk");
        CHECK_THROWS_WITH(io::detail::load_model_from<float>(f),
                          "'big.xk': model JSON: layer 1: layer 'd' (Dense): weight 'kernel' of "
                          "shape (1000, 2000000000) needs 8000000000000 bytes, more than the 0 "
                          "bytes left by the file's tensor data");
    }
    // and JSON of unknown origin can be given a limit
    {
        layers::weight_limit limit(1 << 20, "a 1 MiB limit");
        CHECK_THROWS_WITH(
            model_from_json<float>(
                R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 1000]}},
                {"class_name": "Dense", "config": {"name": "d", "units": 1000}}]}})"),
            Catch::EndsWith("layer 'd' (Dense): weight 'kernel' of shape (1000, 1000) needs "
                            "4000000 bytes, more than the 1048576 bytes left by a 1 MiB limit"));
        CHECK(
            model_from_json<float>(
                R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 100]}},
                {"class_name": "Dense", "config": {"name": "d", "units": 100}}]}})")
                .count_params() == 10100);
    }
    // a convolution meets the limit before anything is sized by its input's channels (its
    // workspace once took 1 TB first: regressions/model_json/conv2d_channels_before_weight_limit)
    {
        layers::weight_limit limit(1 << 20, "a 1 MiB limit");
        CHECK_THROWS_WITH(
            model_from_json<float>(
                R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 21474836482]}},
                {"class_name": "Conv2D", "config": {"name": "c", "filters": 3, "kernel_size": [2, 3]}}]}})"),
            Catch::EndsWith("layer 'c' (Conv2D): weight 'kernel' of shape (2, 3, 21474836482, 3) "
                            "needs 1546188226704 bytes, more than the 1048576 bytes left by a 1 "
                            "MiB limit"));
    }
}
