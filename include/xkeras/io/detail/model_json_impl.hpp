// xkeras/io/detail/model_json_impl.hpp - the model's architecture as Keras-compatible JSON.
//
// `model.to_json()` writes Keras 3's form (the `to_json` of keras.Sequential: module /
// class_name / config / registered_name objects, an InputLayer with `batch_shape`, build and
// compile configs). `xkeras::model_from_json(text)` reads that and tf.keras 2.x's form
// (InputLayer `batch_input_shape`, `batch_input_shape` on the first layer, BatchNormalization
// `axis` as a list, dtype strings, initializer and regularizer objects or names). An unsupported
// layer or option is refused by name. Keras 2.0-2.2's Sequential config, the bare list of its
// layers, is read; the Keras 1 schema (keras_version 1.x, Convolution2D, output_dim, ...) is
// refused with a message saying so. A Functional model that is a plain chain of layers is read
// as the Sequential model it computes (functional_chain.hpp). The model is compiled when the
// JSON holds a compile_config.
#pragma once

#include <nlohmann/json.hpp>

#include <cctype>
#include <string>
#include <vector>

// Included at the end of model.hpp (basic_sequential is complete here); include
// <xkeras/io/model_json.hpp> or <xkeras/model.hpp> instead of this file.
#include "../../layers/registry.hpp"
#include "../json_limits.hpp"
#include "functional_chain.hpp"

namespace xkeras {

namespace io::detail {

using json = nlohmann::json;

using layers::config::snake_case;

/// Keys of the layers that do not depend on their names: Keras 3's .weights.h5 scheme
/// (config::keras_keys). One per layer, in model order.
template <class T>
std::vector<std::string> layer_keys(const basic_sequential<T>& m) {
    std::vector<std::string> classes;
    for (auto* l : m.layers()) classes.push_back(l->class_name());
    return layers::config::keras_keys(classes);
}

/// Keys of the weights: the layer's key (layer_keys) and the weight's own name:
/// "dense_1/kernel". One entry per parameter, in model order.
template <class T>
std::vector<std::pair<std::string, layers::Param<T>*>> weight_keys(const basic_sequential<T>& m) {
    std::vector<std::pair<std::string, layers::Param<T>*>> out;
    const auto keys = layer_keys(m);
    const auto all = m.layers();
    for (std::size_t i = 0; i < all.size(); ++i) {
        // the weight's name without its layer's ("dense/kernel" -> "kernel"; a wrapper's
        // "bidirectional/forward_lstm/kernel" -> "forward_lstm/kernel"), after the layer's key
        const std::string& prefix = keys[i];
        const std::string own = all[i]->name() + "/";
        for (auto* p : all[i]->params()) {
            const std::string rest = p->name.rfind(own, 0) == 0
                                         ? p->name.substr(own.size())
                                         : p->name.substr(p->name.rfind('/') + 1);
            out.emplace_back(prefix + "/" + rest, p);
        }
    }
    return out;
}

using layers::config::batch_shape;
using layers::config::from_batch_shape;

inline bool is_keras1_layer(const std::string& cls) {
    for (const char* k1 :
         {"Convolution1D", "Convolution2D", "Convolution3D", "AtrousConvolution2D",
          "Deconvolution2D", "Merge", "MaxoutDense", "Highway", "TimeDistributedDense"})
        if (cls == k1) return true;
    return false;
}

/// Options only Keras 1 layers have (Keras 2 renamed them: units, filters, padding, ...).
inline bool has_keras1_options(const std::string& class_name, const json& config) {
    if (!config.is_object()) return false;
    for (const char* k1 :
         {"output_dim", "nb_filter", "nb_row", "border_mode", "init", "W_regularizer"})
        // Embedding's output_dim is Keras 2's and 3's too
        if (config.contains(k1) && (class_name != "Embedding" || std::string(k1) != "output_dim"))
            return true;
    return false;
}

}  // namespace io::detail

/// The model as a Keras 3 JSON object (what to_json prints).
template <class T>
nlohmann::json model_to_json_object(const basic_sequential<T>& m) {
    using io::detail::json;
    json layers = json::array();
    const bool built = m.built();
    if (built)
        layers.push_back({{"module", "keras.layers"},
                          {"class_name", "InputLayer"},
                          {"config",
                           {{"batch_shape", io::detail::batch_shape(m.input_shape())},
                            {"dtype", sizeof(T) == 8 ? "float64" : "float32"},
                            {"sparse", false},
                            {"ragged", false},
                            {"name", "input_layer"}}},
                          {"registered_name", nullptr}});
    for (auto* l : m.layers()) layers.push_back(layers::NestedSequential<T>::entry(*l));
    json config = {{"name", m.name()},
                   {"trainable", true},
                   {"dtype", layers::config::dtype_policy<T>()},
                   {"layers", layers}};
    if (built) config["build_input_shape"] = io::detail::batch_shape(m.input_shape());
    json out = {{"module", "keras"},
                {"class_name", "Sequential"},
                {"config", config},
                {"registered_name", nullptr}};
    if (built) out["build_config"] = {{"input_shape", io::detail::batch_shape(m.input_shape())}};
    if (m.compiled()) {
        // Keras 3 writes null for no weighted metrics
        const json weighted =
            m.weighted_metric_names().empty() ? json() : json(m.weighted_metric_names());
        json optimizer = {{"module", "keras.optimizers"},
                          {"class_name", m.optimizer().class_name()},
                          {"config", m.optimizer().get_config()},
                          {"registered_name", nullptr}};
        out["compile_config"] = {{"optimizer", optimizer},       {"loss", m.loss().to_json()},
                                 {"loss_weights", nullptr},      {"metrics", m.metric_names()},
                                 {"weighted_metrics", weighted}, {"run_eagerly", false},
                                 {"steps_per_execution", 1},     {"jit_compile", false}};
    }
    return out;
}

template <class T>
std::string basic_sequential<T>::to_json(int indent) const {
    return model_to_json_object(*this).dump(indent);
}

namespace io::detail {

/// Adds the layers of a Sequential config's `layer_list` to `model`; `what` names the list in
/// errors ("model JSON"). A nested model (a Sequential, or a Functional chain) is one layer, a
/// layers::NestedSequential holding its layers.
template <class T>
void add_json_layers(basic_sequential<T>& model, const json& layer_list, const std::string& what) {
    std::size_t index = 0;
    for (const auto& entry : layer_list) {
        const std::string where = what + ": layer " + std::to_string(index++);
        if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string())
            throw value_error(where + " has no class_name");
        const std::string lcls = entry["class_name"].get<std::string>();
        const json& lcfg = entry.contains("config") ? entry["config"] : json::object();
        if (is_keras1_layer(lcls))
            throw value_error(where + ": '" + excerpt(lcls, 60) +
                              "' is a Keras 1 layer; xkeras reads the JSON of "
                              "Keras 2 (tf.keras) and Keras 3");
        if (has_keras1_options(lcls, lcfg))
            throw value_error(where + " (" + excerpt(lcls, 60) +
                              ") has Keras 1 options (output_dim, init, border_mode, ...); "
                              "xkeras reads the JSON of Keras 2 (tf.keras) and Keras 3");
        if (lcls == "Sequential" || lcls == "Functional" || lcls == "Model") {
            // a nested model is one layer (layers::NestedSequential); a Functional chain, the
            // Sequential model it computes
            const std::string name =
                lcfg.is_object() ? lcfg.value("name", std::string()) : std::string();
            const std::string nested =
                where + " '" + excerpt(name, 60) + "' (" + excerpt(lcls, 60) + ", a nested model)";
            try {
                const json sequential =
                    lcls == "Sequential" ? entry : functional_chain_as_sequential(entry);
                const json& inner = sequential.contains("config") ? sequential["config"] : json();
                // Keras 2.0-2.2's nested config: the bare list of its layers
                const json cfg = inner.is_array() ? json{{"name", name}, {"layers", inner}} : inner;
                model.add(layers::NestedSequential<T>::from_config(cfg));
            } catch (const error& e) {
                throw value_error(nested + ": " + e.what());
            }
            continue;
        }
        if (lcls == "InputLayer") {
            const char* key = lcfg.contains("batch_shape") ? "batch_shape" : "batch_input_shape";
            if (!lcfg.contains(key))
                throw value_error(where +
                                  " (InputLayer) has neither batch_shape nor batch_input_shape");
            const shape_t shape = from_batch_shape(lcfg[key], where + " " + key);
            model.add(Input(shape, lcfg.value("name", std::string("input_layer"))));
            continue;
        }
        // tf.keras 2.x (older) puts the input on the first layer
        if (model.layers().empty() && model.input_shape().empty()) {
            for (const char* key : {"batch_input_shape", "batch_shape"})
                if (lcfg.contains(key) && !lcfg[key].is_null()) {
                    model.add(Input(from_batch_shape(lcfg[key], where + " " + key)));
                    break;
                }
        }
        try {
            model.add(layers::registry<T>::create(lcls, lcfg));
        } catch (const error& e) {
            throw value_error(where + ": " + e.what());
        }
    }
}

}  // namespace io::detail

/// A model from a parsed Keras JSON object (see the file comment). Throws value_error, never
/// nlohmann's exceptions: a value of the wrong JSON type is refused with nlohmann's reason.
template <class T = float>
basic_sequential<T> model_from_json_object(const nlohmann::json& j) try {
    using io::detail::json;
    if (!j.is_object() || !j.contains("class_name"))
        throw value_error("model JSON: expected an object with a 'class_name', got " +
                          io::describe(j));
    const std::string cls = j["class_name"].get<std::string>();
    // a Functional model (tf.keras 2.x: "Model") that is a plain chain is the Sequential model
    // it computes
    if (cls == "Functional" || cls == "Model")
        return model_from_json_object<T>(io::detail::functional_chain_as_sequential(j));
    if (cls != "Sequential")
        throw value_error("model JSON: class_name '" + io::excerpt(cls, 60) +
                          "' is not supported; xkeras reads Sequential models and Functional "
                          "models that are a plain chain");
    const json& config = j.contains("config") ? j["config"] : json();
    // Keras 2.0-2.2 write a Sequential's config as the bare list of its layers. So did Keras 1:
    // its JSON says keras_version 1.x, and its layers and options are refused by name below.
    const std::string version = j.contains("keras_version") && j["keras_version"].is_string()
                                    ? j["keras_version"].get<std::string>()
                                    : std::string();
    if (config.is_array() && version.rfind("1.", 0) == 0)
        throw value_error("model JSON: this is the Keras 1 schema (keras_version " +
                          io::excerpt(version, 20) +
                          "); xkeras reads the JSON of Keras 2 (tf.keras) and Keras 3. Load the "
                          "model in Keras 2 or 3 and save it again");
    if (!config.is_array() &&
        (!config.is_object() || !config.contains("layers") || !config["layers"].is_array()))
        throw value_error("model JSON: the Sequential config has no 'layers' list");
    const json& layer_list = config.is_array() ? config : config["layers"];
    basic_sequential<T> model(config.is_object() ? config.value("name", std::string())
                                                 : std::string());
    io::detail::add_json_layers(model, layer_list, "model JSON");
    if (!model.built() && config.contains("build_input_shape") &&
        !config["build_input_shape"].is_null())
        model.build(io::detail::from_batch_shape(config["build_input_shape"],
                                                 "model JSON build_input_shape"));
    if (j.contains("compile_config") && j["compile_config"].is_object()) {
        const json& cc = j["compile_config"];
        // tf.keras 2.x's `.h5` files nest a single output's metrics in a list of their own:
        // [[{"class_name": "MeanMetricWrapper", ...}]]
        auto names = [&](const char* key) {
            std::vector<std::string> out;
            json listed = cc.contains(key) && cc[key].is_array() ? cc[key] : json();
            if (listed.size() == 1 && listed[0].is_array()) listed = json(listed[0]);
            if (listed.is_array())
                for (const auto& m : listed) {
                    if (m.is_string())
                        out.push_back(m.get<std::string>());
                    else if (m.is_object() && m.contains("config") && m["config"].contains("name"))
                        out.push_back(m["config"]["name"].get<std::string>());
                    else if (!m.is_null())
                        throw value_error(std::string("model JSON: compile_config ") + key + " " +
                                          io::describe(m) + " is not supported");
                }
            return out;
        };
        if (!cc.contains("loss") || cc["loss"].is_null())
            throw value_error("model JSON: compile_config has no loss");
        model.compile(optimizers::from_config<T>(cc.value("optimizer", json("rmsprop"))),
                      losses::from_json<T>(cc["loss"]), names("metrics"),
                      names("weighted_metrics"));
    }
    return model;
} catch (const nlohmann::json::exception& e) {
    throw value_error(std::string("model JSON: a value has the wrong type: ") + e.what());
}

/// A model from the text of a Keras JSON (to_json of Keras 3, tf.keras 2.x, or xkeras).
template <class T = float>
basic_sequential<T> model_from_json(const std::string& text) {
    return model_from_json_object<T>(io::parse_json(text, {}, "model JSON"));
}

}  // namespace xkeras
