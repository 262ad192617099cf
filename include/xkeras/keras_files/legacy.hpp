// xkeras/keras_files/legacy.hpp - reading Keras's legacy HDF5 files: the full model
// (`model.save("m.h5")`: @model_config, @training_config, /model_weights, /optimizer_weights)
// and Keras 2's weights-only file (`save_weights("w.h5")`: the layer groups at the root).
//
// A legacy file keeps a layer's weights in a group named after the layer, in the order of the
// group's `weight_names` attribute (not HDF5's listing order, where "bias:0" comes before
// "kernel:0"), each at the path its name gives ("dense/kernel:0"). Keras loads them in layer
// order, counting only the layers that have weights, and so does this reader. Name lists are
// fixed-length byte strings up to Keras 2.3 and variable-length after; a list too large for one
// attribute is split over `name0`, `name1`, ... The optimizer's variables are laid out as their
// writer made them:
//   - Keras 2 and tf.keras up to 2.10 (the first variable is `.../iter:0` or
//     `.../iterations:0`): the step count, then one kind of slot for every weight, then the
//     next kind (Adam: every m, then every v). Keras 2.0-2.2 also keep placeholders the update
//     never reads, one per weight at the end (Adam's v-hat without AMSGrad, SGD's moment
//     without momentum): they are checked and skipped.
//   - tf.keras 2.11-2.15 (`iteration:0`) and Keras 3 (`iteration`, then `learning_rate`): the
//     step count, Keras 3's learning rate, then the slots as a `.keras` file holds them.
// Everything is read and checked before the model changes: a file that does not fit leaves the
// model as it was.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "../io/json_limits.hpp"
#include "../model.hpp"
#include "hdf5.hpp"
#include "keras3.hpp"

namespace xkeras::keras_files {

namespace detail {

/// A list of names kept in attribute `attr` of `g`, or split over `attr0`, `attr1`, ... as Keras
/// does when one attribute cannot hold it; empty when there is neither.
inline std::vector<std::string> name_list(const hdf5::group& g, const std::string& attr) {
    if (g.has_attribute(attr)) return g.strings(attr);
    std::vector<std::string> out;
    for (std::size_t k = 0; g.has_attribute(attr + std::to_string(k)); ++k) {
        auto part = g.strings(attr + std::to_string(k));
        out.insert(out.end(), part.begin(), part.end());
        if (out.size() > hdf5::limits{}.max_strings)
            throw io_error(g.where("@" + attr) + "0, ... hold more than " +
                           std::to_string(hdf5::limits{}.max_strings) + " names");
    }
    return out;
}

/// The one string of a scalar text attribute.
inline std::string text_attribute(const hdf5::group& g, const std::string& attr) {
    const auto v = g.strings(attr);
    if (v.size() != 1)
        throw io_error(
            xkeras::detail::cat(g.where("@" + attr), " must be one string, got ", v.size()));
    return v[0];
}

/// The last part of a legacy variable name, without TensorFlow's ":0" ("Adam/iter:0" -> "iter").
inline std::string last_part(std::string name) {
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0)
        name.resize(name.size() - 2);
    const auto slash = name.rfind('/');
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

}  // namespace detail

/// Sets every weight of `m` from the legacy weights group `g` (/model_weights of a full file, or
/// the root of a weights-only file): the file's layers that hold weights, in order, into the
/// model's layers that have weights, in order, as Keras's load_weights does. All or nothing.
template <class T>
void load_legacy_weights(basic_sequential<T>& m, const hdf5::group& g) {
    const auto file_layers = detail::name_list(g, "layer_names");
    if (file_layers.empty() && !g.has_attribute("layer_names"))
        throw io_error(g.describe() +
                       " has no layer_names attribute: not the weights of a Keras model");
    struct saved {
        std::string layer;
        std::vector<std::string> weights;
    };
    std::vector<saved> with_weights;
    for (const auto& name : file_layers) {
        if (!g.has(name))
            throw io_error(g.where(name) +
                           " is missing: layer_names lists it, the file has no "
                           "such group");
        auto weight_names = detail::name_list(g.child(name), "weight_names");
        if (!weight_names.empty()) with_weights.push_back({name, std::move(weight_names)});
    }
    std::vector<layers::Layer<T>*> targets;
    for (auto* layer : m.layers())
        if (!layer->params().empty()) targets.push_back(layer);
    if (with_weights.size() != targets.size())
        throw io_error(xkeras::detail::cat(
            g.describe(), " holds the weights of ", with_weights.size(), " layers; the model has ",
            targets.size(), " layers with weights (the file was saved from another model)"));

    std::vector<std::vector<tensor<T>>> values;
    for (std::size_t k = 0; k < targets.size(); ++k) {
        const auto params = targets[k]->params();
        const hdf5::group lg = g.child(with_weights[k].layer);
        const auto& names = with_weights[k].weights;
        if (names.size() != params.size())
            throw io_error(xkeras::detail::cat(lg.describe(), " holds ", names.size(),
                                               " weights; the model's layer ", k,
                                               " with weights, '", targets[k]->name(), "' (",
                                               targets[k]->class_name(), "), has ", params.size()));
        std::vector<tensor<T>> layer_values;
        for (std::size_t i = 0; i < names.size(); ++i) {
            const auto [parent, leaf] = lg.locate(names[i]);
            layer_values.push_back(parent.template read<T>(leaf, shape_of(params[i]->value)));
        }
        values.push_back(std::move(layer_values));
    }
    // Keras 3 writes the model's own weights there: an xkeras model has none
    if (g.has("top_level_model_weights") &&
        !detail::name_list(g.child("top_level_model_weights"), "weight_names").empty())
        throw io_error(g.where("top_level_model_weights") +
                       " holds weights of the model itself; an xkeras Sequential model has none");
    detail::commit_weights(targets, values);
}

/// The optimizer state of a legacy full file (/optimizer_weights) into `m`'s optimizer, in the
/// layout its writer used (see the file comment). A file without it leaves the optimizer fresh;
/// one that does not fit changes nothing.
template <class T>
void load_legacy_optimizer(basic_sequential<T>& m, const hdf5::group& root) {
    if (!m.compiled() || !root.has("optimizer_weights")) return;
    const hdf5::group og = root.child("optimizer_weights");
    const auto names = detail::name_list(og, "weight_names");
    if (names.empty()) return;
    auto& opt = m.optimizer();
    const auto& weights = m.trainable_params();
    const std::size_t n = weights.size(), keeps = opt.slots_per_weight();

    const std::string first = detail::last_part(names[0]);
    const bool slot_major = first == "iter" || first == "iterations";
    if (!slot_major && first != "iteration")
        throw io_error(og.describe() + ": the first optimizer variable is " +
                       hdf5::detail::quoted(names[0]) +
                       "; Keras writes the step count first (iter, iterations or iteration)");
    const std::size_t lead =
        !slot_major && names.size() > 1 && detail::last_part(names[1]) == "learning_rate" ? 2 : 1;
    const std::size_t expected = lead + keeps * n;
    // Keras 2.0-2.2 list an unused v-hat (Adam) or moment (SGD) per weight after the slots;
    // tf.keras 2.11-2.15's SGD keeps a momentum slot per weight whatever its momentum (zeros
    // without it), where xkeras keeps none
    const bool sgd_without_momentum = opt.class_name() == "SGD" && keeps == 0;
    const bool placeholders = slot_major && names.size() == expected + n &&
                              ((opt.class_name() == "Adam" && keeps == 2) || sgd_without_momentum);
    const bool unused_momentum =
        !slot_major && lead == 1 && sgd_without_momentum && names.size() == lead + n;
    if (names.size() != lead && names.size() != expected && !placeholders && !unused_momentum)
        throw io_error(xkeras::detail::cat(
            og.describe(), " lists ", names.size(), " optimizer variables; ", opt.class_name(),
            " with ", n, " trainable weights keeps ", expected, " (the step count",
            lead == 2 ? ", the learning rate" : "", " and ", keeps, " per weight)"));

    const auto [iteration_group, iteration_name] = og.locate(names[0]);
    const std::int64_t iterations = detail::checked_step_count(
        iteration_group.read_integer(iteration_name), iteration_group.where(iteration_name));
    double rate = 0;
    if (lead == 2) {
        const auto [g, leaf] = og.locate(names[1]);
        rate = detail::checked_rate(double(g.template read<T>(leaf, {})()), g.where(leaf));
    }
    std::vector<std::vector<tensor<T>>> slots;  // none unless the file holds them
    if (names.size() > lead) {
        if (keeps > 0) slots.resize(n);
        for (std::size_t w = 0; w < n; ++w)
            for (std::size_t k = 0; k < keeps; ++k) {
                const std::size_t index = slot_major ? lead + k * n + w
                                                     : opt.keras_variable_index(w, k, n) -
                                                           opt.keras_leading_variables() + lead;
                const auto [g, leaf] = og.locate(names[index]);
                slots[w].push_back(g.template read<T>(leaf, shape_of(weights[w]->value)));
            }
        for (std::size_t w = 0; (placeholders || unused_momentum) && w < n; ++w) {
            const auto [g, leaf] = og.locate(names[expected + w]);
            const auto info = g.dataset(leaf);
            const shape_t want = keeps == 2 ? shape_t{1} : shape_of(weights[w]->value);
            if (info.shape != want)
                throw io_error(g.where(leaf) + " has shape " + shape_str(info.shape) +
                               "; Keras 2's unused " + (keeps == 2 ? "v-hat" : "moment") +
                               " has shape " + shape_str(want));
        }
    }
    detail::commit_optimizer_state(opt, iterations, lead == 2, rate, weights, slots);
}

/// A model from a legacy full HDF5 file (`bytes`, named `name` in errors): the architecture
/// from @model_config, the compile config from @training_config, the weights and the
/// optimizer's state.
template <class T = float>
basic_sequential<T> load_legacy_model(const std::string& bytes, const std::string& name) {
    const hdf5::file f(bytes, name);
    const hdf5::group root = f.root();
    if (!root.has_attribute("model_config")) {
        if (root.has_attribute("layer_names"))
            throw io_error("'" + name +
                           "' holds weights only (Keras 2's save_weights): build the model and "
                           "call model.load_weights");
        if (root.has("layers"))
            throw io_error("'" + name +
                           "' is a Keras 3 weights file (.weights.h5): build the model and call "
                           "model.load_weights");
        throw io_error("'" + name + "' has no model_config attribute: not a Keras model file");
    }
    const auto read_json = [&](const char* attr) {
        const std::string text = detail::text_attribute(root, attr);
        if (text.size() > max_config_bytes)
            throw io_error("'" + name + "': @" + attr + " holds " + std::to_string(text.size()) +
                           " bytes, more than the " + std::to_string(max_config_bytes) + " read");
        try {
            return io::parse_json(text, {}, attr);
        } catch (const error& e) {
            throw io_error("'" + name + "': " + e.what());
        }
    };
    nlohmann::json config = read_json("model_config");
    if (!config.is_object()) throw io_error("'" + name + "': @model_config is not a JSON object");
    if (root.has_attribute("keras_version") && !config.contains("keras_version"))
        config["keras_version"] = detail::text_attribute(root, "keras_version");
    if (root.has_attribute("training_config")) {
        const nlohmann::json training = read_json("training_config");
        if (!training.is_object())
            throw io_error("'" + name + "': @training_config is not a JSON object");
        for (const char* key : {"loss_weights", "sample_weight_mode"})
            if (training.contains(key) && !training[key].is_null() &&
                !(training[key].is_array() && training[key].empty()))
                throw io_error("'" + name + "': @training_config: '" + key + "' = " +
                               io::describe(training[key]) + " is not supported by xkeras");
        config["compile_config"] = {
            {"optimizer", training.value("optimizer_config", nlohmann::json("rmsprop"))},
            {"loss", training.value("loss", nlohmann::json())},
            {"metrics", training.value("metrics", nlohmann::json::array())},
            {"weighted_metrics", training.value("weighted_metrics", nlohmann::json::array())}};
    }
    basic_sequential<T> model = [&] {
        // the architecture may not ask for more weights than the file can hold (in float32,
        // Keras's type; a double model takes twice the bytes)
        layers::weight_limit limit(bytes.size() / 4 * sizeof(T), "the size of the file");
        try {
            return model_from_json_object<T>(config);
        } catch (const error& e) {
            throw io_error("'" + name + "': @model_config: " + e.what());
        }
    }();
    if (!root.has("model_weights"))
        throw io_error("'" + name + "' has no /model_weights group: a Keras model file holds one");
    load_legacy_weights(model, root.child("model_weights"));
    load_legacy_optimizer(model, root);
    return model;
}

/// Sets every weight of `m` from a legacy HDF5 file's weights: Keras 2's weights-only file, or
/// the /model_weights of a full model file.
template <class T>
void load_legacy_weights_file(basic_sequential<T>& m, const hdf5::file& f) {
    const hdf5::group root = f.root();
    if (!root.has_attribute("layer_names") && root.has("model_weights"))
        load_legacy_weights(m, root.child("model_weights"));
    else
        load_legacy_weights(m, root);
}

}  // namespace xkeras::keras_files
