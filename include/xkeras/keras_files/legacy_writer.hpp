// xkeras/keras_files/legacy_writer.hpp - writing Keras's legacy HDF5 files as Keras 3's
// `model.save("m.h5")` writes them, and Keras 2's weights-only `save_weights("w.h5")`.
//
// A full file holds, at its root, @keras_version, @backend, @model_config (the architecture in
// the legacy form: each layer as {"class_name", "config"}) and, for a compiled model,
// @training_config (the compile config, its optimizer as "optimizer_config"); then
// /model_weights and, once the optimizer has state, /optimizer_weights. The weights group
// lists @layer_names in layer order and holds one group per layer, created in name order, whose
// @weight_names give each weight's path ("dense/kernel") and order; an empty list is an empty
// float64 array, as Keras writes it. A weights-only file is that group at the root.
#pragma once

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "../model.hpp"
#include "hdf5_writer.hpp"
#include "keras3_writer.hpp"

namespace xkeras::keras_files {

/// The backend a legacy file names: the numbers follow TensorFlow's layouts (NHWC images,
/// kernels (kh, kw, in, out)), which is what readers of the attribute look for.
inline constexpr const char* legacy_backend = "tensorflow";

namespace detail {

/// The weights group of a legacy file (/model_weights, or the root of a weights-only file).
template <class T>
void write_legacy_weights(const hdf5::writing_group& g, const basic_sequential<T>& m) {
    const auto layers = m.layers();
    std::vector<std::string> names;
    for (auto* layer : layers) names.push_back(layer->name());
    g.attribute("layer_names", names);
    g.attribute("backend", legacy_backend, false);
    g.attribute("keras_version", keras_format_version, false);
    // Keras creates the groups in name order, so that no name is made before one it prefixes
    std::vector<std::size_t> order(layers.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
    for (const std::size_t i : order) {
        const auto lg = g.group(names[i]);
        const auto params = layers[i]->params();
        std::vector<std::string> weight_names;
        for (const auto* p : params) weight_names.push_back(p->name);
        lg.attribute("weight_names", weight_names);
        for (std::size_t k = 0; k < params.size(); ++k)
            lg.dataset(weight_names[k], params[k]->value);
    }
    g.group("top_level_model_weights").attribute("weight_names", std::vector<std::string>{});
}

/// Keras 3's optimizer variables, named as they are in a legacy file: "adam/iteration",
/// "adam/learning_rate", then "adam/dense_kernel_momentum", ... in Keras 3's order.
template <class T>
void write_legacy_optimizer(const hdf5::writing_group& root, const basic_sequential<T>& m) {
    const auto& opt = m.optimizer();
    const std::string prefix = opt.get_config()["name"].template get<std::string>() + "/";
    const auto& weights = m.trainable_params();
    const std::size_t keeps = opt.slots_per_weight();
    const bool built = !opt.slots().empty();
    const std::size_t lead = opt.keras_leading_variables();
    std::vector<std::string> names{prefix + "iteration"};
    if (lead == 2) names.push_back(prefix + "learning_rate");
    names.resize(lead + (built ? keeps * weights.size() : 0));
    const auto slot_names = opt.keras_slot_names();
    std::vector<const tensor<T>*> values(names.size(), nullptr);
    std::vector<std::vector<tensor<T>>> fresh(weights.size());
    for (std::size_t w = 0; w < weights.size() && built; ++w) {
        const auto found = opt.slots().find(weights[w]->name);
        const bool kept = found != opt.slots().end() && found->second.size() == keeps;
        if (!kept) fresh[w] = opt.initial_slots(*weights[w]);
        std::string path = weights[w]->name;
        std::replace(path.begin(), path.end(), '/', '_');
        for (std::size_t k = 0; k < keeps; ++k) {
            const std::size_t index = opt.keras_variable_index(w, k, weights.size());
            names[index] = prefix + path + "_" + slot_names[k];
            values[index] = kept ? &found->second[k] : &fresh[w][k];
        }
    }
    const auto g = root.group("optimizer_weights");
    g.attribute("weight_names", names);
    g.scalar_int64(names[0], opt.iterations());
    if (lead == 2) g.scalar_float32(names[1], float(opt.learning_rate()));
    for (std::size_t i = lead; i < names.size(); ++i) g.dataset(names[i], *values[i]);
}

/// The architecture in the legacy form Keras 3 writes with `use_legacy_config`: the model and
/// each layer as {"class_name", "config"}; what the layers' configs hold stays as it is.
template <class T>
nlohmann::json legacy_model_config(const basic_sequential<T>& m) {
    nlohmann::json j = model_to_json_object(m);
    nlohmann::json config = j["config"];
    for (auto& layer : config["layers"])
        layer = {{"class_name", layer["class_name"]}, {"config", layer["config"]}};
    return {{"class_name", j["class_name"]}, {"config", config}};
}

}  // namespace detail

/// The bytes of the legacy full-model file of `m` (Keras 3's `model.save("m.h5")`).
template <class T>
std::string legacy_model_bytes(const basic_sequential<T>& m) {
    hdf5::writer file;
    {
        const auto root = file.root();
        root.attribute("keras_version", keras_format_version);
        root.attribute("backend", legacy_backend);
        root.attribute("model_config", detail::legacy_model_config(m).dump(), false);
        if (m.compiled()) {
            nlohmann::json training = model_to_json_object(m)["compile_config"];
            training.erase("optimizer");
            training["optimizer_config"] = {{"class_name", m.optimizer().class_name()},
                                            {"config", m.optimizer().get_config()}};
            root.attribute("training_config", training.dump(), false);
        }
        detail::write_legacy_weights(root.group("model_weights"), m);
        if (m.compiled()) detail::write_legacy_optimizer(root, m);
    }
    return file.bytes();
}

/// The bytes of Keras 2's weights-only file of `m` (`save_weights("w.h5")`).
template <class T>
std::string legacy_weights_bytes(const basic_sequential<T>& m) {
    hdf5::writer file;
    detail::write_legacy_weights(file.root(), m);
    return file.bytes();
}

}  // namespace xkeras::keras_files
