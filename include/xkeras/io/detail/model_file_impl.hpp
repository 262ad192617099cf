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
#include <fstream>
#include <string>
#include <vector>

// Included at the end of model.hpp (basic_sequential is complete here); include
// <xkeras/io/model_file.hpp> or <xkeras/model.hpp> instead of this file.
#include "../../detail/sha256.hpp"
#include "../atomic_file.hpp"
#include "model_json_impl.hpp"

namespace xkeras {

namespace io {

static_assert(std::endian::native == std::endian::little,
              "xkeras model files store little-endian numbers; this platform is big-endian");

inline constexpr char model_file_magic[8] = {'X', 'K', 'E', 'R', 'A', 'S', 'M', 'F'};
inline constexpr std::uint32_t model_file_version = 1;

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

/// A checked, parsed model file.
struct parsed_file {
    json header;
    std::string bytes;
    std::size_t data_begin = 0, data_end = 0;
    std::string path;

    /// The tensor of table entry `e`, checked against `expected` shape.
    template <class T>
    tensor<T> tensor_at(const json& e, const shape_t& expected, const std::string& what) const {
        shape_t shape;
        std::size_t offset = 0;
        try {
            shape = e.at("shape").get<shape_t>();
            offset = e.at("offset").get<std::size_t>();
        } catch (const json::exception&) {
            throw io_error(xkeras::detail::cat("'", path, "': the entry of ", what,
                                               " is malformed: ", e.dump()));
        }
        if (shape != expected)
            throw io_error(xkeras::detail::cat("'", path, "': ", what, " has shape ",
                                               shape_str(shape), " in the file, the model expects ",
                                               shape_str(expected)));
        const std::size_t n = shape_size(shape) * sizeof(T);
        if (offset > data_end - data_begin || n > data_end - data_begin - offset)
            throw io_error(xkeras::detail::cat("'", path, "': ", what, " lies outside the data (",
                                               n, " bytes at offset ", offset, " of ",
                                               data_end - data_begin, ")"));
        tensor<T> t(shape);
        std::memcpy(t.data(), bytes.data() + data_begin + offset, n);
        return t;
    }
};

/// Checks and parses the bytes of a model file; `name` names it in messages (its path).
inline parsed_file parse_model_bytes(std::string bytes, std::string name) {
    parsed_file f;
    f.path = std::move(name);
    f.bytes = std::move(bytes);
    const std::string& b = f.bytes;
    constexpr std::size_t fixed = 8 + 4 + 8, tail = 32;
    if (b.size() >= 4 && b.compare(0, 2, "PK") == 0)
        throw io_error(xkeras::detail::cat("'", f.path,
                                           "' is a zip archive (a Keras .keras file?), not an "
                                           "xkeras model file; load its config.json with "
                                           "model_from_json"));
    if (b.size() >= 4 && b.compare(1, 3, "HDF") == 0)
        throw io_error(xkeras::detail::cat("'", f.path,
                                           "' is an HDF5 file (a Keras .h5 file?), not an xkeras "
                                           "model file"));
    if (b.size() < fixed + tail)
        throw io_error(
            xkeras::detail::cat("'", f.path, "' is truncated or not a model file: ", b.size(),
                                " bytes, an xkeras model file has at least ", fixed + tail));
    if (b.compare(0, 8, std::string(model_file_magic, 8)) != 0)
        throw io_error(xkeras::detail::cat("'", f.path,
                                           "' is not an xkeras model file (its first 8 bytes are "
                                           "not \"XKERASMF\")"));
    std::uint32_t version = 0;
    std::uint64_t head = 0;
    std::memcpy(&version, b.data() + 8, 4);
    std::memcpy(&head, b.data() + 12, 8);
    if (version == 0 || version > model_file_version)
        throw io_error(xkeras::detail::cat("'", f.path, "' has format version ", version,
                                           "; this xkeras (", xkeras::version,
                                           ") reads versions 1 to ", model_file_version));
    if (head > b.size() - fixed - tail)
        throw io_error(xkeras::detail::cat("'", f.path, "' is truncated: its header announces ",
                                           head, " bytes, the file holds ", b.size() - fixed - tail,
                                           " after the fixed part"));
    xkeras::detail::sha256 h;
    h.update(b.data(), b.size() - tail);
    const std::string hex = h.hex_digest();
    std::string stored_hex;
    static const char* digits = "0123456789abcdef";
    for (std::size_t i = b.size() - tail; i < b.size(); ++i) {
        stored_hex += digits[(static_cast<unsigned char>(b[i]) >> 4) & 0xf];
        stored_hex += digits[static_cast<unsigned char>(b[i]) & 0xf];
    }
    if (hex != stored_hex)
        throw io_error(xkeras::detail::cat("'", f.path,
                                           "' is damaged or truncated: the SHA-256 check failed "
                                           "(stored ",
                                           stored_hex.substr(0, 16), "..., computed ",
                                           hex.substr(0, 16), "...)"));
    try {
        f.header = json::parse(b.begin() + std::ptrdiff_t(fixed),
                               b.begin() + std::ptrdiff_t(fixed + head));
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1E999
        throw io_error(
            xkeras::detail::cat("'", f.path, "': the header is not valid JSON: ", e.what()));
    }
    if (!f.header.is_object())
        throw io_error(xkeras::detail::cat("'", f.path, "': the header is not a JSON object but ",
                                           f.header.type_name()));
    f.data_begin = fixed + head;
    f.data_end = b.size() - tail;
    return f;
}

/// Reads and parses a model file (parse_model_bytes).
inline parsed_file read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(xkeras::detail::cat("cannot open model file '", path.string(), "'"));
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return parse_model_bytes(std::move(bytes), path.string());
}

template <class T>
void check_dtype(const parsed_file& f) {
    const std::string want = sizeof(T) == 8 ? "float64" : "float32";
    const std::string got = f.header.value("dtype", std::string("?"));
    if (got != want)
        throw io_error(
            xkeras::detail::cat("'", f.path, "' holds ", got, " weights; this model is ", want));
}

/// Sets every weight of `m` from the file's table, by key; all must be there, with their shapes.
template <class T>
void load_weights_into(basic_sequential<T>& m, const parsed_file& f) try {
    check_dtype<T>(f);
    std::map<std::string, const json*> table;
    if (!f.header.contains("weights") || !f.header["weights"].is_array())
        throw io_error(xkeras::detail::cat("'", f.path, "' has no weights table"));
    for (const auto& e : f.header["weights"]) {
        if (!e.contains("key") || !e["key"].is_string())
            throw io_error(xkeras::detail::cat("'", f.path, "': a weights entry has no key"));
        table[e["key"].get<std::string>()] = &e;
    }
    auto keys = weight_keys(m);
    std::vector<tensor<T>> values;
    for (const auto& [key, p] : keys) {
        auto it = table.find(key);
        if (it == table.end()) {
            std::string have;
            for (const auto& [k, e] : table) have += (have.empty() ? "" : ", ") + k;
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
        throw io_error(xkeras::detail::cat("'", f.path, "' has weights this model does not: ",
                                           table.begin()->first, table.size() > 1 ? ", ..." : ""));
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

template <class T>
void basic_sequential<T>::save(const std::filesystem::path& path) const {
    auto guard = lock_.hold();
    require_built("save");
    io::atomic_write(path, io::detail::serialize(*this, "model"));
}

template <class T>
void basic_sequential<T>::save_weights(const std::filesystem::path& path) const {
    auto guard = lock_.hold();
    require_built("save_weights");
    io::atomic_write(path, io::detail::serialize(*this, "weights"));
}

template <class T>
void basic_sequential<T>::load_weights(const std::filesystem::path& path) {
    auto guard = lock_.hold();
    require_built("load_weights");
    io::detail::load_weights_into(*this, io::detail::read_file(path));
}

namespace io::detail {

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
    const json state = f.header.value("training_state", json::object());
    if (state.contains("shuffle_seed"))
        m.set_shuffle_seed(state["shuffle_seed"].get<std::uint64_t>());
    // each layer's own state (Layer::training_state); files written before that key was
    // generic kept Dropout's under "dropout", in the same form
    const char* key = state.contains("layers") ? "layers" : "dropout";
    if (state.contains(key)) try {
            for (const auto& [name, s] : state[key].items())
                m.get_layer(name).set_training_state(s);
        } catch (const error& e) {
            throw io_error(xkeras::detail::cat("'", f.path, "': training_state: ", e.what()));
        }
    if (m.compiled() && f.header.contains("optimizer_state")) {
        const json& os = f.header["optimizer_state"];
        auto& opt = m.optimizer();
        std::map<std::string, layers::Param<T>*> by_key;
        for (const auto& [key, p] : io::detail::weight_keys(m)) by_key[key] = p;
        std::map<std::string, std::vector<tensor<T>>> slots;
        for (const auto& e : os.value("slots", json::array())) {
            const std::string key = e.value("key", std::string());
            auto it = by_key.find(key);
            if (it == by_key.end())
                throw io_error(xkeras::detail::cat(
                    "'", f.path, "': optimizer state for unknown weight '", key, "'"));
            slots[key].push_back(
                f.tensor_at<T>(e, shape_of(it->second->value), "optimizer state of '" + key + "'"));
        }
        for (auto& [key, s] : slots) {
            auto* p = by_key[key];
            if (s.size() != opt.initial_slots(*p).size())
                throw io_error(xkeras::detail::cat(
                    "'", f.path, "': ", s.size(), " optimizer state tensors for '", key, "', ",
                    opt.class_name(), " keeps ", opt.initial_slots(*p).size()));
            opt.set_slots(p->name, std::move(s));
        }
        opt.set_iterations(os.value("iterations", std::int64_t(0)));
    }
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
    return io::detail::load_model_from<T>(io::detail::read_file(path));
}

}  // namespace xkeras
