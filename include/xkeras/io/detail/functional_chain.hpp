// xkeras/io/detail/functional_chain.hpp - a Functional model that is a plain chain of layers,
// read as the Sequential model it computes.
//
// Keras users often build a one-input, one-output model with the Functional API
// (`x = Dense(64)(inputs)` ...): every layer then takes the output of the one before. Its config
// lists the layers with their `inbound_nodes` (Keras 3: {"args": [keras tensors], "kwargs": {}};
// tf.keras 2.x: [[name, node, tensor, kwargs]]) and the model's `input_layers` and
// `output_layers`. Such a config is rewritten as a Sequential config; a graph that branches,
// merges or shares a layer is refused, naming the layer and its inputs. A nested model stays a
// layer of the chain (model_json_impl.hpp reads it).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "../../config.hpp"
#include "../json_limits.hpp"

namespace xkeras::io::detail {

/// One input of a layer's call: the layer it comes from, and that layer's node and tensor.
struct inbound_ref {
    std::string layer;
    long node = 0;
    long tensor = 0;
};

/// What a layer of a Functional config takes as input, over all its calls; `calls` counts them.
inline std::vector<inbound_ref> functional_inputs(const nlohmann::json& layer,
                                                  const std::string& where, std::size_t& calls) {
    using json = nlohmann::json;
    std::vector<inbound_ref> out;
    calls = 0;
    if (!layer.contains("inbound_nodes") || !layer["inbound_nodes"].is_array())
        throw value_error(where + " has no inbound_nodes list");
    // Keras 3 names an input [layer, node, tensor] in keras_history; tf.keras 2.x in the node
    // list itself, with the call's kwargs as a fourth element
    auto take = [&](const json& history) {
        if (!history.is_array() || history.size() < 3 || !history[0].is_string() ||
            !history[1].is_number_integer() || !history[2].is_number_integer())
            throw value_error(where +
                              ": an input is not [layer, node, tensor]: " + describe(history));
        out.push_back(
            {history[0].get<std::string>(), history[1].get<long>(), history[2].get<long>()});
    };
    // the call's options that do not change what a chain computes: Keras records `mask: null`,
    // and `training`, which the model's own call overrides
    auto check_kwargs = [&](const json& kwargs) {
        if (kwargs.is_null()) return;
        if (!kwargs.is_object()) throw value_error(where + ": kwargs " + describe(kwargs));
        for (const auto& [key, value] : kwargs.items())
            if (key != "training" && !value.is_null())
                throw value_error(where + " is called with " + excerpt(key, 60) + " = " +
                                  describe(value) + "; xkeras reads chains of plain calls");
    };
    for (const auto& node : layer["inbound_nodes"]) {
        ++calls;
        if (node.is_object()) {  // Keras 3
            const json args = node.value("args", json::array());
            if (!args.is_array()) throw value_error(where + ": args " + describe(args));
            for (const auto& arg : args) {
                if (!arg.is_object() ||
                    arg.value("class_name", std::string()) != "__keras_tensor__")
                    throw value_error(where + " is called with " + describe(arg) +
                                      "; xkeras reads chains of layers each called on one tensor");
                take(arg.value("config", json::object()).value("keras_history", json()));
            }
            check_kwargs(node.value("kwargs", json::object()));
        } else if (node.is_array()) {  // tf.keras 2.x
            for (const auto& input : node) {
                take(input);
                if (input.size() > 3) check_kwargs(input[3]);
            }
        } else {
            throw value_error(where + ": an inbound node is " + describe(node));
        }
    }
    return out;
}

/// The first [layer, node, tensor] of a Functional config's `input_layers` / `output_layers`,
/// which hold one such list, or a list of them.
inline std::vector<nlohmann::json> functional_ends(const nlohmann::json& config, const char* key) {
    if (!config.contains(key) || !config[key].is_array())
        throw value_error(std::string("model JSON: the Functional config has no '") + key + "'");
    const auto& v = config[key];
    if (!v.empty() && v[0].is_string()) return {v};
    return std::vector<nlohmann::json>(v.begin(), v.end());
}

/// The Sequential config computed by the Functional config `j` ({"class_name": "Functional"
/// or "Model", "config": {...}}), keeping its other keys (compile_config, keras_version).
/// value_error when the graph is not a plain chain from one InputLayer to one output.
inline nlohmann::json functional_chain_as_sequential(const nlohmann::json& j) {
    using json = nlohmann::json;
    const std::string cls = j["class_name"].get<std::string>();
    const json& config = j.contains("config") ? j["config"] : json();
    if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array())
        throw value_error("model JSON: the " + excerpt(cls, 60) + " config has no 'layers' list");
    const std::string model = config.value("name", std::string("functional"));
    const std::string what =
        "model JSON: " + excerpt(cls, 60) + " model '" + excerpt(model, 60) + "'";
    const auto inputs = functional_ends(config, "input_layers");
    const auto outputs = functional_ends(config, "output_layers");
    if (inputs.size() != 1 || outputs.size() != 1)
        throw value_error(what + " has " + std::to_string(inputs.size()) + " inputs and " +
                          std::to_string(outputs.size()) +
                          " outputs; xkeras reads a Functional model with one of each as a chain");
    const json& layers = config["layers"];
    json out_layers = json::array();
    std::string previous;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const json& layer = layers[i];
        if (!layer.is_object() || !layer.contains("class_name") || !layer["class_name"].is_string())
            throw value_error(what + ": layer " + std::to_string(i) + " has no class_name");
        const std::string lcls = layer["class_name"].get<std::string>();
        const json& lcfg = layer.contains("config") ? layer["config"] : json::object();
        const std::string name = layer.contains("name") && layer["name"].is_string()
                                     ? layer["name"].get<std::string>()
                                     : lcfg.value("name", std::string());
        const std::string where = what + ": layer " + std::to_string(i) + " '" + excerpt(name, 60) +
                                  "' (" + excerpt(lcls, 60) + ")";
        std::size_t calls = 0;
        const auto in = functional_inputs(layer, where, calls);
        if (i == 0) {
            if (lcls != "InputLayer" || calls != 0)
                throw value_error(where + ": a chain starts with its InputLayer");
            if (!inputs[0].is_array() || inputs[0].empty() || inputs[0][0] != name)
                throw value_error(what + ": its input is " + describe(inputs[0]) +
                                  ", not the first layer '" + excerpt(name, 60) + "'");
        } else {
            if (calls != 1)
                throw value_error(where + " is called " + std::to_string(calls) +
                                  " times; xkeras reads chains where each layer is called once");
            if (in.size() != 1)
                throw value_error(where + " takes " + std::to_string(in.size()) +
                                  " inputs; xkeras reads chains of layers with one input each");
            if (in[0].layer != previous || in[0].node != 0 || in[0].tensor != 0)
                throw value_error(where + " takes its input from '" + excerpt(in[0].layer, 60) +
                                  "', not from the layer before it, '" + excerpt(previous, 60) +
                                  "': the model is not a plain chain");
        }
        out_layers.push_back({{"class_name", lcls}, {"config", lcfg}});
        previous = name;
    }
    if (!outputs[0].is_array() || outputs[0].empty() || outputs[0][0] != previous)
        throw value_error(what + ": its output is " + describe(outputs[0]) +
                          ", not the last layer '" + excerpt(previous, 60) +
                          "': the model is not a plain chain");
    json seq = j;
    seq["class_name"] = "Sequential";
    seq.erase("module");
    seq["config"] = {{"name", model}, {"layers", out_layers}};
    return seq;
}

}  // namespace xkeras::io::detail
