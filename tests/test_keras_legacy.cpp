// Keras's legacy HDF5 files read and written by xkeras (keras_files/legacy.hpp,
// legacy_writer.hpp): real `.h5` files written by Keras 2.1.6, tf.keras 2.2.4 and Keras 2.3.1
// (tests/keras_files/h5_*, each with its PROVENANCE.txt), their predictions against the
// independent reference in Python (reference.py), their optimizer state against h5py, the files
// xkeras writes read back by xkeras and by the reference, and damaged or mismatched files
// refused with the model left as it was.
#include "keras_files_helpers.hpp"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace {

/// `count` inputs of `shape` with values in [0, 1), the same on every run.
xt::xarray<float> fixed_inputs(std::size_t count, const shape_t& shape) {
    std::vector<std::size_t> s{count};
    s.insert(s.end(), shape.begin(), shape.end());
    xt::xarray<float> x = xt::zeros<float>(s);
    std::uint32_t state = 12345;
    for (auto& v : x) {
        state = state * 1664525u + 1013904223u;
        v = float(state >> 8) / float(1u << 24);
    }
    return x;
}

/// `x` as a JSON file reference.py's --inputs reads.
fs::path write_inputs(const fs::path& dir, const xt::xarray<float>& x) {
    const auto path = dir / "inputs.json";
    const std::vector<std::size_t> shape(x.shape().begin(), x.shape().end());
    // reference.py takes a nested array (N, *input_shape)
    std::function<json(std::size_t, std::size_t&)> nest = [&](std::size_t axis,
                                                              std::size_t& at) -> json {
        json out = json::array();
        for (std::size_t i = 0; i < shape[axis]; ++i)
            out.push_back(axis + 1 == shape.size() ? json(x.data()[at++]) : nest(axis + 1, at));
        return out;
    };
    std::size_t at = 0;
    write_bytes(path, nest(0, at).dump());
    return path;
}

}  // namespace

TEST_CASE("Legacy .h5 model files load and predict as Keras does", "[keras_files][legacy]") {
    // tf.keras 2.2.4's MLP on MNIST, compiled with Adam
    const auto mlp = fixtures / "h5_01_kotlindl_mnist_full/mnist.h5";
    auto model = load_model(mlp);
    CHECK(model.count_params() == 101770);
    CHECK(model.input_shape() == shape_t{28, 28});
    REQUIRE(model.compiled());
    CHECK(model.loss().name() == "sparse_categorical_crossentropy");
    CHECK(model.optimizer().class_name() == "Adam");
    const json ref = reference("'" + mlp.string() + "' --count 100 --accuracy --preprocess unit");
    const xt::xarray<float> predictions = model.predict(test_images({28, 28}, 255.0f));
    const double diff = max_difference(predictions, ref["predictions"]);
    const double acc = accuracy(predictions);
    WARN("h5_01: largest difference to the reference "
         << diff << ", accuracy " << acc << " (reference " << ref["accuracy"].get<double>() << ")");
    CHECK(diff < 1e-5);
    CHECK(std::abs(acc - ref["accuracy"].get<double>()) <= 2e-4);

    // Keras 2.3.1's convolution on 8x8 inputs (not images: fixed inputs through --inputs)
    scratch dir;
    const auto conv = fixtures / "h5_07_fml_conv2d_dropout/keras_conv2d_model.h5";
    auto small = load_model(conv);
    CHECK(small.count_params() == 1310);
    CHECK(!small.compiled());  // the file has no training_config
    const auto x = fixed_inputs(20, {8, 8, 1});
    const json small_ref = python("reference.py", "'" + conv.string() + "' --inputs '" +
                                                      write_inputs(dir.path, x).string() + "'");
    CHECK(max_difference(small.predict(x), small_ref["predictions"]) < 1e-5);

    // Keras 2.3.1's Functional chain: Dense, BatchNormalization (epsilon 1e-6), Activation, x4
    const auto functional = fixtures / "h5_06_fml_dense_bn/keras_3layer_batch_norm.h5";
    auto chain = load_model(functional);
    CHECK(chain.count_params() == 4921);
    CHECK(chain.layers().size() == 12);
    const auto features = fixed_inputs(20, {16});
    const json chain_ref =
        python("reference.py", "'" + functional.string() + "' --inputs '" +
                                   write_inputs(dir.path, features).string() + "'");
    const double chain_diff = max_difference(chain.predict(features), chain_ref["predictions"]);
    WARN("h5_06: largest difference to the reference " << chain_diff);
    CHECK(chain_diff < 1e-5);
}

TEST_CASE("A legacy .h5 file's optimizer state comes along", "[keras_files][legacy][optimizer]") {
    // tf.keras 2.2.4 lists the step count, then every m, then every v (read with h5py alone)
    const auto path = fixtures / "h5_01_kotlindl_mnist_full/mnist.h5";
    const auto model = load_model(path);
    const json vars = python("optimizer_vars.py", "'" + path.string() + "'");
    const auto& opt = model.optimizer();
    CHECK(vars[0]["name"] == "Adam/iter:0");
    CHECK(opt.iterations() == vars[0]["sum"].get<std::int64_t>());
    CHECK(opt.iterations() == 9375);
    const auto& weights = model.trainable_params();
    REQUIRE(vars.size() == 1 + 2 * weights.size());
    for (std::size_t w = 0; w < weights.size(); ++w) {
        INFO(weights[w]->name);
        const auto& slots = opt.slots().at(weights[w]->name);
        REQUIRE(slots.size() == 2);
        for (std::size_t k = 0; k < 2; ++k) {
            const json& v = vars[1 + k * weights.size() + w];
            CHECK(v["name"] == "Adam/" + weights[w]->name + (k == 0 ? "/m:0" : "/v:0"));
            CHECK(shape_of(slots[k]) == v["shape"].get<shape_t>());
            CHECK(double(slots[k].data()[0]) == v["first"].get<double>());
            CHECK(double(xt::sum(xt::cast<double>(slots[k]))()) ==
                  Approx(v["sum"].get<double>()).epsilon(1e-6));
        }
    }
}

TEST_CASE("Legacy weights-only .h5 files load into the model they belong to",
          "[keras_files][legacy]") {
    // h5_02 holds the weights of h5_01 (its PROVENANCE.txt)
    const auto full = load_model(fixtures / "h5_01_kotlindl_mnist_full/mnist.h5");
    auto model = load_model(fixtures / "h5_01_kotlindl_mnist_full/mnist.h5");
    auto halves = model.get_weights();
    for (auto& w : halves) w.fill(0.5f);
    model.set_weights(halves);
    model.load_weights(fixtures / "h5_02_kotlindl_mnist_weights/mnist_weights_only.h5");
    check_same_weights(model, full);
    // a full file's weights load too, as Keras 2's load_weights reads them
    model.set_weights(halves);
    model.load_weights(fixtures / "h5_01_kotlindl_mnist_full/mnist.h5");
    check_same_weights(model, full);

    // KotlinDL's LeNets (Fashion-MNIST), their architecture in a JSON file of their own: the
    // second has BatchNormalization after every layer (gamma, beta, moving mean and variance).
    // At 3.4 MB each they are too large for the repository: they are read from the shared
    // fixtures (XKERAS_SHARED_KERAS_FILES, ../shared/keras_files by default) when present.
    const fs::path shared = XKERAS_SHARED_KERAS_FILES_DIR;
    if (!fs::exists(shared / "h5_04_kotlindl_lenet_bn_weights")) {
        WARN("skipped: KotlinDL's LeNet weights: no " << shared.string());
        return;
    }
    // trained on Fashion-MNIST (x / 255): their accuracy on its test set when Debian's
    // dataset-fashion-mnist is installed, as KotlinDL's tests and the notebook report it
    const bool fashion =
        fs::exists(datasets::fashion_mnist::default_dir() / "t10k-labels-idx1-ubyte.gz");
    if (!fashion) WARN("dataset-fashion-mnist is not installed: the LeNets run on MNIST's images");
    struct lenet_file {
        const char *config, *weights;
        double published;
    };
    const lenet_file lenets[] = {
        {"h5_03_kotlindl_lenet_weights/lenetMdl.json",
         "h5_03_kotlindl_lenet_weights/lenet_weights_only.h5", 0.8287},
        {"h5_04_kotlindl_lenet_bn_weights/modelConfig.json",
         "h5_04_kotlindl_lenet_bn_weights/weights.h5", 0.9119},
    };
    for (const auto& [config, weights, published] : lenets) {
        INFO(weights);
        auto lenet = model_from_json(read_bytes(shared / config));
        lenet.load_weights(shared / weights);
        std::string args = "'" + (shared / weights).string() + "' --config '" +
                           (shared / config).string() + "' --count 50 --preprocess unit";
        args += fashion ? " --dataset fashion_mnist --accuracy --data-dir '" +
                              datasets::fashion_mnist::default_dir().string() + "'"
                        : " --data-dir '" + datasets::mnist::default_dir().string() + "'";
        const json ref = python("reference.py", args);
        const auto fashion_test =
            fashion ? datasets::fashion_mnist::load_data().test : datasets::split{};
        xt::xarray<float> x = test_images({28, 28, 1}, 255.0f);
        if (fashion) {
            x = xt::cast<float>(fashion_test.images) / 255.0f;
            x.reshape({x.shape()[0], 28, 28, 1});
        }
        const xt::xarray<float> predictions = lenet.predict(x);
        const double diff = max_difference(predictions, ref["predictions"]);
        WARN(weights << ": largest difference to the reference " << diff);
        CHECK(diff < 1e-5);
        if (!fashion) continue;
        const auto& labels = fashion_test.labels;
        std::size_t right = 0;
        for (std::size_t i = 0; i < labels.size(); ++i)
            right += std::size_t(xt::argmax(xt::view(predictions, i))()) == labels(i);
        const double acc = double(right) / double(labels.size());
        WARN(weights << ": Fashion-MNIST test accuracy " << acc << " (reference "
                     << ref["accuracy"].get<double>() << ", published " << published << ")");
        CHECK(std::abs(acc - ref["accuracy"].get<double>()) <= 2e-4);
        CHECK(std::abs(acc - published) <= 2e-4);
    }
}

TEST_CASE("A Keras-trained LSTM predicts as PyTorch's LSTM with its kernels does",
          "[keras_files][legacy][lstm]") {
    // KotlinDL's character model (tf.keras 2.4): three stacked LSTM(64) over 40 steps of 41
    // symbols, Dropout, Dense, softmax; its architecture and weights-only file, from the shared
    // fixtures. The reference is PyTorch's nn.LSTM (tests/keras_files/lstm_reference.py).
    const fs::path dir = fs::path(XKERAS_SHARED_KERAS_FILES_DIR) / "l2_01_kotlindl_lstm";
    if (!fs::exists(dir)) {
        WARN("skipped: KotlinDL's LSTM: no " << dir.string());
        return;
    }
    if (std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
        WARN("skipped: KotlinDL's LSTM needs PyTorch (bash scripts/install_deps.sh --torch)");
        return;
    }
    auto model = model_from_json(read_bytes(dir / "model.json"));
    model.load_weights(dir / "weights.h5");
    CHECK(model.count_params() == 95849);
    // one-hot sequences (what the model reads) and uniform values, the same on every run
    xt::xarray<float> x = xt::zeros<float>({24, 40, 41});
    std::uint32_t state = 2024;
    for (std::size_t i = 0; i < 16; ++i)
        for (std::size_t t = 0; t < 40; ++t) {
            state = state * 1664525u + 1013904223u;
            x(i, t, (state >> 8) % 41) = 1.0f;
        }
    xt::view(x, xt::range(16, 24)) = fixed_inputs(8, {40, 41});
    scratch tmp;
    const json ref =
        python("lstm_reference.py", "'" + (dir / "weights.h5").string() + "' --config '" +
                                        (dir / "model.json").string() + "' --inputs '" +
                                        write_inputs(tmp.path, x).string() + "'");
    const double diff = max_difference(model.predict(x), ref["predictions"]);
    WARN("l2_01: largest difference to PyTorch's LSTM " << diff);
    CHECK(diff < 1e-5);
}

TEST_CASE("Legacy files xkeras cannot use are refused by name", "[keras_files][legacy][errors]") {
    const auto channels_first = fixtures / "h5_09_keras216_cnn/mnist_model.weights.h5";
    CHECK_THROWS_WITH(load_model(channels_first),
                      Catch::StartsWith("'" + channels_first.string() + "': @model_config:") &&
                          Catch::Contains("channels_first"));
    const auto weights_only = fixtures / "h5_02_kotlindl_mnist_weights/mnist_weights_only.h5";
    CHECK_THROWS_WITH(load_model(weights_only),
                      "'" + weights_only.string() +
                          "' holds weights only (Keras 2's save_weights): build the model and "
                          "call model.load_weights");

    // the MLP's weights into a convolution: two layers with weights each, of other shapes
    auto conv = load_model(fixtures / "h5_07_fml_conv2d_dropout/keras_conv2d_model.h5");
    const auto before = conv.get_weights();
    CHECK_THROWS_WITH(conv.load_weights(weights_only),
                      "'" + weights_only.string() +
                          "': /dense_6/dense_6/kernel:0 has shape (784, 128), the model's weight "
                          "has shape (3, 3, 1, 2)");
    // and into a model with one layer with weights more
    auto three = load_model(fixtures / "k3_06_seq_mlp/model.keras");
    CHECK_THROWS_WITH(three.load_weights(weights_only),
                      "'" + weights_only.string() +
                          "': / holds the weights of 2 layers; the model has 4 layers with "
                          "weights (the file was saved from another model)");
    const auto after = conv.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
}

TEST_CASE("A legacy .h5 file written by xkeras has Keras 3's legacy layout",
          "[keras_files][legacy][save]") {
    scratch dir;
    auto model = load_model(fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras");
    model.save(dir.path / "cnn.h5");
    const json layout = python("layout.py", "'" + (dir.path / "cnn.h5").string() + "'");
    const json& h5 = layout.contains("weights") ? layout["weights"] : layout;
    INFO(h5.dump(1));
    const json& root = h5["/"]["attrs"];
    CHECK(root["keras_version"]["value"] == keras_files::keras_format_version);
    CHECK(root["backend"]["value"] == "tensorflow");
    const json config = json::parse(root["model_config"]["value"].get<std::string>());
    CHECK(config["class_name"] == "Sequential");
    CHECK(!config.contains("module"));  // the legacy form: class_name and config only
    for (const auto& layer : config["config"]["layers"]) CHECK(layer.size() == 2);
    const json training = json::parse(root["training_config"]["value"].get<std::string>());
    CHECK(training["optimizer_config"]["class_name"] == "Adam");
    CHECK(!training.contains("optimizer"));
    // the weights: one group per layer, weight_names giving paths and order
    const json& weights = h5["model_weights"]["attrs"];
    CHECK(weights["layer_names"]["string"]["variable"] == true);
    const auto layers = model.layers();
    for (const auto* layer : layers) {
        INFO(layer->name());
        const std::string group = "model_weights/" + layer->name();
        REQUIRE(h5.contains(group));
        for (const auto* p : layer->params()) {
            const json& d = h5[group + "/" + p->name];
            CHECK(d["kind"] == "dataset");
            CHECK(d["dtype"] == "float32");
            CHECK(d["shape"].get<shape_t>() == shape_of(p->value));
            CHECK(d["chunks"].is_null());
        }
    }
    CHECK(h5["model_weights/" + layers[0]->name()]["attrs"]["weight_names"]["value"]
              .get<std::string>()
              .find(layers[0]->name() + "/kernel") != std::string::npos);
    CHECK(h5["model_weights/top_level_model_weights"]["attrs"]["weight_names"]["value"] == "[]");
    // the optimizer's variables, named as Keras 3 names them
    CHECK(h5["optimizer_weights/adam/iteration"]["dtype"] == "int64");
    CHECK(h5["optimizer_weights/adam/learning_rate"]["dtype"] == "float32");
    const std::string kernel = layers[0]->name() + "_kernel";
    CHECK(h5.contains("optimizer_weights/adam/" + kernel + "_momentum"));
    CHECK(h5.contains("optimizer_weights/adam/" + kernel + "_velocity"));
    const json vars = python("optimizer_vars.py", "'" + (dir.path / "cnn.h5").string() + "'");
    CHECK(vars.size() == 2 + 2 * model.trainable_params().size());
    CHECK(vars[2]["name"] == "adam/" + kernel + "_momentum");  // m and v alternate per weight
    CHECK(vars[3]["name"] == "adam/" + kernel + "_velocity");
}

TEST_CASE("A legacy .h5 file written by xkeras loads back bit for bit, optimizer state included",
          "[keras_files][legacy][save]") {
    scratch dir;
    const auto make = [] {
        return small_cnn(11, optimizers::RMSprop({.momentum = 0.5, .centered = true}));
    };
    auto first = check_resume_through(dir.path / "half.h5", make);

    // weights alone, as Keras 2's save_weights writes them
    first.save_weights(dir.path / "half_weights.h5");
    auto fresh = make();
    fresh.load_weights(dir.path / "half_weights.h5");
    check_same_weights(first, fresh);

    // the independent reference reads what xkeras wrote and predicts what xkeras predicts
    const json ref =
        reference("'" + (dir.path / "half.h5").string() + "' --count 50 --preprocess unit");
    const xt::xarray<float> x = xt::view(test_images({28, 28, 1}, 255.0f), xt::range(0, 50));
    CHECK(max_difference(first.predict(x), ref["predictions"]) < 1e-5);
}

TEST_CASE("Damaged and hostile legacy files are refused, the model unchanged, never a crash",
          "[keras_files][legacy][errors]") {
    scratch tmp;
    const std::string good =
        read_bytes(fixtures / "h5_07_fml_conv2d_dropout/keras_conv2d_model.h5");
    CHECK(check_damaged_files(good, tmp.path / "bad.h5", 8) > 0);

    // fuzzing found a global heap on which HDF5 1.10's reader loops for ever (a free-space
    // object of size 0): refused before HDF5 sees it
    const std::string stall = read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                                         "../fuzz/regressions/keras_legacy/hdf5_global_heap_stall");
    CHECK_THROWS_WITH(keras_files::load_legacy_model<float>(stall, "f.h5"),
                      Catch::StartsWith("'f.h5' is damaged: the global heap at byte ") &&
                          Catch::EndsWith("holds an empty free-space object, on which HDF5's "
                                          "reader never ends"));

    // and a string attribute whose characters the file says are 2 MB each: HDF5 would
    // allocate and clear 4.9 GB for it before reading it
    const std::string wide =
        read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                   "../fuzz/regressions/keras_legacy/hdf5_vlen_length_4941746184");
    CHECK_THROWS_WITH(keras_files::load_legacy_model<float>(wide, "f.h5"),
                      "'f.h5': /@model_config is damaged: attribute 'model_config' is "
                      "variable-length with elements of 2162689 bytes; strings have 1");

    // and more that HDF5 trusts: a heap object larger than its heap (HDF5 copies it past both
    // buffers), free space recorded as 2^64 - 33,032 bytes (HDF5's walk wraps back before the
    // heap and reads there), a group's local heap whose free list loops (HDF5 allocates a node
    // per step until memory runs out), a local heap announcing 4 GiB of link names in a file of
    // 2.5 KB (HDF5 allocates them before it reads them), a local heap whose link names run
    // past its end (HDF5 checks where a name starts, not where it ends)
    const std::pair<const char*, const char*> trusted[] = {
        {"keras_legacy/hdf5_heap_object_past_its_end",
         "'f.h5' is damaged: the global heap at byte 2048 holds an object larger than itself, "
         "which HDF5 would copy as it is"},
        {"keras_legacy/hdf5_free_space_past_its_end",
         "'f.h5' is damaged: the global heap at byte 2048 records free space past its end, from "
         "which HDF5's reader steps outside it"},
        {"keras_weights/hdf5_local_heap_free_list_loop",
         "'f.h5' is damaged: the local heap at byte 680 has a free list that loops, on which "
         "HDF5's reader never ends"},
        {"keras_weights/hdf5_local_heap_unterminated",
         "'f.h5' is damaged: the local heap at byte 680 does not end in a NUL byte, past which "
         "HDF5 would read a link name"},
        {"keras_weights/hdf5_local_heap_of_4_gib",
         "'f.h5' is damaged: the local heap at byte 680 announces 4294770864 bytes of data at "
         "byte 712, past the file's 2536 bytes, which HDF5 would allocate before reading them"},
    };
    // an attribute whose shape does not fit its message: HDF5 copies its values past the end
    const std::string past =
        read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                   "../fuzz/regressions/keras_legacy/hdf5_attribute_values_past_message");
    CHECK_THROWS_WITH(keras_files::load_legacy_model<float>(past, "f.h5"),
                      "'f.h5': / is damaged: an attribute message at byte 1064 has a shape that "
                      "does not fit");
    // a group whose object header announces 4 GiB, which HDF5 allocates as it opens the group:
    // the header is checked first, found through the group's link
    write_bytes(tmp.path / "header.h5",
                read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                           "../fuzz/regressions/keras_legacy/hdf5_object_header_of_4_gib"));
    auto mnist = load_model(fixtures / "h5_01_kotlindl_mnist_full/mnist.h5");
    CHECK_THROWS_WITH(mnist.load_weights(tmp.path / "header.h5"),
                      "'" + (tmp.path / "header.h5").string() +
                          "': /flatten_1 is damaged: a continuation chunk lies outside the file");
    // an attribute of an enumeration type whose decoding HDF5 copies past its own buffer:
    // only numbers and strings pass
    CHECK_THROWS_WITH(
        keras_files::load_legacy_model<float>(
            read_bytes(
                fs::path(XKERAS_KERAS_FILES_DIR) /
                "../fuzz/regressions/keras_legacy/hdf5_attribute_type_copied_past_its_buffer"),
            "f.h5"),
        "'f.h5': / is damaged: an attribute message at byte 832 has a type of class 8; Keras's "
        "attributes are numbers and strings");
    // a variable-length string whose type announces 6 bytes a value: HDF5 keeps 6 and decodes 16
    CHECK_THROWS_WITH(
        keras_files::load_legacy_model<float>(
            read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                       "../fuzz/regressions/keras_legacy/hdf5_vlen_value_of_6_bytes"),
            "f.h5"),
        "'f.h5': / is damaged: an attribute message at byte 984 has variable-length values of 6 "
        "bytes; HDF5 stores them in 16");
    // a weight whose layout a bit flip made compact, with no data: HDF5 copied its values from
    // address 0 (CI's 20 s fuzzing, 2026-12-04)
    auto conv = load_model(fixtures / "h5_07_fml_conv2d_dropout/keras_conv2d_model.h5");
    const auto conv_before = conv.get_weights();
    write_bytes(tmp.path / "compact.h5",
                read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                           "../fuzz/regressions/keras_legacy/hdf5_compact_dataset_without_data"));
    CHECK_THROWS_WITH(conv.load_weights(tmp.path / "compact.h5"),
                      "'" + (tmp.path / "compact.h5").string() +
                          "': /conv2d_1/conv2d_1/kernel is damaged: its compact storage holds 0 "
                          "bytes, its shape and type need 72");
    const auto conv_after = conv.get_weights();
    for (std::size_t i = 0; i < conv_before.size(); ++i) CHECK(conv_after[i] == conv_before[i]);
    // the same in the root group's header, which HDF5 reads as it opens the file
    CHECK_THROWS_WITH(keras_files::hdf5::file(read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) /
                                                         "../fuzz/regressions/keras_legacy/"
                                                         "hdf5_root_header_of_4_gib"),
                                              "f.h5"),
                      Catch::StartsWith("'f.h5' is damaged: the root group's object header: "));
    for (const auto& [file, message] : trusted) {
        INFO(file);
        const std::string bytes =
            read_bytes(fs::path(XKERAS_KERAS_FILES_DIR) / "../fuzz/regressions" / file);
        CHECK_THROWS_WITH(keras_files::hdf5::file(bytes, "f.h5"), message);
    }

    // files made here with the writer, each wrong in one way
    auto model = load_model(fixtures / "h5_01_kotlindl_mnist_full/mnist.h5");
    const auto before = model.get_weights();
    auto weights_file = [&](const std::vector<std::string>& dense_names, bool top_level) {
        keras_files::hdf5::writer w;
        {
            const auto root = w.root();
            root.attribute("layer_names", std::vector<std::string>{"flatten_3", "dense_6", "d7"});
            root.group("flatten_3").attribute("weight_names", std::vector<std::string>{});
            const auto d6 = root.group("dense_6");
            d6.attribute("weight_names", dense_names);
            d6.dataset("dense_6/kernel:0", tensor<float>(xt::zeros<float>(shape_t{784, 128})));
            d6.dataset("dense_6/bias:0", tensor<float>(xt::zeros<float>(shape_t{128})));
            const auto d7 = root.group("d7");
            d7.attribute("weight_names", std::vector<std::string>{"k", "b"});
            d7.dataset("k", tensor<float>(xt::zeros<float>(shape_t{128, 10})));
            d7.dataset("b", tensor<float>(xt::zeros<float>(shape_t{10})));
            if (top_level)
                root.group("top_level_model_weights")
                    .attribute("weight_names", std::vector<std::string>{"k"});
        }
        return w.bytes();
    };
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{"dense_6/../dense_6/kernel:0", "dense_6/bias:0"},
         "'w.h5': /dense_6/dense_6/../dense_6/kernel:0: a path with an empty, '.' or '..' part "
         "names nothing"},
        {{"dense_6//kernel:0", "dense_6/bias:0"},
         "'w.h5': /dense_6/dense_6//kernel:0: a path with an empty, '.' or '..' part names "
         "nothing"},
        {{"dense_6/bias:0", "dense_6/kernel:0"},
         "'w.h5': /dense_6/dense_6/bias:0 has shape (128,), the model's weight has shape (784, "
         "128)"},
        {{"dense_6/kernel:0"},
         "'w.h5': /dense_6 holds 1 weights; the model's layer 0 with weights, 'dense_6' (Dense), "
         "has 2"},
        {{"dense_6/kernel:0", "dense_6/missing:0"},
         "'w.h5': /dense_6/dense_6/missing:0 is missing (expected a dataset)"},
    };
    for (const auto& [names, message] : cases) {
        INFO(message);
        CHECK_THROWS_WITH(
            keras_files::detail::load_weights_bytes(model, weights_file(names, false), "w.h5"),
            message);
    }
    CHECK_THROWS_WITH(
        keras_files::detail::load_weights_bytes(
            model, weights_file({"dense_6/kernel:0", "dense_6/bias:0"}, true), "w.h5"),
        "'w.h5': /top_level_model_weights holds weights of the model itself; an xkeras "
        "Sequential model has none");
    const auto after = model.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
    // the same file without the faults loads (the writer made it right)
    keras_files::detail::load_weights_bytes(
        model, weights_file({"dense_6/kernel:0", "dense_6/bias:0"}, false), "w.h5");
    CHECK(xt::all(xt::equal(model.get_weights()[0], 0.0f)));
}
