// Keras's own files read by xkeras (keras_files.hpp): real `.keras` and `.weights.h5` files
// written by Keras 3 (tests/keras_files/, each with its PROVENANCE.txt), their predictions on
// real MNIST test images against an independent reference in Python (reference.py: h5py and
// numpy, from Keras's semantics, not from xkeras), and damaged or mismatched files refused with
// the model left as it was.
#include <catch2/catch.hpp>

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

#include "keras_files_helpers.hpp"

#include <cstring>
#include "saving_keras_files.hpp"  // docs/api/saving.md's example, compiled

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

TEST_CASE("Keras 3 .keras files load and predict as Keras does", "[keras_files][keras3]") {
    const fixture cases[] = {
        {"k3_01_seq_lenet_tanh/mnist_model.keras", "raw", {28, 28, 1}, 16280},
        {"k3_02_seq_cnn_tiny/mnist_cnn_model.keras", "unit", {28, 28, 1}, 21898},
        {"k3_06_seq_mlp/model.keras", "unit", {28, 28}, 53018},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        auto model = load_model(fixtures / c.file);
        CHECK(model.count_params() == c.params);
        CHECK(model.input_shape() == c.input);
        CHECK(model.compiled());
        const json ref = reference("'" + (fixtures / c.file).string() +
                                   "' --count 100 --accuracy --preprocess " + c.preprocess);
        const auto x = test_images(c.input, std::string(c.preprocess) == "raw" ? 1.0f : 255.0f);
        const xt::xarray<float> predictions = model.predict(x);
        const double diff = max_difference(predictions, ref["predictions"]);
        const double acc = accuracy(predictions);
        WARN(c.file << ": largest difference to the reference " << diff << ", accuracy " << acc
                    << " (reference " << ref["accuracy"].get<double>() << ")");
        CHECK(diff < 1e-5);
        // float32 against float64: a test image near a tie may fall either way
        CHECK(std::abs(acc - ref["accuracy"].get<double>()) <= 2e-4);
    }
}

TEST_CASE("A .keras file's optimizer state comes along: training resumes where Keras stopped",
          "[keras_files][keras3][optimizer]") {
    const auto path = fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras";
    auto model = load_model(path);
    // read with h5py alone: 0 the step count, 1 the learning rate, then Adam's m and v of each
    // trainable weight, alternating (m0, v0, m1, v1, ...)
    const json vars = python("optimizer_vars.py", "'" + path.string() + "'");
    const auto& opt = model.optimizer();
    CHECK(opt.class_name() == "Adam");
    CHECK(opt.iterations() == vars[0]["sum"].get<std::int64_t>());
    CHECK(opt.iterations() == 9375);
    const auto& weights = model.trainable_params();
    REQUIRE(vars.size() == 2 + 2 * weights.size());
    for (std::size_t w = 0; w < weights.size(); ++w) {
        INFO(weights[w]->name);
        const auto& slots = opt.slots().at(weights[w]->name);
        REQUIRE(slots.size() == 2);
        for (std::size_t k = 0; k < 2; ++k) {
            const json& v = vars[2 + 2 * w + k];
            CHECK(shape_of(slots[k]) == v["shape"].get<shape_t>());
            CHECK(double(slots[k].data()[0]) == v["first"].get<double>());
            CHECK(double(xt::sum(xt::cast<double>(slots[k]))()) ==
                  Approx(v["sum"].get<double>()).epsilon(1e-6));
        }
    }
}

TEST_CASE("Keras 3 .weights.h5 files load into the model they were saved from",
          "[keras_files][keras3]") {
    // w3_01 holds the weights of k3_02, w3_02 those of k3_06 (their PROVENANCE.txt)
    const std::pair<const char*, const char*> pairs[] = {
        {"k3_02_seq_cnn_tiny/mnist_cnn_model.keras", "w3_01_cnn_tiny/mnist_cnn.weights.h5"},
        {"k3_06_seq_mlp/model.keras", "w3_02_mlp/model.weights.h5"},
    };
    for (const auto& [keras, weights] : pairs) {
        INFO(weights);
        auto reference_model = load_model(fixtures / keras);
        auto model = load_model(fixtures / keras);
        auto halves = model.get_weights();  // nothing of the .keras file's weights left
        for (auto& w : halves) w.fill(0.5f);
        model.set_weights(halves);
        model.load_weights(fixtures / weights);
        const auto a = model.get_weights(), b = reference_model.get_weights();
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
    }
}

TEST_CASE("A Keras file that does not fit the model changes nothing and says why",
          "[keras_files][keras3][errors]") {
    auto cnn = load_model(fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras");
    const auto before = cnn.get_weights();
    // the MLP's weights into the CNN: the first layer already differs
    const auto mlp = fixtures / "w3_02_mlp/model.weights.h5";
    CHECK_THROWS_WITH(cnn.load_weights(mlp),
                      "'" + mlp.string() + "': /layers/conv2d is missing: the model's layer 0, '" +
                          cnn.layers()[0]->name() +
                          "' (Conv2D), keeps its weights there in Keras 3");
    const auto after = cnn.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
}

TEST_CASE("A .keras file written by xkeras has Keras 3's layout", "[keras_files][keras3][save]") {
    // k3_02 loaded and saved again: every zip entry, group, attribute, shape and dtype as Keras
    // 3.11 wrote them, read with zipfile and h5py alone
    scratch dir;
    const auto keras = fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras";
    auto model = load_model(keras);
    model.save(dir.path / "again.keras");
    const json theirs = python("layout.py", "'" + keras.string() + "'");
    const json ours = python("layout.py", "'" + (dir.path / "again.keras").string() + "'");
    CHECK(ours["entries"] == theirs["entries"]);
    CHECK(ours["metadata_keys"] == theirs["metadata_keys"]);
    CHECK(ours["config_keys"] == theirs["config_keys"]);
    CHECK(ours["weights"].dump(1) == theirs["weights"].dump(1));
    // and save_weights as Keras 3's save_weights: the weights file of the .keras
    model.save_weights(dir.path / "again.weights.h5");
    const json weights = python("layout.py", "'" + (dir.path / "again.weights.h5").string() + "'");
    CHECK(weights["weights"].dump(1) == theirs["weights"].dump(1));
    // a model xkeras trained (an MLP with BatchNormalization and Dropout, with SGD's momentum):
    // the layout of k3_06 where the layers agree, BatchNormalization's four variables, one
    // momentum per weight
    Sequential mlp;
    mlp.add(Input({28, 28}));
    mlp.add(layers::Flatten());
    mlp.add(layers::Dense(16, "relu"));
    mlp.add(layers::BatchNormalization());
    mlp.add(layers::Dropout(0.2));
    mlp.add(layers::Dense(10, "softmax"));
    mlp.compile(optimizers::SGD<float>({.learning_rate = 0.01, .momentum = 0.9}),
                "sparse_categorical_crossentropy", {"accuracy"});
    const auto x = test_images({28, 28}, 255.0f);
    const xt::xarray<float> some = xt::view(x, xt::range(0, 256));
    const xt::xarray<float> labels = xt::cast<float>(xt::view(test_labels(), xt::range(0, 256)));
    mlp.fit(some, labels, {.batch_size = 64, .epochs = 1, .verbose = 0});
    mlp.save(dir.path / "mlp.keras");
    const json mine = python("layout.py", "'" + (dir.path / "mlp.keras").string() + "'");
    const json& w = mine["weights"];
    CHECK(w["layers/batch_normalization/vars"]["attrs"]["name"]["value"] ==
          mlp.layers()[2]->name());
    CHECK(w["layers/batch_normalization/vars/3"]["shape"] == json::array({16}));
    CHECK(w["layers/dropout/vars"]["kind"] == "group");
    CHECK(w["optimizer/vars"]["attrs"]["name"]["value"] == "SGD");
    CHECK(w["optimizer/vars/0"]["dtype"] == "int64");
    CHECK(w["optimizer/vars/0"]["shape"] == json::array());
    CHECK(w["optimizer/vars/1"]["dtype"] == "float32");
    // 6 trainable weights (2 kernels, 2 biases, gamma, beta): a momentum each
    CHECK(w.contains("optimizer/vars/7"));
    CHECK_FALSE(w.contains("optimizer/vars/8"));
    CHECK(w["optimizer/vars/2"]["shape"] == json::array({784, 16}));
    CHECK(w["layers/dense_1/vars/0"]["shape"] == json::array({16, 10}));
}

TEST_CASE("Sequence layers' weights are where Keras 3 keeps them, and load back",
          "[keras_files][keras3][save][sequence]") {
    // Embedding, Conv1D and the poolings keep their weights in their own vars; the recurrent
    // layers in their cell's (layers/lstm/cell/vars), the layer's own vars group empty,
    // Bidirectional in its two layers' cells and TimeDistributed in its layer's, as Keras 3
    // writes
    scratch dir;
    utils::set_random_seed(12);
    Sequential m{Input({9}),
                 layers::Embedding(30, 6),
                 layers::Conv1D(5, 3, {.padding = "causal"}),
                 layers::MaxPooling1D(2, {.padding = "same"}),
                 layers::LSTM(4, {.return_sequences = true}),
                 layers::SimpleRNN(4, {.return_sequences = true}),
                 layers::Bidirectional(layers::LSTM(2, {.return_sequences = true})),
                 layers::TimeDistributed(layers::Dense(5, "relu")),
                 layers::GRU(3),
                 layers::Dense(2, "softmax")};
    m.compile("adam", "categorical_crossentropy");
    xt::xarray<float> x = xt::zeros<float>({16, 9});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float((i * 7) % 30);
    xt::xarray<float> y = xt::zeros<float>({16, 2});
    for (std::size_t i = 0; i < 16; ++i) y(i, i % 2) = 1.0f;
    m.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0});
    m.save(dir.path / "seq.keras");
    const json w = python("layout.py", "'" + (dir.path / "seq.keras").string() + "'")["weights"];
    CHECK(w["layers/embedding/vars/0"]["shape"] == json::array({30, 6}));
    CHECK(w["layers/conv1d/vars/0"]["shape"] == json::array({3, 6, 5}));
    CHECK(w["layers/max_pooling1d/vars"]["kind"] == "group");
    CHECK(w["layers/lstm/vars"]["kind"] == "group");
    CHECK_FALSE(w.contains("layers/lstm/vars/0"));
    CHECK(w["layers/lstm/cell/vars/0"]["shape"] == json::array({5, 16}));
    CHECK(w["layers/lstm/cell/vars/1"]["shape"] == json::array({4, 16}));
    CHECK(w["layers/lstm/cell/vars/2"]["shape"] == json::array({16}));
    CHECK(w["layers/simple_rnn/cell/vars/1"]["shape"] == json::array({4, 4}));
    CHECK(w["layers/simple_rnn/cell/vars/2"]["shape"] == json::array({4}));
    CHECK(w["layers/bidirectional/vars"]["kind"] == "group");
    CHECK(w["layers/bidirectional/forward_layer/vars"]["kind"] == "group");
    CHECK(w["layers/bidirectional/forward_layer/cell/vars/0"]["shape"] == json::array({4, 8}));
    CHECK(w["layers/bidirectional/backward_layer/cell/vars/1"]["shape"] == json::array({2, 8}));
    CHECK_FALSE(w.contains("layers/bidirectional/vars/0"));
    CHECK(w["layers/time_distributed/vars"]["kind"] == "group");
    CHECK(w["layers/time_distributed/layer/vars/0"]["shape"] == json::array({4, 5}));
    CHECK(w["layers/time_distributed/layer/vars/1"]["shape"] == json::array({5}));
    CHECK_FALSE(w.contains("layers/time_distributed/vars/0"));
    CHECK(w["layers/gru/cell/vars/0"]["shape"] == json::array({5, 9}));
    CHECK(w["layers/gru/cell/vars/2"]["shape"] == json::array({2, 9}));
    auto loaded = load_model(dir.path / "seq.keras");
    check_same_weights(loaded, m);
    const xt::xarray<float> a = m.predict(x), b = loaded.predict(x);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    // and Keras 3's weights file alone
    m.save_weights(dir.path / "seq.weights.h5");
    loaded.load_weights(dir.path / "seq.weights.h5");
    check_same_weights(loaded, m);
}

TEST_CASE("The convolution variants' weights are where Keras 3 keeps them, and load back",
          "[keras_files][keras3][legacy][save]") {
    // DepthwiseConv2D's kernel, SeparableConv2D's depthwise and pointwise kernels and
    // Conv2DTranspose's (kh, kw, filters, channels) kernel in their own vars, in Keras's order
    scratch dir;
    utils::set_random_seed(13);
    Sequential m{Input({6, 6, 3}),
                 layers::DepthwiseConv2D(3, {.padding = "same", .depth_multiplier = 2}),
                 layers::SeparableConv2D(4, 3, "relu"),
                 layers::Conv2DTranspose(2, 3, {.strides = 2, .padding = "same"}),
                 layers::Flatten(),
                 layers::Dense(2, "softmax")};
    m.compile("adam", "categorical_crossentropy");
    xt::xarray<float> x = xt::zeros<float>({8, 6, 6, 3});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float((i * 7) % 13) / 13.0f - 0.5f;
    xt::xarray<float> y = xt::zeros<float>({8, 2});
    for (std::size_t i = 0; i < 8; ++i) y(i, i % 2) = 1.0f;
    m.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
    m.save(dir.path / "conv.keras");
    const json w = python("layout.py", "'" + (dir.path / "conv.keras").string() + "'")["weights"];
    CHECK(w["layers/depthwise_conv2d/vars/0"]["shape"] == json::array({3, 3, 3, 2}));
    CHECK(w["layers/depthwise_conv2d/vars/1"]["shape"] == json::array({6}));
    CHECK(w["layers/separable_conv2d/vars/0"]["shape"] == json::array({3, 3, 6, 1}));
    CHECK(w["layers/separable_conv2d/vars/1"]["shape"] == json::array({1, 1, 6, 4}));
    CHECK(w["layers/separable_conv2d/vars/2"]["shape"] == json::array({4}));
    CHECK(w["layers/conv2d_transpose/vars/0"]["shape"] == json::array({3, 3, 2, 4}));
    CHECK(w["layers/conv2d_transpose/vars/1"]["shape"] == json::array({2}));
    check_keras_and_h5_round_trip(m, dir.path, "conv", x);
}

TEST_CASE("A nested model's weights are where Keras 3 keeps them, and load back",
          "[keras_files][keras3][legacy][save][nested]") {
    // Sequential([Input, Sequential([Dense, Dropout, Bidirectional(LSTM)]) ...]): the nested
    // model's layers under layers/sequential/layers/<key>, each with its vars group, a
    // Bidirectional's two cells too
    scratch dir;
    utils::set_random_seed(14);
    backend::clear_session();
    Sequential inner{layers::Dense(4, "relu"), layers::Dropout(0.1, {.seed = 2}),
                     layers::Bidirectional(layers::LSTM(3))};
    Sequential m{Input({5, 2}), std::move(inner), layers::Dense(2, "softmax")};
    m.compile("adam", "categorical_crossentropy");
    xt::xarray<float> x = xt::zeros<float>({8, 5, 2});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float((i * 7) % 13) / 13.0f - 0.5f;
    xt::xarray<float> y = xt::zeros<float>({8, 2});
    for (std::size_t i = 0; i < 8; ++i) y(i, i % 2) = 1.0f;
    m.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
    m.save(dir.path / "nested.keras");
    const json w = python("layout.py", "'" + (dir.path / "nested.keras").string() + "'")["weights"];
    CHECK(w["layers/sequential/vars"]["kind"] == "group");
    CHECK_FALSE(w.contains("layers/sequential/layers/vars"));
    CHECK(w["layers/sequential/layers/dense/vars/0"]["shape"] == json::array({2, 4}));
    CHECK(w["layers/sequential/layers/dense/vars/1"]["shape"] == json::array({4}));
    CHECK(w["layers/sequential/layers/dropout/vars"]["kind"] == "group");
    CHECK(w["layers/sequential/layers/bidirectional/forward_layer/cell/vars/0"]["shape"] ==
          json::array({4, 12}));
    CHECK(w["layers/sequential/layers/bidirectional/backward_layer/cell/vars/1"]["shape"] ==
          json::array({3, 12}));
    CHECK(w["layers/dense/vars/0"]["shape"] == json::array({6, 2}));
    check_keras_and_h5_round_trip(m, dir.path, "nested", x);
}

TEST_CASE("A .keras file written by xkeras loads back bit for bit, optimizer state included",
          "[keras_files][keras3][save]") {
    scratch dir;
    auto first = check_resume_through(dir.path / "half.keras", [] { return small_cnn(7, "adam"); });
    // the independent reference reads what xkeras wrote and predicts what xkeras predicts
    const json ref =
        reference("'" + (dir.path / "half.keras").string() + "' --count 50 --preprocess unit");
    const xt::xarray<float> x = xt::view(test_images({28, 28, 1}, 255.0f), xt::range(0, 50));
    CHECK(max_difference(first.predict(x), ref["predictions"]) < 1e-5);
}

TEST_CASE("The fuzz targets' seeds written by xkeras load back", "[keras_files][save][fuzz]") {
    // tests/fuzz/corpus/keras_file, keras_weights and keras_legacy hold these next to the real
    // files: XKERAS_WRITE_FUZZ_SEEDS=<tests/fuzz/corpus> writes them there
    scratch dir;
    const char* to = std::getenv("XKERAS_WRITE_FUZZ_SEEDS");
    const fs::path out = to ? fs::path(to) : dir.path;
    fs::create_directories(out / "keras_file");
    fs::create_directories(out / "keras_weights");
    fs::create_directories(out / "keras_legacy");
    utils::set_random_seed(3);
    Sequential tiny;
    tiny.add(Input({4}));
    tiny.add(layers::Dense(3, "relu"));
    tiny.add(layers::BatchNormalization());
    tiny.add(layers::Dense(2, "softmax"));
    tiny.compile("adam", "categorical_crossentropy", {"accuracy"});
    xt::xarray<float> x = xt::ones<float>({8, 4}), y = xt::zeros<float>({8, 2});
    xt::view(y, xt::all(), 0) = 1.0f;
    tiny.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
    tiny.save(out / "keras_file" / "xkeras_tiny_adam.keras");
    CHECK(load_model(out / "keras_file" / "xkeras_tiny_adam.keras").count_params() ==
          tiny.count_params());
    // the legacy target's: the same model as a full .h5, and the weights of its fixed model
    tiny.save(out / "keras_legacy" / "xkeras_tiny_adam.h5");
    CHECK(load_model(out / "keras_legacy" / "xkeras_tiny_adam.h5").count_params() ==
          tiny.count_params());
    auto conv = load_model(fixtures / "h5_07_fml_conv2d_dropout/keras_conv2d_model.h5");
    conv.save_weights(out / "keras_legacy" / "xkeras_conv_weights.h5");
    conv.load_weights(out / "keras_legacy" / "xkeras_conv_weights.h5");
    // the keras_weights target's model: k3_01's architecture, with Adam, one step taken
    auto lenet = load_model(fixtures / "k3_01_seq_lenet_tanh/mnist_model.keras");
    lenet.save_weights(out / "keras_weights" / "xkeras_lenet_adam.weights.h5");
    auto again = load_model(fixtures / "k3_01_seq_lenet_tanh/mnist_model.keras");
    again.load_weights(out / "keras_weights" / "xkeras_lenet_adam.weights.h5");
    CHECK(again.get_weights().size() == lenet.get_weights().size());
    CHECK(fs::file_size(out / "keras_weights" / "xkeras_lenet_adam.weights.h5") < 262144);
}

TEST_CASE("Keras files are named as Keras names them", "[keras_files][save][errors]") {
    scratch dir;
    Sequential m;
    m.add(layers::Dense(2, {.input_shape = {3}}));
    // save_weights writes weights files only; a .keras file holds a whole model
    CHECK_THROWS_WITH(m.save_weights(dir.path / "m.keras"),
                      Catch::Contains("Keras's weights files end in .weights.h5 (Keras 3) or .h5 "
                                      "(Keras 2)"));
    CHECK(fs::is_empty(dir.path));
    // Keras 3's model.save: .h5 and .hdf5 are the legacy format; save_weights to .h5 is Keras 2's
    m.save(dir.path / "m.h5");
    m.save(dir.path / "m.hdf5");
    m.save_weights(dir.path / "w.h5");
    for (const char* f : {"m.h5", "m.hdf5", "w.h5"}) {
        INFO(f);
        const std::string bytes = read_bytes(dir.path / f);
        CHECK(bytes.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) == 0);
    }
    CHECK(load_model(dir.path / "m.hdf5").count_params() == m.count_params());
}

TEST_CASE("A Functional .keras file with a nested augmentation Sequential loads as it is",
          "[keras_files][keras3]") {
    // k3_05 is a Functional chain whose first layer is a nested Sequential of augmentation
    // layers (RandomRotation, RandomZoom, RandomTranslation): identities at inference, read as
    // one layer of inference-only layers
    const auto path = fixtures / "k3_05_functional_bn/mnist_model.keras";
    auto model = load_model(path);
    CHECK(model.count_params() == 131530);
    REQUIRE(model.layers().size() == 17);
    REQUIRE(model.layers()[0]->class_name() == "Sequential");
    const auto augmentation =
        dynamic_cast<layers::NestedSequential<float>&>(*model.layers()[0]).layers();
    REQUIRE(augmentation.size() == 3);
    CHECK(augmentation[0]->class_name() == "RandomRotation");
    CHECK(augmentation[2]->class_name() == "RandomTranslation");
    CHECK(model.optimizer().iterations() == 6375);
    const json ref = reference("'" + path.string() + "' --count 100 --accuracy --preprocess unit");
    const xt::xarray<float> predictions = model.predict(test_images({28, 28, 1}, 255.0f));
    const double diff = max_difference(predictions, ref["predictions"]);
    const double acc = accuracy(predictions);
    WARN("k3_05: largest difference to the reference "
         << diff << ", accuracy " << acc << " (reference " << ref["accuracy"].get<double>() << ")");
    CHECK(diff < 1e-5);
    CHECK(std::abs(acc - ref["accuracy"].get<double>()) <= 2e-4);
    // saved again (a Sequential of the same layers, the augmentation nested), it loads back
    // bit for bit
    scratch dir;
    model.save(dir.path / "again.keras");
    auto again = load_model(dir.path / "again.keras");
    CHECK(again.layers()[0]->class_name() == "Sequential");
    CHECK(again.to_json() == model.to_json());
    const xt::xarray<float> x = xt::view(test_images({28, 28, 1}, 255.0f), xt::range(0, 20));
    CHECK((again.predict(x) == model.predict(x)));
    // and training through the augmentation, which xkeras does not implement, is refused
    const xt::xarray<float> y = xt::cast<float>(xt::view(test_labels(), xt::range(0, 20)));
    CHECK_THROWS_WITH(model.fit(x, y, {.epochs = 1, .verbose = 0}),
                      Catch::Contains("(Sequential) runs only at inference in xkeras"));
}

TEST_CASE("Hostile Keras files are refused with what was expected and what came",
          "[keras_files][errors][fuzz]") {
    // the fuzz targets' regression inputs (tests/fuzz/regressions/keras_*), made with Python's
    // zipfile and h5py
    const fs::path regressions = fs::path(XKERAS_KERAS_FILES_DIR) / "../fuzz/regressions";
    auto model_of = [&](const char* name) {
        const auto path = regressions / "keras_file" / name;
        return std::pair{path, read_bytes(path)};
    };
    {
        const auto [path, bytes] = model_of("entry_name_dotdot");
        CHECK_THROWS_WITH(keras_files::load_dot_keras<float>(bytes, "f.keras"),
                          Catch::Contains("'f.keras' has no config.json"));
    }
    {
        const auto [path, bytes] = model_of("deflate_bomb");
        CHECK_THROWS_WITH(keras_files::load_dot_keras<float>(bytes, "f.keras"),
                          Catch::Contains("entry 'metadata.json' expands") &&
                              Catch::Contains("to 67108864, a ratio no model file has"));
    }
    {
        const auto [path, bytes] = model_of("config_deep");
        CHECK_THROWS_WITH(keras_files::load_dot_keras<float>(bytes, "f.keras"),
                          Catch::StartsWith("'f.keras': config.json") && Catch::Contains("deep"));
    }
    {
        const auto [path, bytes] = model_of("weights_not_hdf5");
        // (load_model stops earlier: 104 bytes of weights cannot hold the architecture's)
        Sequential lenet_like = load_model(fixtures / "k3_01_seq_lenet_tanh/mnist_model.keras");
        CHECK_THROWS_WITH(keras_files::detail::load_weights_bytes(lenet_like, bytes, "f.keras"),
                          "'f.keras: model.weights.h5' is not an HDF5 file (its first 8 bytes are "
                          "not HDF5's signature)");
    }
    {
        // links other than hard ones: an external link would make HDF5 open another file
        scratch tmp;
        auto mlp = load_model(fixtures / "k3_06_seq_mlp/model.keras");
        const std::string source = (fixtures / "w3_02_mlp/model.weights.h5").string();
        for (const char* link :
             {"h5py.ExternalLink('other.h5', '/vars')", "h5py.SoftLink('/vars')"}) {
            INFO(link);
            const fs::path linked = tmp.path / "linked.weights.h5";
            const std::string script =
                "import h5py, shutil\nshutil.copy('" + source + "', '" + linked.string() +
                "')\nf = h5py.File('" + linked.string() +
                "', 'a')\ndel f['layers/dense_1']\nf['layers/dense_1'] = " + link + "\nf.close()\n";
            write_bytes(tmp.path / "link.py", script);
            REQUIRE(std::system(
                        ("/usr/bin/python3 '" + (tmp.path / "link.py").string() + "'").c_str()) ==
                    0);
            CHECK_THROWS_WITH(mlp.load_weights(linked),
                              "'" + linked.string() +
                                  "': /layers/dense_1 is a soft or external link; a Keras file "
                                  "holds the group itself");
        }
    }
    {
        // a config asking for a layer of 10^9 units: refused before anything is allocated
        const keras_files::zip::archive real(read_bytes(fixtures / "k3_06_seq_mlp/model.keras"),
                                             "k3_06");
        std::string config = real.read("config.json");
        const std::string units = "\"units\": 64";
        REQUIRE(config.find(units) != std::string::npos);
        config.replace(config.find(units), units.size(), "\"units\": 1000000000");
        const std::string bytes =
            keras_files::zip::store({{"metadata.json", real.read("metadata.json")},
                                     {"config.json", config},
                                     {"model.weights.h5", real.read("model.weights.h5")}},
                                    0);
        CHECK_THROWS_WITH(keras_files::load_dot_keras<float>(bytes, "f.keras"),
                          Catch::Contains("needs 3136000000000 bytes, more than the") &&
                              Catch::Contains("bytes left by the size of model.weights.h5"));
    }
    auto lenet = load_model(fixtures / "k3_01_seq_lenet_tanh/mnist_model.keras");
    const auto before = lenet.get_weights();
    const std::pair<const char*, std::string> weights[] = {
        {"wrong_shape",
         "'w.h5': /layers/conv2d/vars/0 has shape (3, 3, 1, 7), the model's weight "
         "has shape (3, 3, 1, 6)"},
        {"huge_unstored_dataset",
         "'w.h5': /layers/conv2d/vars/0 has shape (1099511627776,), the "
         "model's weight has shape (3, 3, 1, 6)"},
        {"integer_weights",
         "'w.h5': /layers/conv2d/vars/0 holds int32 values; a weight must be "
         "float32 or float64"},
        {"vars_not_indices",
         "'w.h5': /layers/conv2d/vars/kernel is not a variable: a vars group holds 0, 1, ..."},
        {"truncated_half", "'w.h5' is damaged: HDF5 cannot open it (a truncated or altered file)"},
    };
    for (const auto& [name, message] : weights) {
        INFO(name);
        const std::string bytes = read_bytes(regressions / "keras_weights" / name);
        CHECK_THROWS_WITH(
            keras_files::load_keras3_weights(lenet, keras_files::hdf5::file(bytes, "w.h5")),
            message);
    }
    const auto after = lenet.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
}

TEST_CASE("Damaged .keras files are refused with the file named, never a crash",
          "[keras_files][keras3][errors]") {
    scratch tmp;
    const auto& dir = tmp.path;
    const std::string good = read_bytes(fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras");
    // truncations lose the zip directory, which is at the end; flips anywhere
    CHECK(check_damaged_files(good, dir / "bad.keras", 4) > 0);
}
