// tests/keras_config.hpp - Keras 3's serialized objects, for the tests that read and write layer
// configs as Keras 3's get_config writes them.
#pragma once

#include <nlohmann/json.hpp>

namespace testing {

/// {"module", "class_name", "config", "registered_name": null}, Keras 3's serialized object.
inline nlohmann::json keras3_object(const char* module, const char* class_name,
                                    nlohmann::json config) {
    return {{"module", module},
            {"class_name", class_name},
            {"config", std::move(config)},
            {"registered_name", nullptr}};
}

/// A layer's "dtype": the float32 policy.
inline nlohmann::json keras3_float32() {
    return keras3_object("keras", "DTypePolicy", {{"name", "float32"}});
}

/// Keras 3's default kernel and bias initializers.
inline nlohmann::json keras3_glorot_uniform() {
    return keras3_object("keras.initializers", "GlorotUniform", {{"seed", nullptr}});
}
inline nlohmann::json keras3_zeros() {
    return keras3_object("keras.initializers", "Zeros", nlohmann::json::object());
}

}  // namespace testing
