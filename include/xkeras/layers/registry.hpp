// xkeras/layers/registry.hpp - Keras class name -> layer factory and example.
//
// The built-in layers come from the list in builtin.hpp; a user's layer joins with
// `register_layer<MyLayer>("MyLayer")` (it needs `get_config()` and a static
// `from_config(const nlohmann::json&)`; a static `example()` lets the tests that run on every
// registered layer take it too). Keras's aliases (MaxPool2D, AvgPool2D) map to the same entries.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../io/json_limits.hpp"
#include "builtin.hpp"

namespace xkeras::layers {

template <class T>
class registry {
  public:
    using factory = std::function<std::unique_ptr<Layer<T>>(const nlohmann::json&)>;

    /// The layer of Keras class `class_name` from its config; throws value_error naming the
    /// class for one xkeras does not have.
    static std::unique_ptr<Layer<T>> create(const std::string& class_name,
                                            const nlohmann::json& config) {
        return find(class_name).create(config);
    }

    static bool contains(const std::string& class_name) {
        std::lock_guard<std::mutex> lock(mutex());
        return table().count(class_name) > 0;
    }

    /// Every class name the registry knows (aliases included), sorted.
    static std::vector<std::string> names() {
        std::lock_guard<std::mutex> lock(mutex());
        std::vector<std::string> out;
        for (const auto& [name, e] : table()) out.push_back(name);
        return out;
    }

    /// The example config and input shape of `class_name`, if its class gives one.
    static std::optional<layer_example> example(const std::string& class_name) {
        return find(class_name).example;
    }

    static void add(const std::string& class_name, factory f,
                    std::optional<layer_example> example = std::nullopt) {
        std::lock_guard<std::mutex> lock(mutex());
        table()[class_name] = {std::move(f), std::move(example)};
    }

  private:
    struct entry {
        factory create;
        std::optional<layer_example> example;
    };

    static entry find(const std::string& class_name) {
        std::lock_guard<std::mutex> lock(mutex());
        const auto& t = table();
        if (auto it = t.find(class_name); it != t.end()) return it->second;
        std::string known;
        for (const auto& [k, e] : t) known += (known.empty() ? "" : ", ") + k;
        throw value_error(xkeras::detail::cat("layer class '", io::excerpt(class_name, 60),
                                              "' is not supported by xkeras (it has: ", known,
                                              "); register your own with register_layer<L>(name)"));
    }

    static std::map<std::string, entry>& table() {
        static std::map<std::string, entry> t = [] {
            std::map<std::string, entry> m;
#define XKERAS_DETAIL_REGISTER(L) m[#L] = {&L<T>::from_config, L<T>::example()};
#define XKERAS_DETAIL_ALIAS(A, L) m[#A] = m.at(#L);
#define XKERAS_DETAIL_RENAMED(K, L) m[#K] = {&L<T>::from_config, L<T>::example()};
            XKERAS_BUILTIN_LAYERS(XKERAS_DETAIL_REGISTER)
            XKERAS_BUILTIN_LAYER_ALIASES(XKERAS_DETAIL_ALIAS)
            XKERAS_BUILTIN_RENAMED_LAYERS(XKERAS_DETAIL_RENAMED)
#undef XKERAS_DETAIL_REGISTER
#undef XKERAS_DETAIL_ALIAS
#undef XKERAS_DETAIL_RENAMED
            return m;
        }();
        return t;
    }
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
};

template <class T>
std::unique_ptr<Layer<T>> make_layer(const std::string& class_name, const nlohmann::json& config) {
    return registry<T>::create(class_name, config);
}

/// Makes `L` loadable from model files and Keras JSON under `class_name` (the string its
/// class_name() returns), with its example when it has a static `example()`.
template <class L>
void register_layer(const std::string& class_name) {
    std::optional<layer_example> example;
    if constexpr (requires { L::example(); }) example = L::example();
    registry<typename L::value_type>::add(class_name, &L::from_config, std::move(example));
}

}  // namespace xkeras::layers
