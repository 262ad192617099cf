// xkeras/layers/registry.hpp - Keras class name -> layer factory.
//
// One line per built-in layer below; a user's layer joins with `register_layer<MyLayer>("MyLayer")`
// (it needs `get_config()` and a static `from_config(const nlohmann::json&)`).
// Keras's aliases (MaxPool2D, AvgPool2D) map to the same factories.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "../layers.hpp"

namespace xkeras::layers {

template <class T>
class registry {
  public:
    using factory = std::function<std::unique_ptr<Layer<T>>(const nlohmann::json&)>;

    /// The layer of Keras class `class_name` from its config; throws value_error naming the
    /// class for one xkeras does not have.
    static std::unique_ptr<Layer<T>> create(const std::string& class_name,
                                            const nlohmann::json& config) {
        auto& t = table();
        std::lock_guard<std::mutex> lock(mutex());
        auto it = t.find(class_name);
        if (it == t.end()) {
            std::string known;
            for (const auto& [k, f] : t) known += (known.empty() ? "" : ", ") + k;
            throw value_error(xkeras::detail::cat(
                "layer class '", class_name, "' is not supported by xkeras (it has: ", known,
                "); register your own with register_layer<L>(name)"));
        }
        return it->second(config);
    }

    static bool contains(const std::string& class_name) {
        std::lock_guard<std::mutex> lock(mutex());
        return table().count(class_name) > 0;
    }

    static void add(const std::string& class_name, factory f) {
        std::lock_guard<std::mutex> lock(mutex());
        table()[class_name] = std::move(f);
    }

  private:
    static std::map<std::string, factory>& table() {
        static std::map<std::string, factory> t{
            {"Activation", &Activation<T>::from_config},
            {"AveragePooling2D", &AveragePooling2D<T>::from_config},
            {"AvgPool2D", &AveragePooling2D<T>::from_config},
            {"BatchNormalization", &BatchNormalization<T>::from_config},
            {"Conv2D", &Conv2D<T>::from_config},
            {"Dense", &Dense<T>::from_config},
            {"Dropout", &Dropout<T>::from_config},
            {"Flatten", &Flatten<T>::from_config},
            {"GlobalAveragePooling2D", &GlobalAveragePooling2D<T>::from_config},
            {"MaxPool2D", &MaxPooling2D<T>::from_config},
            {"MaxPooling2D", &MaxPooling2D<T>::from_config},
            {"Reshape", &Reshape<T>::from_config},
        };
        return t;
    }
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
};

/// Makes `L` loadable from model files and Keras JSON under `class_name` (the string its
/// class_name() returns).
template <class L>
void register_layer(const std::string& class_name) {
    registry<typename L::value_type>::add(class_name, &L::from_config);
}

}  // namespace xkeras::layers
