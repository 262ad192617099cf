// xkeras/keras_files/keras3.hpp - reading Keras 3's files: the `.keras` zip (metadata.json,
// config.json, model.weights.h5) and the `.weights.h5` file.
//
// Keras 3 keeps a layer's variables under a key made of its class name, snake-cased and counted
// in layer order (`layers/dense_2/vars`), not under the layer's name, and numbers them
// `vars/0`, `vars/1`, ... in the order trainable variables then non-trainable ones (Dense:
// kernel, bias; BatchNormalization: gamma, beta, moving mean, moving variance). Every variable
// is read and checked (name, shape, type) before any weight of the model changes: a file that
// does not fit leaves the model as it was.
//
// tf.keras 2.15's `.keras` files have the same keys, with two differences read here: written on
// Windows, a layer's group is one top-level group named `layers\dense_2` (2.15 joins the paths
// with the system's separator), and the optimizer keeps no learning rate among its variables.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "../io/json_limits.hpp"
#include "../model.hpp"
#include "hdf5.hpp"
#include "zip.hpp"

namespace xkeras::keras_files {

/// Bounds on the text entries of a `.keras` file.
inline constexpr std::size_t max_config_bytes = 64u << 20;

namespace detail {

/// Whether `s` is a decimal index without sign or leading zeros ("0", "12").
inline bool is_index(const std::string& s) {
    if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

/// The layers' groups of a Keras 3 weights file by key: `/layers/<key>`, or the top-level
/// `layers\<key>` of tf.keras 2.15 on Windows. Empty when the file has neither.
class layer_groups {
  public:
    explicit layer_groups(const hdf5::group& root) : root_(root) {
        if (root.has("layers")) {
            nested_.emplace(root.child("layers"));
            for (auto& key : nested_->children()) keys_.push_back(std::move(key));
        } else {
            for (const auto& name : root.children())
                if (name.rfind(prefix, 0) == 0) keys_.push_back(name.substr(prefix.size()));
        }
    }
    bool empty() const { return !nested_ && keys_.empty(); }
    /// The keys in the file, in HDF5's order.
    const std::vector<std::string>& keys() const { return keys_; }
    bool has(const std::string& key) const {
        return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
    }
    hdf5::group get(const std::string& key) const {
        return nested_ ? nested_->child(key) : root_.child(prefix + key);
    }
    /// The path of a key's group, as the file spells it.
    std::string path(const std::string& key) const {
        return (nested_ ? "/layers/" : "/" + prefix) + key;
    }

  private:
    static inline const std::string prefix = "layers\\";
    const hdf5::group& root_;
    std::optional<hdf5::group> nested_;
    std::vector<std::string> keys_;
};

/// The step count `v` read at `where`, checked: Keras's counter, in [0, 2^53].
inline std::int64_t checked_step_count(std::int64_t v, const std::string& where) {
    if (v < 0 || v > (std::int64_t(1) << 53))
        throw io_error(xkeras::detail::cat(where, ": the step count ", v, " is outside [0, 2^53]"));
    return v;
}

/// The learning rate `v` read at `where`, checked: finite and >= 0.
inline double checked_rate(double v, const std::string& where) {
    if (!(std::isfinite(v) && v >= 0))
        throw io_error(
            xkeras::detail::cat(where, ": the learning rate ", v, " is not a finite number >= 0"));
    return v;
}

/// Moves weights read and checked in full into `layers`' params (values[i][k] into layer i's
/// param k): the model changes only once the whole file has been read.
template <class T>
void commit_weights(const std::vector<layers::Layer<T>*>& layers,
                    std::vector<std::vector<tensor<T>>>& values) {
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto params = layers[i]->params();
        for (std::size_t k = 0; k < params.size(); ++k) {
            params[k]->value = std::move(values[i][k]);
            params[k]->changed();
        }
    }
}

/// Sets an optimizer's state read and checked in full: the step count, the learning rate when
/// the file holds one (`has_rate`) and, when `slots` is not empty, every weight's slots.
template <class T>
void commit_optimizer_state(optimizers::Optimizer<T>& opt, std::int64_t iterations, bool has_rate,
                            double rate, const std::vector<layers::Param<T>*>& weights,
                            std::vector<std::vector<tensor<T>>>& slots) {
    opt.set_iterations(iterations);
    // the rate a callback may have set, as Keras keeps it; the file holds it in the weights'
    // type, so a rate that rounds to it is the config's own, kept exactly
    if (has_rate && T(opt.learning_rate()) != T(rate)) opt.set_learning_rate(rate);
    for (std::size_t w = 0; w < weights.size() && !slots.empty(); ++w)
        opt.set_slots(weights[w]->name, std::move(slots[w]));
}

/// The variables of one layer's `vars` group, as the model's weights `params` want them.
template <class T>
std::vector<tensor<T>> read_vars(const hdf5::group& vars,
                                 const std::vector<layers::Param<T>*>& params,
                                 const std::string& layer) {
    const auto names = vars.children();
    for (const auto& n : names)
        if (!is_index(n))
            throw io_error(vars.where(n) + " is not a variable: a vars group holds 0, 1, ...");
    if (names.size() != params.size())
        throw io_error(xkeras::detail::cat(vars.describe(), " holds ", names.size(),
                                           " variables; the model's layer '", layer, "' has ",
                                           params.size()));

    std::vector<tensor<T>> out;
    for (std::size_t i = 0; i < params.size(); ++i)
        out.push_back(vars.template read<T>(std::to_string(i), shape_of(params[i]->value)));
    return out;
}

}  // namespace detail

/// Sets every weight of `m` from a Keras 3 weights file (a `.weights.h5`, or the
/// `model.weights.h5` of a `.keras`). The layers must be those the file was saved from, in the
/// same order; all or nothing.
template <class T>
void load_keras3_weights(basic_sequential<T>& m, const hdf5::file& f) {
    const hdf5::group root = f.root();
    const detail::layer_groups all(root);
    if (all.empty()) {
        if (root.has_attribute("layer_names") || root.has("model_weights"))
            throw io_error("'" + f.name() +
                           "' is a Keras 2 (legacy HDF5) file; this reader takes Keras 3 files");
        throw io_error("'" + f.name() + "' has no /layers group: not a Keras 3 weights file");
    }
    const auto keys = io::detail::layer_keys(m);
    const auto model_layers = m.layers();
    std::vector<std::vector<tensor<T>>> values;
    for (std::size_t i = 0; i < model_layers.size(); ++i) {
        auto* layer = model_layers[i];
        const auto params = layer->params();
        if (!all.has(keys[i])) {
            if (params.empty()) {  // Keras writes an empty group; an absent one holds nothing
                values.emplace_back();
                continue;
            }
            throw io_error("'" + f.name() + "': " + all.path(keys[i]) +
                           " is missing: the model's layer " + std::to_string(i) + ", '" +
                           layer->name() + "' (" + layer->class_name() +
                           "), keeps its weights there in Keras 3");
        }
        // each object of Keras's that owns some of the weights (the layer, LSTM's cell, ...)
        std::vector<tensor<T>> read;
        std::size_t first = 0;
        for (const auto& owner : layer->keras_weight_groups()) {
            if (owner.count == 0) continue;  // a nested model's layer without weights
            hdf5::group g = all.get(keys[i]);
            for (const auto& sub : owner.path) {
                if (!g.has(sub))
                    throw io_error("'" + f.name() + "': " + g.path() + " has no " + sub +
                                   " group: the model's layer " + std::to_string(i) + ", '" +
                                   layer->name() + "' (" + layer->class_name() +
                                   "), keeps weights there in Keras 3");
                g = g.child(sub);
            }
            const std::vector<layers::Param<T>*> mine(params.begin() + long(first),
                                                      params.begin() + long(first + owner.count));
            first += owner.count;
            if (!g.has("vars")) {
                if (!mine.empty())
                    throw io_error("'" + f.name() + "': " + g.path() +
                                   " has no vars group: the model's layer " + std::to_string(i) +
                                   ", '" + layer->name() + "' (" + layer->class_name() +
                                   "), keeps weights there in Keras 3");
                continue;
            }
            for (auto& t : detail::read_vars<T>(g.child("vars"), mine, layer->name()))
                read.push_back(std::move(t));
        }
        values.push_back(std::move(read));
    }
    // a layer of the file the model does not have: a model of other layers
    for (const auto& key : all.keys()) {
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        const hdf5::group g = all.get(key);
        if (g.has("vars") && !g.child("vars").children().empty())
            throw io_error("'" + f.name() + "': " + all.path(key) +
                           " holds weights, and the model has no such layer (its layers are " +
                           std::to_string(keys.size()) +
                           ", the file was saved from another model)");
    }
    detail::commit_weights(model_layers, values);
}

/// The optimizer state of a Keras 3 file into `m`'s optimizer: `/optimizer/vars` holds the step
/// count (0), the learning rate (1, unless it is a schedule), then the slots of every trainable
/// weight in Keras's layout (Optimizer::keras_variable_index). tf.keras 2.15 writes the same
/// without the learning rate, and SGD's momentum slots even without momentum. A file without
/// them leaves the optimizer fresh; one that does not fit changes nothing.
template <class T>
void load_keras3_optimizer(basic_sequential<T>& m, const hdf5::file& f) {
    const hdf5::group root = f.root();
    if (!m.compiled() || !root.has("optimizer")) return;
    const hdf5::group opt_group = root.child("optimizer");
    if (!opt_group.has("vars")) return;
    const hdf5::group vars = opt_group.child("vars");
    auto& opt = m.optimizer();
    const auto& weights = m.trainable_params();
    const std::size_t n = weights.size(), keeps = opt.slots_per_weight();
    const auto names = vars.children();
    if (names.empty()) return;  // saved before the first step
    for (const auto& name : names)
        if (!detail::is_index(name))
            throw io_error(vars.where(name) + " is not a variable: a vars group holds 0, 1, ...");
    // the rate is a scalar; in tf.keras 2.15's layout the second variable is a weight's slot
    const bool has_rate =
        opt.keras_leading_variables() == 2 && names.size() >= 2 && vars.dataset("1").shape.empty();
    const std::size_t lead = has_rate ? 2 : 1, expected = lead + keeps * n;
    // 2.15's SGD keeps a momentum slot per weight whatever its momentum; without momentum the
    // slots stay zero, and xkeras keeps none
    const bool unused_momentum =
        !has_rate && opt.class_name() == "SGD" && keeps == 0 && names.size() == lead + n;
    if (names.size() != lead && names.size() != expected && !unused_momentum)
        throw io_error(xkeras::detail::cat(
            vars.describe(), " holds ", names.size(), " optimizer variables; ", opt.class_name(),
            " with ", n, " trainable weights keeps ", lead + keeps * n, " (the step count",
            has_rate ? ", the learning rate" : "", " and ", keeps, " per weight)"));
    const std::int64_t iterations =
        detail::checked_step_count(vars.read_integer("0"), vars.where("0"));
    const double rate =
        has_rate ? detail::checked_rate(double(vars.template read<T>("1", {})()), vars.where("1"))
                 : 0.0;
    std::vector<std::vector<tensor<T>>> slots;  // none unless the file holds them
    if (names.size() == expected && keeps > 0) {
        slots.resize(n);
        for (std::size_t w = 0; w < n; ++w)
            for (std::size_t k = 0; k < keeps; ++k) {
                const std::size_t index =
                    opt.keras_variable_index(w, k, n) - opt.keras_leading_variables() + lead;
                slots[w].push_back(
                    vars.template read<T>(std::to_string(index), shape_of(weights[w]->value)));
            }
    }
    for (std::size_t w = 0; unused_momentum && w < n; ++w) {
        const std::string name = std::to_string(lead + w);
        if (vars.dataset(name).shape != shape_of(weights[w]->value))
            throw io_error(vars.where(name) + " has shape " + shape_str(vars.dataset(name).shape) +
                           "; the momentum of weight '" + weights[w]->name + "' has shape " +
                           shape_str(shape_of(weights[w]->value)));
    }
    detail::commit_optimizer_state(opt, iterations, has_rate, rate, weights, slots);
}

/// A model from the bytes of a `.keras` file; `name` names it in errors. The architecture and
/// compile config come from config.json, the weights and the optimizer's state from
/// model.weights.h5: training resumes where Keras stopped.
template <class T = float>
basic_sequential<T> load_dot_keras(const std::string& bytes, const std::string& name) {
    const zip::archive z(bytes, name);
    for (const char* entry : {"metadata.json", "config.json", "model.weights.h5"})
        if (!z.has(entry))
            throw io_error("'" + name + "' has no " + entry +
                           "; a .keras file holds metadata.json, config.json and "
                           "model.weights.h5");
    const auto read_json = [&](const char* entry) {
        const std::string text = z.read(entry);
        if (text.size() > max_config_bytes)
            throw io_error("'" + name + "': " + entry + " holds " + std::to_string(text.size()) +
                           " bytes, more than the " + std::to_string(max_config_bytes) + " read");
        try {
            return io::parse_json(text, {}, entry);
        } catch (const error& e) {
            throw io_error("'" + name + "': " + e.what());
        }
    };
    const nlohmann::json metadata = read_json("metadata.json");
    if (!metadata.is_object()) throw io_error("'" + name + "': metadata.json is not a JSON object");
    const std::string weights_bytes = z.read("model.weights.h5");
    basic_sequential<T> model = [&] {
        const nlohmann::json config = read_json("config.json");
        // the architecture may not ask for more weights than the weights file can hold (in
        // float32, Keras's type; a double model takes twice the bytes)
        layers::weight_limit limit(weights_bytes.size() / 4 * sizeof(T),
                                   "the size of model.weights.h5");
        try {
            return model_from_json_object<T>(config);
        } catch (const error& e) {
            throw io_error("'" + name + "': config.json: " + e.what());
        }
    }();
    const hdf5::file weights(weights_bytes, name + ": model.weights.h5");
    load_keras3_weights(model, weights);
    load_keras3_optimizer(model, weights);
    return model;
}

}  // namespace xkeras::keras_files
