// xkeras/io/detail/model_file_impl.hpp - model files: save / load_model, save_weights /
// load_weights.
//
// One file holds a JSON header (the Keras-compatible architecture with its compile config, the
// table of tensors, the optimizer state and what an exact resume needs) and the raw tensors; its
// last 32 bytes are the SHA-256 of everything before them. docs/file-format.md describes it
// byte by byte. Writes are atomic (io::atomic_write): a crash or a full disk never destroys the
// previous file. Loading checks, in order, the size, the magic, the format version, the header
// bounds, the checksum, the JSON, and every tensor's bounds and shape, and says which check
// failed.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// Included at the end of model.hpp (basic_sequential is complete here); include
// <xkeras/io/model_file.hpp> or <xkeras/model.hpp> instead of this file.
#include "../../detail/sha256.hpp"
#include "../atomic_file.hpp"
#include "../keras_formats.hpp"
#include "model_file_reader.hpp"
#include "model_json_impl.hpp"

namespace xkeras {

namespace io {

namespace detail {

inline void put_u32(std::string& s, std::uint32_t v) {
    s.append(reinterpret_cast<const char*>(&v), 4);
}
inline void put_u64(std::string& s, std::uint64_t v) {
    s.append(reinterpret_cast<const char*>(&v), 8);
}

/// The tensors of a file, appended to `data`; returns the table entry of one.
template <class T>
json add_tensor(std::string& data, const tensor<T>& t) {
    json entry = {{"shape", shape_of(t)}, {"offset", data.size()}};
    data.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(T));
    return entry;
}

template <class T>
std::string serialize(const basic_sequential<T>& m, const std::string& kind) {
    json header = {{"format_version", model_file_version},
                   {"xkeras_version", xkeras::version},
                   {"kind", kind},
                   {"dtype", sizeof(T) == 8 ? "float64" : "float32"},
                   {"model", model_to_json_object(m)}};
    std::string data;
    json weights = json::array();
    for (const auto& [key, p] : weight_keys(m)) {
        json e = add_tensor(data, p->value);
        e["key"] = key;
        weights.push_back(std::move(e));
    }
    header["weights"] = std::move(weights);
    if (kind == "model") {
        json states = json::object();
        for (auto* l : m.layers())
            if (json s = l->training_state(); !s.is_null()) states[l->name()] = std::move(s);
        header["training_state"] = {{"shuffle_seed", m.shuffle_seed()},
                                    {"layers", std::move(states)}};
        if (m.compiled()) {
            const auto& opt = m.optimizer();
            json slots = json::array();
            for (const auto& [key, p] : weight_keys(m)) {
                auto it = opt.slots().find(p->name);
                if (it == opt.slots().end()) continue;
                for (std::size_t i = 0; i < it->second.size(); ++i) {
                    json e = add_tensor(data, it->second[i]);
                    e["key"] = key;
                    e["index"] = i;
                    slots.push_back(std::move(e));
                }
            }
            header["optimizer_state"] = {{"iterations", opt.iterations()},
                                         {"slots", std::move(slots)}};
        }
    }
    const std::string head = header.dump();
    std::string out(model_file_magic, 8);
    put_u32(out, model_file_version);
    put_u64(out, head.size());
    out += head;
    out += data;
    xkeras::detail::sha256 h;
    h.update(out.data(), out.size());
    const std::string hex = h.hex_digest();
    for (std::size_t i = 0; i < 32; ++i)
        out.push_back(char(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
    return out;
}

/// Sets every weight of `m` from the file's table, by key; all must be there, with their shapes.
template <class T>
void load_weights_into(basic_sequential<T>& m, const parsed_file& f) try {
    check_dtype<T>(f);
    std::map<std::string, const json*> table;
    if (!f.header.contains("weights") || !f.header["weights"].is_array())
        throw io_error(xkeras::detail::cat("'", f.path, "' has no weights table"));
    for (const auto& e : f.header["weights"]) {
        if (!e.is_object() || !e.contains("key") || !e["key"].is_string())
            throw io_error(xkeras::detail::cat("'", f.path, "': a weights entry has no key"));
        if (!table.emplace(e["key"].get<std::string>(), &e).second)
            throw io_error(xkeras::detail::cat("'", f.path, "': weight '",
                                               excerpt(e["key"].get<std::string>()),
                                               "' is in the weights table twice"));
    }
    auto keys = weight_keys(m);
    std::vector<tensor<T>> values;
    for (const auto& [key, p] : keys) {
        auto it = table.find(key);
        if (it == table.end()) {
            std::string have;
            for (const auto& [k, e] : table) have += (have.empty() ? "" : ", ") + k;
            have = excerpt(have, 400);
            throw io_error(xkeras::detail::cat(
                "'", f.path, "' has no weight '", key, "' for layer '",
                p->name.substr(0, p->name.rfind('/')), "' of shape ", shape_str(shape_of(p->value)),
                "; the file has: ", have.empty() ? "(none)" : have));
        }
        values.push_back(f.tensor_at<T>(
            *it->second, shape_of(p->value),
            "weight '" + key + "' (layer '" + p->name.substr(0, p->name.rfind('/')) + "')"));
        table.erase(it);
    }
    if (!table.empty())
        throw io_error(xkeras::detail::cat(
            "'", f.path, "' has weights this model does not: ", excerpt(table.begin()->first),
            table.size() > 1 ? ", ..." : ""));
    // everything checked: now change the model
    for (std::size_t i = 0; i < keys.size(); ++i) {
        keys[i].second->value = std::move(values[i]);
        keys[i].second->changed();
    }
} catch (const json::exception& e) {
    throw io_error(
        xkeras::detail::cat("'", f.path, "': a header value has the wrong type: ", e.what()));
}

}  // namespace detail
}  // namespace io

namespace io::detail {

/// A Keras file given to a program built without <xkeras/keras_files.hpp>.
[[noreturn]] inline void refuse_keras_file(const std::filesystem::path& path) {
    throw io_error(xkeras::detail::cat(
        "'", path.string(),
        "' is a Keras file (.keras or .h5); include <xkeras/keras_files.hpp> and link the CMake "
        "target xkeras::keras_files (HDF5 and libzip) to read it"));
}

}  // namespace io::detail

template <class T>
void basic_sequential<T>::save(const std::filesystem::path& path) const {
    auto guard = lock_.hold();
    require_built("save");
    if (io::is_keras_path(path)) {
        if (!io::keras_formats<T>.save) io::detail::refuse_keras_file(path);
        io::keras_formats<T>.save(*this, path);
        return;
    }
    io::atomic_write(path, io::detail::serialize(*this, "model"));
}

template <class T>
void basic_sequential<T>::save_weights(const std::filesystem::path& path) const {
    auto guard = lock_.hold();
    require_built("save_weights");
    if (io::is_keras_path(path)) {
        if (!io::keras_formats<T>.save_weights) io::detail::refuse_keras_file(path);
        io::keras_formats<T>.save_weights(*this, path);
        return;
    }
    io::atomic_write(path, io::detail::serialize(*this, "weights"));
}

template <class T>
void basic_sequential<T>::load_weights(const std::filesystem::path& path) {
    auto guard = lock_.hold();
    require_built("load_weights");
    std::string bytes = io::read_regular_file(path, "weights file");
    if (io::is_keras_file(bytes)) {
        if (!io::keras_formats<T>.load_weights) io::detail::refuse_keras_file(path);
        io::keras_formats<T>.load_weights(*this, bytes, path.string());
        return;
    }
    io::detail::load_weights_into(*this,
                                  io::detail::parse_model_bytes(std::move(bytes), path.string()));
}

namespace io::detail {

/// The shuffling seed and each layer's own state (Layer::training_state) of a model file.
template <class T>
void restore_training_state(basic_sequential<T>& m, const parsed_file& f) {
    if (!f.header.contains("training_state")) return;
    const json& state = f.header["training_state"];
    if (!state.is_object())
        throw io_error(xkeras::detail::cat("'", f.path, "': training_state must be an object, got ",
                                           describe(state, 40)));
    if (state.contains("shuffle_seed"))
        m.set_shuffle_seed(f.count(state["shuffle_seed"], std::uint64_t(-1), "the shuffle seed"));
    // files written before the key was generic kept Dropout's under "dropout", in the same form
    const char* key = state.contains("layers") ? "layers" : "dropout";
    if (!state.contains(key)) return;
    if (!state[key].is_object())
        throw io_error(xkeras::detail::cat("'", f.path, "': training_state.", key,
                                           " must be an object, got ", describe(state[key], 40)));
    try {
        for (const auto& [name, s] : state[key].items()) m.get_layer(name).set_training_state(s);
    } catch (const error& e) {
        throw io_error(xkeras::detail::cat("'", f.path, "': training_state: ", e.what()));
    }
}

/// The optimizer's step count and per-weight slots of a model file. Every entry is counted and
/// checked before a tensor is made for any: a file cannot make the loader allocate more slots
/// than the optimizer keeps.
template <class T>
void restore_optimizer_state(basic_sequential<T>& m, const parsed_file& f, const json& os) {
    if (!os.is_object())
        throw io_error(xkeras::detail::cat(
            "'", f.path, "': optimizer_state must be an object, got ", describe(os, 40)));
    auto& opt = m.optimizer();
    // the step count, within doubles' exact integers (the bias corrections use it as a double)
    const std::int64_t iterations =
        os.contains("iterations") ? std::int64_t(f.count(os["iterations"], std::uint64_t(1) << 53,
                                                         "optimizer iterations"))
                                  : 0;
    std::map<std::string, layers::Param<T>*> by_key;
    for (const auto& [key, p] : weight_keys(m)) by_key[key] = p;
    const json none = json::array();
    const json& entries = os.contains("slots") ? os["slots"] : none;
    if (!entries.is_array())
        throw io_error(xkeras::detail::cat("'", f.path, "': optimizer_state.slots must be a list"));
    // the entries of each weight, by slot index
    const std::size_t keeps = opt.slots_per_weight();
    std::map<std::string, std::vector<const json*>> by_weight;
    for (const auto& e : entries) {
        const json* k = e.is_object() && e.contains("key") ? &e["key"] : nullptr;
        if (!k || !k->is_string() || !by_key.count(k->get<std::string>()))
            throw io_error(xkeras::detail::cat("'", f.path,
                                               "': optimizer state for unknown weight ",
                                               k ? describe(*k, 60) : "(no key)"));
        const std::string key = k->get<std::string>();
        if (keeps == 0)
            throw io_error(xkeras::detail::cat("'", f.path, "': optimizer state for '", key,
                                               "', but ", opt.class_name(), " keeps none"));
        auto& slots = by_weight[key];
        slots.resize(keeps, nullptr);
        const std::size_t i =
            e.contains("index") ? f.count(e["index"], keeps - 1, "the slot index of '" + key + "'")
                                : 0;
        if (slots[i] != nullptr)
            throw io_error(xkeras::detail::cat("'", f.path, "': optimizer state tensor ", i,
                                               " of '", key, "' is given twice"));
        slots[i] = &e;
    }
    std::vector<std::pair<layers::Param<T>*, std::vector<tensor<T>>>> state;
    for (const auto& [key, entries_of] : by_weight) {
        auto* p = by_key[key];
        std::vector<tensor<T>> s;
        for (std::size_t i = 0; i < entries_of.size(); ++i) {
            if (!entries_of[i])
                throw io_error(xkeras::detail::cat("'", f.path, "': optimizer state tensor ", i,
                                                   " of '", key, "' is missing (", opt.class_name(),
                                                   " keeps ", entries_of.size(), " per weight)"));
            s.push_back(f.tensor_at<T>(*entries_of[i], shape_of(p->value),
                                       "optimizer state of '" + key + "'"));
        }
        state.emplace_back(p, std::move(s));
    }
    for (auto& [p, s] : state) opt.set_slots(p->name, std::move(s));
    opt.set_iterations(iterations);
}

/// The model of a parsed model file (load_model).
template <class T>
basic_sequential<T> load_model_from(const parsed_file& f) try {
    if (f.header.value("kind", std::string()) != "model")
        throw io_error(xkeras::detail::cat("'", f.path,
                                           "' holds only weights (saved by "
                                           "save_weights); use load_weights on a model "
                                           "built with the same layers"));
    if (!f.header.contains("model"))
        throw io_error(xkeras::detail::cat("'", f.path, "' has no model architecture"));
    basic_sequential<T> m = [&] {
        // every weight is in the file: a model needing more bytes is refused before allocating
        layers::weight_limit limit(f.data_end - f.data_begin, "the file's tensor data");
        try {
            return model_from_json_object<T>(f.header["model"]);
        } catch (const error& e) {
            throw io_error(xkeras::detail::cat("'", f.path, "': ", e.what()));
        }
    }();
    if (!m.built())
        throw io_error(xkeras::detail::cat("'", f.path, "': the saved model has no input shape"));
    io::detail::load_weights_into(m, f);
    restore_training_state(m, f);
    if (m.compiled() && f.header.contains("optimizer_state"))
        restore_optimizer_state(m, f, f.header["optimizer_state"]);
    return m;
} catch (const json::exception& e) {
    throw io_error(
        xkeras::detail::cat("'", f.path, "': a header value has the wrong type: ", e.what()));
}

}  // namespace io::detail

/// Loads a model saved by `save`: architecture, weights, compile settings and optimizer state
/// (training resumes exactly where it stopped). Throws io_error saying which check failed.
template <class T = float>
basic_sequential<T> load_model(const std::filesystem::path& path) {
    std::string bytes = io::read_regular_file(path, "model file");
    if (io::is_keras_file(bytes)) {
        if (!io::keras_formats<T>.load_model) io::detail::refuse_keras_file(path);
        return io::keras_formats<T>.load_model(bytes, path.string());
    }
    return io::detail::load_model_from<T>(
        io::detail::parse_model_bytes(std::move(bytes), path.string()));
}

}  // namespace xkeras
