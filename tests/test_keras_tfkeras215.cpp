// tf.keras 2.15's files read by xkeras: its `.keras` zip (groups joined with '\' when written on
// Windows, no learning rate among the optimizer's variables, config.json in 2.15's form) and its
// legacy `.h5` ("Custom>Adam", metrics nested in a list, loss objects Keras 3 refuses). No such
// file is in tests/keras_files (LAYOUT.md describes two kept back) and TensorFlow is not
// installed: tfkeras215.py writes k3_02's model, weights and Adam state again in 2.15's
// layouts, following 2.15's writers, and the independent reference reads what it wrote.
#include <catch2/catch.hpp>

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

#include "keras_files_helpers.hpp"

#include <cstdlib>
#include <string>

namespace {

const fs::path k3_02 = fixtures / "k3_02_seq_cnn_tiny/mnist_cnn_model.keras";

/// k3_02 written by tfkeras215.py in `layout` ("windows", "linux" or "h5") to `out`.
fs::path as_tf_keras_215(const fs::path& out, const std::string& layout, bool sgd = false) {
    const std::string command = "/usr/bin/python3 '" + (fixtures / "tfkeras215.py").string() +
                                "' '" + k3_02.string() + "' '" + out.string() + "' --layout " +
                                layout + (sgd ? " --sgd" : "");
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
    return out;
}

}  // namespace

TEST_CASE("tf.keras 2.15's .keras and .h5 files load with their Adam state",
          "[keras_files][tf_keras]") {
    scratch tmp;
    const auto original = load_model(k3_02);
    const std::pair<const char*, const char*> layouts[] = {
        {"windows", "windows.keras"}, {"linux", "linux.keras"}, {"h5", "model.h5"}};
    for (const auto& [layout, name] : layouts) {
        INFO(layout);
        const fs::path path = as_tf_keras_215(tmp.path / name, layout);
        auto model = load_model(path);
        check_same_weights(model, original);
        CHECK(model.metric_names() == std::vector<std::string>{"accuracy"});
        CHECK(model.loss().name() == "sparse_categorical_crossentropy");
        const auto& opt = model.optimizer();
        CHECK(opt.class_name() == "Adam");
        CHECK(opt.iterations() == 9375);
        // compiled with "adam" (what 2.15's .keras keeps): Keras's default rate, 0.001, where
        // k3_02 holds it in float32
        CHECK(float(opt.learning_rate()) == float(original.optimizer().learning_rate()));
        REQUIRE(opt.slots().size() == original.optimizer().slots().size());
        for (const auto& [param, slots] : original.optimizer().slots()) {
            INFO(param);
            const auto& read = opt.slots().at(param);
            REQUIRE(read.size() == 2);
            CHECK((read[0] == slots[0]));
            CHECK((read[1] == slots[1]));
        }
        // the independent reference reads the same file
        const json ref = reference("'" + path.string() + "' --count 100 --preprocess unit");
        CHECK(max_difference(model.predict(test_images({28, 28, 1}, 255.0f)), ref["predictions"]) <
              1e-5);
    }
}

TEST_CASE("tf.keras 2.15's SGD keeps unused momentum slots, read and left",
          "[keras_files][tf_keras]") {
    scratch tmp;
    for (const char* layout : {"windows", "h5"}) {
        INFO(layout);
        const fs::path path =
            as_tf_keras_215(tmp.path / (std::string(layout) + ".sgd"), layout, true);
        auto model = load_model(path);
        CHECK(model.optimizer().class_name() == "SGD");
        CHECK(model.optimizer().iterations() == 9375);
        CHECK(model.optimizer().learning_rate() == Approx(0.01));
        CHECK(model.optimizer().slots().empty());
    }
}

TEST_CASE("A tf.keras 2.15 model saved again is a Keras 3 file", "[keras_files][tf_keras][save]") {
    scratch tmp;
    auto model = load_model(as_tf_keras_215(tmp.path / "model.h5", "h5"));
    // 2.15's loss object ("reduction": "auto") is refused by Keras 3: written in Keras 3's form
    const json loss = json::parse(model.to_json())["compile_config"]["loss"];
    CHECK(loss["module"] == "keras.losses");
    CHECK(loss["class_name"] == "SparseCategoricalCrossentropy");
    CHECK(loss["config"]["reduction"] == "sum_over_batch_size");
    model.save(tmp.path / "again.keras");
    const json layout = python("layout.py", "'" + (tmp.path / "again.keras").string() + "'");
    CHECK(layout["weights"].contains("layers/conv2d/vars/0"));
    CHECK(layout["weights"]["optimizer/vars/1"]["shape"] == json::array());  // the rate
    check_same_weights(load_model(tmp.path / "again.keras"), model);
}

TEST_CASE("A tf.keras 2.15 file of another model is refused, naming its group",
          "[keras_files][tf_keras][errors]") {
    scratch tmp;
    auto mlp = load_model(fixtures / "k3_06_seq_mlp/model.keras");
    const auto before = mlp.get_weights();
    const fs::path path = as_tf_keras_215(tmp.path / "windows.keras", "windows");
    CHECK_THROWS_WITH(mlp.load_weights(path), Catch::Contains("/layers\\dense/vars/0"));
    check_same_weights(mlp, load_model(fixtures / "k3_06_seq_mlp/model.keras"));
}
