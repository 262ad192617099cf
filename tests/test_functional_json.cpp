// Functional models read from Keras JSON (io/detail/functional_chain.hpp): a plain chain of
// layers, in tf.keras 2.x's form and Keras 3's, is the Sequential model it computes; a graph that
// branches, merges, shares a layer or calls a layer with options is refused,
// naming the layer.
#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

#include <string>

using namespace xkeras;
using json = nlohmann::json;

namespace {

/// A layer of a Keras 3 Functional config, called on the output of `from` (none: an input).
json keras3_layer(const std::string& cls, const std::string& name, json config,
                  const std::string& from, json kwargs = json::object()) {
    config["name"] = name;
    json nodes = json::array();
    if (!from.empty())
        nodes.push_back(
            {{"args",
              {{{"class_name", "__keras_tensor__"},
                {"config", {{"shape", {nullptr, 4}}, {"keras_history", {from, 0, 0}}}}}}},
             {"kwargs", kwargs}});
    return {{"module", "keras.layers"},
            {"class_name", cls},
            {"config", config},
            {"name", name},
            {"inbound_nodes", nodes}};
}

/// Keras 3's config of Input(4) -> Dense(3, relu) -> Dropout -> Dense(2, softmax).
json keras3_chain() {
    json layers = json::array();
    layers.push_back(
        keras3_layer("InputLayer", "input_layer", {{"batch_shape", {nullptr, 4}}}, ""));
    layers.push_back(
        keras3_layer("Dense", "dense", {{"units", 3}, {"activation", "relu"}}, "input_layer"));
    layers.push_back(
        keras3_layer("Dropout", "dropout", {{"rate", 0.5}}, "dense", {{"training", false}}));
    layers.push_back(keras3_layer("Dense", "dense_1", {{"units", 2}, {"activation", "softmax"}},
                                  "dropout", {{"mask", nullptr}}));
    return {
        {"module", "keras.src.models.functional"},
        {"class_name", "Functional"},
        {"config",
         {{"name", "functional"},
          {"layers", layers},
          {"input_layers", {{"input_layer", 0, 0}}},
          {"output_layers", {{"dense_1", 0, 0}}}}},
        {"compile_config",
         {{"optimizer", "adam"}, {"loss", "categorical_crossentropy"}, {"metrics", {"accuracy"}}}}};
}

}  // namespace

TEST_CASE("A Functional chain in Keras 3's form is read as a Sequential model", "[model_json]") {
    auto m = model_from_json(keras3_chain().dump());
    REQUIRE(m.layers().size() == 3);
    CHECK(m.name() == "functional");
    CHECK(m.input_shape() == shape_t{4});
    CHECK(m.layers()[0]->name() == "dense");
    CHECK(m.layers()[1]->class_name() == "Dropout");
    CHECK(m.layers()[2]->name() == "dense_1");
    CHECK(m.count_params() == 4 * 3 + 3 + 3 * 2 + 2);
    CHECK(m.compiled());
    CHECK(m.optimizer().class_name() == "Adam");
    // Keras 3's single-input form: "input_layers": [name, 0, 0]
    json single = keras3_chain();
    single["config"]["input_layers"] = {"input_layer", 0, 0};
    single["config"]["output_layers"] = {"dense_1", 0, 0};
    CHECK(model_from_json(single.dump()).count_params() == m.count_params());
}

TEST_CASE("A Functional chain in tf.keras 2.x's form is read as a Sequential model",
          "[model_json]") {
    // as tf.keras 2.3 writes it (tests/keras_files/h5_06 has one of these)
    const auto m = model_from_json(R"({"class_name": "Model", "config": {"name": "model_1",
      "layers": [
        {"name": "input_1", "class_name": "InputLayer",
         "config": {"batch_input_shape": [null, 16], "dtype": "float32", "sparse": false,
                    "name": "input_1"}, "inbound_nodes": []},
        {"name": "fc1", "class_name": "Dense", "config": {"name": "fc1", "units": 8},
         "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"name": "bn1", "class_name": "BatchNormalization",
         "config": {"name": "bn1", "axis": -1, "epsilon": 1e-06},
         "inbound_nodes": [[["fc1", 0, 0, {}]]]},
        {"name": "relu1", "class_name": "Activation",
         "config": {"name": "relu1", "activation": "relu"},
         "inbound_nodes": [[["bn1", 0, 0, {}]]]}],
      "input_layers": [["input_1", 0, 0]], "output_layers": [["relu1", 0, 0]]},
      "keras_version": "2.3.1", "backend": "tensorflow"})");
    REQUIRE(m.layers().size() == 3);
    CHECK(m.name() == "model_1");
    CHECK(m.input_shape() == shape_t{16});
    CHECK(m.layers()[1]->class_name() == "BatchNormalization");
    CHECK(m.output_shape() == shape_t{8});
}

TEST_CASE("A Functional model that is not a plain chain is refused by layer",
          "[model_json][errors]") {
    const std::string model = "model JSON: Functional model 'functional'";
    {  // a skip connection: dense_1 takes the input, not dropout's output
        json j = keras3_chain();
        j["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = {
            "input_layer", 0, 0};
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          model +
                              ": layer 3 'dense_1' (Dense) takes its input from "
                              "'input_layer', not from the layer before it, 'dropout': the "
                              "model is not a plain chain");
    }
    {  // a merge: two inputs
        json j = keras3_chain();
        auto& args = j["config"]["layers"][3]["inbound_nodes"][0]["args"];
        args.push_back(args[0]);
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          model +
                              ": layer 3 'dense_1' (Dense) takes 2 inputs; xkeras reads "
                              "chains of layers with one input each");
    }
    {  // a shared layer: called twice
        json j = keras3_chain();
        auto& nodes = j["config"]["layers"][1]["inbound_nodes"];
        nodes.push_back(nodes[0]);
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          model +
                              ": layer 1 'dense' (Dense) is called 2 times; xkeras reads "
                              "chains where each layer is called once");
    }
    {  // a call with an option that changes it
        json j = keras3_chain();
        j["config"]["layers"][1]["inbound_nodes"][0]["kwargs"] = {{"mask", {1, 0}}};
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          Catch::StartsWith(model + ": layer 1 'dense' (Dense) is called with "
                                                    "mask = "));
    }
    {  // the output is not the last layer
        json j = keras3_chain();
        j["config"]["output_layers"] = {{"dense", 0, 0}};
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          Catch::Contains("not the last layer 'dense_1': the model is not a "
                                          "plain chain"));
    }
    {  // two outputs
        json j = keras3_chain();
        j["config"]["output_layers"] = {{"dense", 0, 0}, {"dense_1", 0, 0}};
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          model +
                              " has 1 inputs and 2 outputs; xkeras reads a Functional model "
                              "with one of each as a chain");
    }
    {  // a nested model stays a layer of the chain (test_nested_models.cpp): this one has none
        json j = keras3_chain();
        j["config"]["layers"][2]["class_name"] = "Sequential";
        CHECK_THROWS_WITH(model_from_json(j.dump()),
                          "model JSON: layer 2 'dropout' (Sequential, a nested model): "
                          "Sequential 'dropout': config key 'layers' must be a list of layers, "
                          "got null");
    }
}
