// xkeras/datasets/idx.hpp - reader for the IDX files of MNIST and Fashion-MNIST.
//
// IDX: 2 zero bytes, a type byte (0x08 = unsigned byte, the only type MNIST uses), a byte with
// the number of dimensions, the dimensions as big-endian uint32, then the data row-major. The
// reader checks the magic, the type, the dimensions and that the file holds exactly the data the
// header announces; files ending in ".gz" are decompressed with zlib.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../tensor.hpp"

namespace xkeras::datasets {

namespace detail {

inline std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw io_error(xkeras::detail::cat("IDX file '", path.string(), "' does not exist"));
    std::vector<unsigned char> bytes;
    if (path.extension() == ".gz") {
        gzFile f = gzopen(path.string().c_str(), "rb");
        if (!f) throw io_error(xkeras::detail::cat("cannot open '", path.string(), "'"));
        unsigned char buf[1 << 16];
        int n = 0;
        while ((n = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + n);
        int err = 0;
        const char* msg = gzerror(f, &err);
        bool bad = n < 0 || (err != Z_OK && err != Z_STREAM_END);
        std::string what = bad ? std::string(msg ? msg : "unknown error") : std::string();
        gzclose(f);
        if (bad)
            throw io_error(
                xkeras::detail::cat("'", path.string(), "' is not a valid gzip file: ", what));
        return bytes;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(xkeras::detail::cat("cannot open '", path.string(), "'"));
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::size_t>(in.tellg());
    in.seekg(0);
    bytes.resize(size);
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
        throw io_error(xkeras::detail::cat("cannot read '", path.string(), "'"));
    return bytes;
}

}  // namespace detail

namespace detail {

/// Parses the bytes of an IDX file of unsigned bytes; `name` names the file in messages. The
/// element count the header announces is multiplied with overflow checks, so that no header can
/// make the reader allocate more than the bytes it was given.
inline xt::xarray<std::uint8_t> parse_idx(std::span<const unsigned char> bytes,
                                          const std::string& file, std::size_t expected_rank = 0) {
    if (bytes.size() < 4)
        throw io_error(xkeras::detail::cat("IDX file '", file, "' is truncated: ", bytes.size(),
                                           " bytes, too short for the 4-byte magic number"));
    if (bytes[0] != 0 || bytes[1] != 0)
        throw io_error(xkeras::detail::cat("'", file,
                                           "' is not an IDX file: expected the magic number to "
                                           "start with two zero bytes, got 0x",
                                           std::hex, int(bytes[0]), " 0x", int(bytes[1])));
    if (bytes[2] != 0x08)
        throw io_error(xkeras::detail::cat("IDX file '", file,
                                           "': expected data type 0x08 (unsigned byte), got 0x",
                                           std::hex, int(bytes[2])));
    const std::size_t rank = bytes[3];
    if (rank == 0 || (expected_rank != 0 && rank != expected_rank))
        throw io_error(xkeras::detail::cat(
            "IDX file '", file, "': expected ", expected_rank ? expected_rank : 1,
            expected_rank ? "" : " or more", " dimension(s), got ", rank));
    const std::size_t header = 4 + 4 * rank;
    if (bytes.size() < header)
        throw io_error(xkeras::detail::cat("IDX file '", file, "' is truncated: ", bytes.size(),
                                           " bytes, the header alone needs ", header));
    shape_t shape(rank);
    // count: the elements (overflow: too many to count); strides: the product of the non-zero
    // dimensions, which a tensor's signed strides must hold even when one dimension is 0
    std::size_t count = 1, strides = 1;
    bool overflow = false, strides_overflow = false, empty = false;
    for (std::size_t d = 0; d < rank; ++d) {
        const unsigned char* p = bytes.data() + 4 + 4 * d;
        shape[d] = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) |
                   (std::size_t(p[2]) << 8) | std::size_t(p[3]);
        overflow = overflow || __builtin_mul_overflow(count, shape[d], &count);
        if (shape[d] == 0)
            empty = true;
        else
            strides_overflow =
                strides_overflow || __builtin_mul_overflow(strides, shape[d], &strides);
    }
    if (empty) {
        count = 0;
        overflow = false;
        if (strides_overflow || strides > std::size_t(PTRDIFF_MAX))
            throw io_error(xkeras::detail::cat("IDX file '", file, "': its header announces shape ",
                                               shape_str(shape),
                                               ", too large for a tensor's strides even though a "
                                               "dimension is 0"));
    }
    // (the data can never be larger than the bytes given, so counting stops being needed there)
    if (overflow || count > bytes.size() - header)
        throw io_error(xkeras::detail::cat(
            "IDX file '", file, "' is truncated: its header announces shape ", shape_str(shape),
            overflow ? std::string(", more bytes than a size_t can count,")
                     : xkeras::detail::cat(" = ", count, " bytes of data"),
            " after a ", header, "-byte header, but the file holds ", bytes.size() - header,
            " bytes of data"));
    if (count != bytes.size() - header)
        throw io_error(xkeras::detail::cat(
            "IDX file '", file, "' has the wrong size: its header announces shape ",
            shape_str(shape), " = ", count, " bytes of data after a ", header,
            "-byte header, but the file holds ", bytes.size() - header,
            " bytes of data (trailing bytes)"));
    xt::xarray<std::uint8_t> out(shape);
    std::copy(bytes.begin() + std::ptrdiff_t(header), bytes.end(), out.data());
    return out;
}

}  // namespace detail

/// Reads an IDX file of unsigned bytes into a uint8 tensor of the shape its header gives.
/// `expected_rank`, when non-zero, is checked too (3 for images, 1 for labels).
inline xt::xarray<std::uint8_t> read_idx(const std::filesystem::path& path,
                                         std::size_t expected_rank = 0) {
    const auto bytes = detail::read_file_bytes(path);
    return detail::parse_idx(bytes, path.string(), expected_rank);
}

/// One split of an image classification dataset: images (N, H, W) and labels (N), both uint8.
struct split {
    xt::xarray<std::uint8_t> images;
    xt::xarray<std::uint8_t> labels;
};

/// Train and test splits, as Keras's load_data() returns them:
/// `auto [train, test] = load_data(); auto& [x_train, y_train] = train;`
struct dataset {
    split train;
    split test;
};

namespace detail {

/// Loads an images/labels pair and checks that they belong together.
inline split load_split(const std::filesystem::path& images, const std::filesystem::path& labels,
                        std::size_t num_classes) {
    split s{read_idx(images, 3), read_idx(labels, 1)};
    if (s.images.shape()[0] != s.labels.shape()[0])
        throw io_error(xkeras::detail::cat("'", images.string(), "' holds ", s.images.shape()[0],
                                           " images but '", labels.string(), "' holds ",
                                           s.labels.shape()[0], " labels"));
    for (std::size_t i = 0; i < s.labels.size(); ++i)
        if (s.labels.data()[i] >= num_classes)
            throw io_error(xkeras::detail::cat("'", labels.string(), "': label ", i, " is ",
                                               int(s.labels.data()[i]), ", expected 0..",
                                               num_classes - 1));
    return s;
}

}  // namespace detail
}  // namespace xkeras::datasets
