// xkeras/keras_files/keras3_writer.hpp - writing Keras 3's files as Keras 3 writes them: the
// `.keras` zip (metadata.json, config.json, model.weights.h5, in that order, stored) and the
// `.weights.h5` file.
//
// The weights file holds `/vars` (the model's own, none; @name the model's name),
// `/layers/<key>/vars/<i>` for every layer (key: the snake-cased class name counted in layer
// order; @name the layer's name; an empty group for a layer without weights) and, for a
// compiled model, `/optimizer/vars` (@name the optimizer's name): the step count as int64, the
// learning rate as float32 unless it is a schedule, then the slots in Keras's layout.
#pragma once

#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../model.hpp"
#include "hdf5_writer.hpp"
#include "zip_writer.hpp"

namespace xkeras::keras_files {

/// The Keras release whose file format the writer follows; metadata.json names it.
inline constexpr const char* keras_format_version = "3.14.0";

/// The bytes of Keras 3's weights file of `m` (model.weights.h5 / a `.weights.h5`).
template <class T>
std::string keras3_weights_bytes(const basic_sequential<T>& m) {
    hdf5::writer file;
    {
        const auto root = file.root();
        root.group("vars").attribute("name", m.name());
        const auto all = root.group("layers");
        const auto keys = io::detail::layer_keys(m);
        const auto layers = m.layers();
        for (std::size_t i = 0; i < layers.size(); ++i) {
            // the layer's own vars (empty when a sub-layer owns the weights, as Keras writes
            // it), then each owner's, every group on the way with its vars, made once (owners
            // share groups: a nested model's `layers`, Bidirectional's in a nested model)
            const auto layer = all.group(keys[i]);
            const auto own = layer.group("vars");
            own.attribute("name", layers[i]->name());
            const auto params = layers[i]->params();
            std::set<std::string> made;
            std::size_t first = 0;
            for (const auto& owner : layers[i]->keras_weight_groups()) {
                std::optional<hdf5::writing_group> vars;
                if (!owner.path.empty()) {
                    std::optional<hdf5::writing_group> g;
                    std::string name = layers[i]->name(), path;
                    for (const auto& sub : owner.path) {
                        path += "/" + sub;
                        name += "_" + sub;
                        const bool fresh = made.insert(path).second;
                        const auto& parent = g ? *g : layer;
                        g.emplace(fresh ? parent.group(sub) : parent.open(sub));
                        // a nested model's `layers` is a list of its layers, not an object
                        // with variables of its own
                        if (sub == "layers") continue;
                        if (fresh) {
                            vars.emplace(g->group("vars"));
                            vars->attribute("name", name);
                        } else {
                            vars.emplace(g->open("vars"));
                        }
                    }
                }
                const auto& to = vars ? *vars : own;
                for (std::size_t k = 0; k < owner.count; ++k)
                    to.dataset(std::to_string(k), params[first + k]->value);
                first += owner.count;
            }
        }
        if (m.compiled()) {
            const auto& opt = m.optimizer();
            const auto vars = root.group("optimizer").group("vars");
            vars.attribute("name", opt.get_config()["name"].template get<std::string>());
            vars.scalar_int64("0", opt.iterations());
            if (opt.keras_leading_variables() == 2)
                vars.scalar_float32("1", float(opt.learning_rate()));
            const auto& weights = m.trainable_params();
            const std::size_t keeps = opt.slots_per_weight();
            // the slots exist from the first step on, as Keras builds its optimizer there; a
            // weight without them (frozen then unfrozen) gets what its first step would make
            const bool built = !opt.slots().empty();
            for (std::size_t w = 0; w < weights.size() && keeps > 0 && built; ++w) {
                const auto found = opt.slots().find(weights[w]->name);
                const auto slots = found != opt.slots().end() && found->second.size() == keeps
                                       ? found->second
                                       : opt.initial_slots(*weights[w]);
                for (std::size_t k = 0; k < keeps; ++k)
                    vars.dataset(std::to_string(opt.keras_variable_index(w, k, weights.size())),
                                 slots[k]);
            }
        }
    }
    return file.bytes();
}

/// The bytes of the `.keras` file of `m`, dated `when`.
template <class T>
std::string dot_keras_bytes(const basic_sequential<T>& m, std::time_t when = std::time(nullptr)) {
    char date[32];
    std::tm local{};
    localtime_r(&when, &local);
    std::strftime(date, sizeof date, "%Y-%m-%d@%H:%M:%S", &local);
    const nlohmann::json metadata = {{"keras_version", keras_format_version}, {"date_saved", date}};
    return zip::store({{"metadata.json", metadata.dump()},
                       {"config.json", m.to_json()},
                       {"model.weights.h5", keras3_weights_bytes(m)}},
                      when);
}

}  // namespace xkeras::keras_files
