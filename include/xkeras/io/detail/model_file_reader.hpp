// xkeras/io/detail/model_file_reader.hpp - reading a model file and checking it before anything
// is built from it (docs/file-format.md).
//
// Every number the header gives is checked for its type, integrality and range before it is
// used: a JSON number is a double to most readers, and a conversion would truncate 1.5 or 3.9,
// wrap -1, and turn 1e30 or 2^64 into anything. Every size is checked against the file's data
// before anything is allocated for it, and the header's JSON against a nesting bound before it
// is built.
#pragma once

#include <nlohmann/json.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "../../config.hpp"
#include "../../detail/sha256.hpp"
#include "../../tensor.hpp"
#include "../json_limits.hpp"
#include "../read_file.hpp"

namespace xkeras::io {

static_assert(std::endian::native == std::endian::little,
              "xkeras model files store little-endian numbers; this platform is big-endian");

inline constexpr char model_file_magic[8] = {'X', 'K', 'E', 'R', 'A', 'S', 'M', 'F'};
inline constexpr std::uint32_t model_file_version = 1;

/// How deeply a model file's header may nest: a Keras model's JSON takes about 10 levels.
inline constexpr std::size_t max_header_depth = 64;

namespace detail {

using json = nlohmann::json;

/// A checked, parsed model file.
struct parsed_file {
    json header;
    std::string bytes;
    std::size_t data_begin = 0, data_end = 0;
    std::string path;

    std::size_t data_size() const { return data_end - data_begin; }

    /// v as an integer in [0, max]; throws io_error naming `what` for anything else.
    std::uint64_t count(const json& v, std::uint64_t max, const std::string& what) const {
        if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max)
            throw io_error(xkeras::detail::cat("'", path, "': ", what,
                                               " must be an integer from 0 to ", max, ", got ",
                                               describe(v, 40)));
        return v.get<std::uint64_t>();
    }

    /// The shape and byte offset of table entry `e` (`what` names it), checked against the data.
    std::pair<shape_t, std::size_t> entry(const json& e, const std::string& what) const {
        if (!e.is_object() || !e.contains("shape") || !e["shape"].is_array() ||
            !e.contains("offset") || e["shape"].size() > 8)
            throw io_error(xkeras::detail::cat("'", path, "': the entry of ", what,
                                               " needs a \"shape\" (a list of at most 8 sizes) and "
                                               "an \"offset\", got ",
                                               describe(e, 80)));
        shape_t shape;
        for (const auto& d : e["shape"])
            shape.push_back(count(d, data_size(), "a size in the shape of " + what));
        return {std::move(shape), count(e["offset"], data_size(), "the offset of " + what)};
    }

    /// The tensor of table entry `e`, which must have the `expected` shape and lie in the data.
    template <class T>
    tensor<T> tensor_at(const json& e, const shape_t& expected, const std::string& what) const {
        const auto [shape, offset] = entry(e, what);
        if (shape != expected)
            throw io_error(xkeras::detail::cat("'", path, "': ", what, " has shape ",
                                               shape_str(shape), " in the file, the model expects ",
                                               shape_str(expected)));
        check_in_data(offset, shape_size(shape) * sizeof(T), what);
        tensor<T> t(shape);
        std::memcpy(t.data(), bytes.data() + data_begin + offset, t.size() * sizeof(T));
        return t;
    }

    /// Throws unless n bytes at `offset` lie in the data.
    void check_in_data(std::size_t offset, std::size_t n, const std::string& what) const {
        if (offset > data_size() || n > data_size() - offset)
            throw io_error(xkeras::detail::cat("'", path, "': ", what, " lies outside the data (",
                                               n, " bytes at offset ", offset, " of ", data_size(),
                                               ")"));
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
        f.header =
            parse_json(std::string_view(b).substr(fixed, head), {max_header_depth}, "the header");
    } catch (const error& e) {
        throw io_error(xkeras::detail::cat("'", f.path, "': ", e.what()));
    }
    if (!f.header.is_object())
        throw io_error(xkeras::detail::cat("'", f.path, "': the header is not a JSON object but ",
                                           f.header.type_name()));
    f.data_begin = fixed + head;
    f.data_end = b.size() - tail;
    return f;
}

/// Reads and parses a model file (parse_model_bytes): a regular file only (io::regular_file).
inline parsed_file read_file(const std::filesystem::path& path) {
    return parse_model_bytes(read_regular_file(path, "model file"), path.string());
}

template <class T>
void check_dtype(const parsed_file& f) {
    const std::string want = sizeof(T) == 8 ? "float64" : "float32";
    const json& got = f.header.contains("dtype") ? f.header["dtype"] : json("?");
    if (got != want)
        throw io_error(xkeras::detail::cat("'", f.path, "' holds ", describe(got, 40),
                                           " weights; this model is ", want));
}

}  // namespace detail
}  // namespace xkeras::io
