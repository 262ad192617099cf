// xkeras/layers/make_layer.hpp - a layer from its Keras class name and config, for the layers
// that hold others (Bidirectional, TimeDistributed).
//
// Declared here and defined in registry.hpp: the registry lists the built-in layers, wrappers
// included, so a wrapper's header cannot include it. A wrapper's from_config is instantiated
// where the registry is known (<xkeras/xkeras.hpp> includes both).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "config.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// The layer of Keras class `class_name` from its config (registry<T>::create); throws
/// value_error naming the class for one xkeras does not have.
template <class T>
std::unique_ptr<Layer<T>> make_layer(const std::string& class_name, const nlohmann::json& config);

/// The class name and config of config key `key`, a layer as Keras nests one in a wrapper's
/// config: {"class_name": ..., "config": {...}}; marks the key read.
inline std::pair<std::string, nlohmann::json> nested_layer_config(config::reader& r,
                                                                  const nlohmann::json& cfg,
                                                                  const char* key) {
    r.mark(key);
    const auto& v = cfg.contains(key) ? cfg[key] : nlohmann::json();
    if (!v.is_object() || !v.contains("class_name") || !v["class_name"].is_string() ||
        !v.contains("config") || !v["config"].is_object())
        throw value_error(r.where(key) +
                          " must be a layer, {\"class_name\": ..., \"config\": {...}}, got " +
                          io::describe(v));
    return {v["class_name"].get<std::string>(), v["config"]};
}

}  // namespace xkeras::layers
