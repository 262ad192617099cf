// xkeras/layers/config.hpp - reading and writing Keras layer configs (the JSON of to_json).
//
// Writing produces Keras 3's form (initializers and regularizers as {"module", "class_name",
// "config", "registered_name"} objects, a DTypePolicy object as dtype). Reading accepts Keras 3's
// and tf.keras 2.x's forms (plain strings, lists for tuples, integer or list axes, dtype as a
// string). A key the layer does not know, or an option xkeras does not implement (a constraint,
// an activity regularizer, channels_first, ...), is refused by name, never ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <cctype>
#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../initializers.hpp"
#include "../io/json_limits.hpp"
#include "../regularizers.hpp"
#include "../tensor.hpp"

namespace xkeras::layers::config {

using json = nlohmann::json;

/// Keras 3's dtype policy object for T.
template <class T>
json dtype_policy() {
    return {{"module", "keras"},
            {"class_name", "DTypePolicy"},
            {"config", {{"name", sizeof(T) == 8 ? "float64" : "float32"}}},
            {"registered_name", nullptr}};
}

/// Keras's to_snake_case: "Conv2D" -> "conv2d", "MaxPooling2D" -> "max_pooling2d".
inline std::string snake_case(const std::string& name) {
    auto up = [](char c) { return c >= 'A' && c <= 'Z'; };
    auto low = [](char c) { return c >= 'a' && c <= 'z'; };
    std::string a;  // (.)([A-Z][a-z]+) -> \1_\2
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (i > 0 && up(name[i]) && i + 1 < name.size() && low(name[i + 1])) a += '_';
        a += name[i];
    }
    std::string b;  // ([a-z])([A-Z]) -> \1_\2
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0 && low(a[i - 1]) && up(a[i])) b += '_';
        b += a[i];
    }
    for (auto& c : b) c = char(std::tolower(static_cast<unsigned char>(c)));
    return b;
}

/// The keys Keras 3's weights files give the layers of a model, whose classes are `classes` in
/// order: the snake-cased class name counted per model ("dense", "dense_1", ...), whatever the
/// layers' names.
inline std::vector<std::string> keras_keys(const std::vector<std::string>& classes) {
    std::vector<std::string> out;
    std::map<std::string, int> seen;
    for (const auto& c : classes) {
        const std::string base = snake_case(c);
        const int k = seen[base]++;
        out.push_back(k == 0 ? base : base + "_" + std::to_string(k));
    }
    return out;
}

/// A shape (batch axis excluded) as Keras writes a batch shape: [null, 28, 28, 1].
inline json batch_shape(const shape_t& s) {
    json j = json::array({nullptr});
    for (auto d : s) j.push_back(d);
    return j;
}

/// A shape from a Keras batch shape ([null, 28, 28, 1]); `what` names it for errors.
inline shape_t from_batch_shape(const json& j, const std::string& what) {
    if (!j.is_array() || j.size() < 2)
        throw value_error(what + " must be a list [null, d1, ...], got " + io::describe(j));
    shape_t s;
    for (std::size_t i = 1; i < j.size(); ++i) {
        if (!j[i].is_number_integer() || j[i].get<long>() <= 0)
            throw value_error(what + " must hold positive sizes after the batch axis, got " +
                              io::describe(j));
        s.push_back(j[i].get<std::size_t>());
    }
    return s;
}

/// A Keras object reference: {"module", "class_name", "config", "registered_name": null}.
inline json keras_object(const char* module, const std::string& class_name, json cfg) {
    return {{"module", module},
            {"class_name", class_name},
            {"config", std::move(cfg)},
            {"registered_name", nullptr}};
}

inline json seed_json(const std::optional<std::uint64_t>& seed) {
    return seed ? json(*seed) : json(nullptr);
}

inline json to_json(const initializers::Initializer& i) {
    const std::string& c = i.class_name;
    json cfg = json::object();
    if (c == "RandomNormal")
        cfg = {{"mean", i.a}, {"stddev", i.b}, {"seed", seed_json(i.seed)}};
    else if (c == "RandomUniform")
        cfg = {{"minval", i.a}, {"maxval", i.b}, {"seed", seed_json(i.seed)}};
    else if (c == "Constant")
        cfg = {{"value", i.a}};
    else if (c == "Orthogonal")
        cfg = {{"gain", i.a}, {"seed", seed_json(i.seed)}};
    else if (c == "VarianceScaling")
        cfg = {{"scale", i.scale},
               {"mode", i.mode},
               {"distribution", i.distribution},
               {"seed", seed_json(i.seed)}};
    else if (c != "Zeros" && c != "Ones")
        cfg = {{"seed", seed_json(i.seed)}};
    return keras_object("keras.initializers", c, cfg);
}

inline json to_json(const std::optional<regularizers::Regularizer>& r) {
    if (!r) return nullptr;
    const std::string c = r->class_name();
    json cfg = c == "L1"   ? json{{"l1", r->l1}}
               : c == "L2" ? json{{"l2", r->l2}}
                           : json{{"l1", r->l1}, {"l2", r->l2}};
    return keras_object("keras.regularizers", c, cfg);
}

/// Reads one layer's config, remembering which keys were used so that `finish` can refuse the
/// rest. Errors name the layer and the key.
class reader {
  public:
    reader(const json& cfg, std::string class_name) : cfg_(cfg), cls_(std::move(class_name)) {
        if (!cfg_.is_object())
            throw value_error(
                xkeras::detail::cat(cls_, ": expected a config object, got ", io::describe(cfg_)));
        if (cfg_.contains("name") && cfg_["name"].is_string())
            name_ = cfg_["name"].get<std::string>();
        // Keys every Keras layer has, handled by the model or without meaning here.
        for (const char* k : {"name", "trainable", "dtype", "batch_input_shape", "batch_shape",
                              "input_shape", "batch_size", "autocast", "input_dim"})
            used_.insert(k);
    }

    const std::string& name() const { return name_; }
    bool has(const char* key) const { return cfg_.contains(key) && !cfg_[key].is_null(); }

    /// Marks `key` as read (the caller parsed it itself).
    void mark(const char* key) { used_.insert(key); }

    /// Axes as Keras's configs write them, an integer or a list of integers (LayerNormalization's
    /// `axis`, PReLU's `shared_axes`): each in [lowest, 64], at most 64; `fallback` when absent
    /// or null.
    std::vector<int> axes(const char* key, int lowest, std::vector<int> fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        const json& a = cfg_[key];
        std::vector<int> out;
        auto one = [&](const json& v) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < lowest ||
                v.get<std::int64_t>() > 64)
                throw value_error(xkeras::detail::cat(where(key), " must be an axis (", lowest,
                                                      " to 64) or a list of them, got ",
                                                      io::describe(a)));
            out.push_back(v.get<int>());
        };
        if (a.is_array() && a.size() <= 64)
            for (const auto& v : a) one(v);
        else
            one(a);
        return out;
    }

    /// The value of `key` as V, or `fallback` when absent or null.
    template <class V>
    V get(const char* key, V fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        try {
            return cfg_[key].get<V>();
        } catch (const json::exception&) {
            throw value_error(where(key) + " has an unexpected value " + io::describe(cfg_[key]));
        }
    }

    /// A required integer.
    int get_int(const char* key) {
        used_.insert(key);
        if (!has(key) || !cfg_[key].is_number_integer())
            throw value_error(
                where(key) + " must be an integer, got " +
                (cfg_.contains(key) ? io::describe(cfg_[key]) : std::string("nothing")));
        return to_int(cfg_[key], key);
    }

    /// A pair of sizes: an integer or a list of two.
    std::vector<int> get_pair(const char* key, std::vector<int> fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        const json& v = cfg_[key];
        if (v.is_number_integer()) return {to_int(v, key), to_int(v, key)};
        if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer())
            return {to_int(v[0], key), to_int(v[1], key)};
        throw value_error(where(key) + " must be an integer or a list of two, got " +
                          io::describe(v));
    }

    /// A size of one axis (Conv1D's kernel_size, a 1-D pooling's strides): an integer or a list
    /// of one, as Keras writes the tuple.
    std::optional<int> get_size1(const char* key, std::optional<int> fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        const json& v = cfg_[key];
        if (v.is_number_integer()) return to_int(v, key);
        if (v.is_array() && v.size() == 1 && v[0].is_number_integer()) return to_int(v[0], key);
        throw value_error(where(key) + " must be an integer or a list of one, got " +
                          io::describe(v));
    }

    /// Margins as Keras writes them (ZeroPadding2D's padding, Cropping2D's cropping): an integer,
    /// or a list of (rows, columns), each an integer or a pair ((top, bottom), (left, right));
    /// as {top, bottom, left, right}.
    std::vector<int> get_margins(const char* key, std::vector<int> fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        const json& v = cfg_[key];
        auto pair = [&](const json& p) -> std::vector<int> {
            if (p.is_number_integer()) return {to_int(p, key), to_int(p, key)};
            if (p.is_array() && p.size() == 2 && p[0].is_number_integer() &&
                p[1].is_number_integer())
                return {to_int(p[0], key), to_int(p[1], key)};
            throw value_error(where(key) +
                              " must be an integer, a list of two or a list of two "
                              "lists of two, got " +
                              io::describe(v));
        };
        if (v.is_number_integer())
            return {to_int(v, key), to_int(v, key), to_int(v, key), to_int(v, key)};
        if (!v.is_array() || v.size() != 2) pair(nullptr);  // throws, naming the value
        // as Keras: each of the two entries an integer or a pair
        const auto rows = pair(v[0]), cols = pair(v[1]);
        return {rows[0], rows[1], cols[0], cols[1]};
    }

    /// The activation name (a string; null means linear).
    std::string activation(const char* key = "activation") {
        used_.insert(key);
        if (!has(key)) return "linear";
        if (!cfg_[key].is_string())
            throw value_error(where(key) + " must be an activation name, got " +
                              io::describe(cfg_[key]));
        return cfg_[key].get<std::string>();
    }

    initializers::Initializer initializer(const char* key, initializers::Initializer fallback) {
        used_.insert(key);
        if (!has(key)) return fallback;
        const json& v = cfg_[key];
        try {
            if (v.is_string()) return initializers::get(v.get<std::string>());
            if (!v.is_object() || !v.contains("class_name"))
                throw value_error("expected a name or a {class_name, config} object");
            const std::string c = v["class_name"].get<std::string>();
            const json cfg =
                v.contains("config") && v["config"].is_object() ? v["config"] : json::object();
            auto seed = [&]() -> std::optional<std::uint64_t> {
                if (cfg.contains("seed") && cfg["seed"].is_number_integer())
                    return cfg["seed"].get<std::uint64_t>();
                return std::nullopt;
            };
            auto num = [&](const char* k, double d) {
                return cfg.contains(k) && cfg[k].is_number() ? cfg[k].get<double>() : d;
            };
            if (c == "RandomNormal")
                return initializers::RandomNormal(num("mean", 0), num("stddev", 0.05), seed());
            if (c == "RandomUniform")
                return initializers::RandomUniform(num("minval", -0.05), num("maxval", 0.05),
                                                   seed());
            if (c == "Constant") return initializers::Constant(num("value", 0));
            if (c == "Orthogonal") return initializers::Orthogonal(num("gain", 1.0), seed());
            if (c == "VarianceScaling")
                return initializers::variance_scaling(
                    num("scale", 1.0), cfg.value("mode", std::string("fan_in")),
                    cfg.value("distribution", std::string("truncated_normal")), seed(),
                    "VarianceScaling");
            auto init = initializers::get(c);
            init.seed = seed();
            return init;
        } catch (const error& e) {
            throw value_error(where(key) + ": " + e.what());
        } catch (const json::exception& e) {
            throw value_error(where(key) + ": " + e.what());
        }
    }

    std::optional<regularizers::Regularizer> regularizer(const char* key) {
        used_.insert(key);
        if (!has(key)) return std::nullopt;
        const json& v = cfg_[key];
        try {
            if (v.is_string()) return regularizers::Regularizer(v.get<std::string>());
            const std::string c = v.at("class_name").get<std::string>();
            const json cfg = v.value("config", json::object());
            const double l1 = cfg.value("l1", 0.0), l2 = cfg.value("l2", 0.0);
            if (c == "L1" || c == "L2" || c == "L1L2") return regularizers::Regularizer(l1, l2);
            throw value_error("unsupported regularizer '" + c + "' (xkeras has L1, L2, L1L2)");
        } catch (const json::exception& e) {
            throw value_error(where(key) + ": " + e.what());
        } catch (const error& e) {
            throw value_error(where(key) + ": " + e.what());
        }
    }

    /// Accepts `key` only when absent, null or equal to `expected` (an option xkeras has not).
    void expect(const char* key, const json& expected) {
        used_.insert(key);
        if (!has(key) || cfg_[key] == expected) return;
        throw value_error(
            where(key) + " = " + io::describe(cfg_[key]) + " is not supported by xkeras" +
            (expected.is_null() ? std::string() : " (only " + io::describe(expected) + ")"));
    }

    /// Refuses any key not read.
    void finish() const {
        for (const auto& [k, v] : cfg_.items())
            if (!used_.count(k) && !v.is_null())
                throw value_error(where(k.c_str()) + " is an option xkeras does not know (value " +
                                  io::describe(v) + ")");
    }

    /// "Class 'name': config key 'key'", the start of a message about that key.
    std::string where(const char* key) const {
        return cls_ + (name_.empty() ? "" : " '" + io::excerpt(name_, 60) + "'") +
               ": config key '" + io::excerpt(key, 60) + "'";
    }

  private:
    /// An integer JSON value as int; values outside int's range are refused (not wrapped).
    int to_int(const json& v, const char* key) const {
        const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= std::uint64_t(INT_MAX)
                                                 : v.get<std::int64_t>() >= INT_MIN &&
                                                       v.get<std::int64_t>() <= INT_MAX;
        if (!fits)
            throw value_error(where(key) + " = " + io::describe(v) + " is out of range (at most " +
                              std::to_string(INT_MAX) + ")");
        return v.get<int>();
    }
    const json& cfg_;
    std::string cls_, name_;
    std::set<std::string> used_;
};

/// Writes the keys Dense and Conv2D share (activation, bias, initializers, regularizers, and the
/// constraints xkeras does not have as null).
template <class Options>
void write_kernel_options(json& c, const Options& o, const std::string& activation) {
    c["activation"] = activation;
    c["use_bias"] = o.use_bias;
    c["kernel_initializer"] = to_json(o.kernel_initializer);
    c["bias_initializer"] = to_json(o.bias_initializer);
    c["kernel_regularizer"] = to_json(o.kernel_regularizer);
    c["bias_regularizer"] = to_json(o.bias_regularizer);
    c["activity_regularizer"] = nullptr;
    c["kernel_constraint"] = nullptr;
    c["bias_constraint"] = nullptr;
}

/// Reads the keys Dense and Conv2D share, refusing constraints, activity regularizers and LoRA.
template <class Options>
void read_kernel_options(reader& r, Options& o) {
    o.name = r.name();
    o.activation = r.activation();
    o.use_bias = r.get("use_bias", true);
    o.kernel_initializer = r.initializer("kernel_initializer", initializers::GlorotUniform());
    o.bias_initializer = r.initializer("bias_initializer", initializers::Zeros());
    o.kernel_regularizer = r.regularizer("kernel_regularizer");
    o.bias_regularizer = r.regularizer("bias_regularizer");
    for (const char* k : {"activity_regularizer", "kernel_constraint", "bias_constraint",
                          "lora_rank", "lora_alpha"})
        r.expect(k, nullptr);
}

}  // namespace xkeras::layers::config
