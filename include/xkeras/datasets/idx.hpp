// xkeras/datasets/idx.hpp - reader for the IDX files of MNIST and Fashion-MNIST.
//
// IDX: 2 zero bytes, a type byte (0x08 = unsigned byte, the only type MNIST uses), a byte with
// the number of dimensions, the dimensions as big-endian uint32, then the data row-major. The
// reader checks the magic, the type, the dimensions and that the file holds exactly the data the
// header announces; files ending in ".gz" are decompressed with zlib, only as far as the header
// says the data goes.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../io/read_file.hpp"
#include "../tensor.hpp"

namespace xkeras::datasets {

/// The most data bytes read_idx accepts unless told otherwise: a bound on what a file's header
/// (or a small gzip archive that expands without end) can make the reader allocate.
inline constexpr std::size_t default_max_idx_bytes = std::size_t(1) << 30;

namespace detail {

/// The data bytes an IDX header of `rank` dimensions at `dims` announces, saturating at SIZE_MAX.
inline std::size_t announced_bytes(const unsigned char* dims, std::size_t rank) {
    std::size_t count = 1;
    for (std::size_t d = 0; d < rank; ++d, dims += 4) {
        const std::size_t n = (std::size_t(dims[0]) << 24) | (std::size_t(dims[1]) << 16) |
                              (std::size_t(dims[2]) << 8) | std::size_t(dims[3]);
        if (__builtin_mul_overflow(count, n, &count)) return std::size_t(-1);
    }
    return count;
}

/// The bytes of an IDX file (a regular file: io::regular_file), decompressed with zlib when its
/// name ends in ".gz"; at most `max_bytes` of data. A gzip stream is decompressed only as far as
/// its header says the data goes, and one byte more to tell trailing data: an archive that
/// expands to more is stopped there.
inline std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path,
                                                  std::size_t max_bytes) {
    io::regular_file file(path, "IDX file");
    std::vector<unsigned char> bytes;
    auto too_large = [&](const char* holds, std::size_t n) {
        return io_error(xkeras::detail::cat("IDX file '", path.string(), "' ", holds, " ", n,
                                            " bytes of data, more than the ", max_bytes,
                                            " accepted (read_idx's max_bytes)"));
    };
    if (path.extension() != ".gz") {
        // the largest header: 4 bytes and 255 dimensions of 4
        if (file.size() > max_bytes + 4 + 4 * 255) throw too_large("holds", file.size());
        bytes.resize(file.size());
        io::read_into(file, bytes.data(), "IDX file");
        return bytes;
    }
    const int fd = file.release();
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        ::close(fd);
        throw io_error(xkeras::detail::cat("cannot open '", path.string(), "'"));
    }
    // reads up to `want` more bytes, growing the buffer with what comes (not with what was
    // announced); false on an error
    auto read = [&](std::size_t want) {
        for (std::size_t left = want; left > 0;) {
            const std::size_t at = bytes.size(), chunk = std::min<std::size_t>(left, 1 << 20);
            bytes.resize(at + chunk);
            const int n = gzread(f, bytes.data() + at, unsigned(chunk));
            bytes.resize(at + std::size_t(std::max(n, 0)));
            if (n <= 0) return n == 0;
            left -= std::size_t(n);
        }
        return true;
    };
    bool ok = read(4) && bytes.size() == 4;
    const std::size_t rank = ok ? bytes[3] : 0;
    ok = ok && read(4 * rank) && bytes.size() == 4 + 4 * rank;
    if (ok) {
        const std::size_t data = announced_bytes(bytes.data() + 4, rank);
        if (data > max_bytes) {
            gzclose(f);
            throw too_large("announces", data);
        }
        // one byte past the announced data tells trailing bytes
        ok = read(data < std::size_t(-1) ? data + 1 : data);
    }
    int err = 0;
    const char* msg = gzerror(f, &err);
    const bool bad = !ok && err != Z_OK && err != Z_STREAM_END;
    const std::string what = bad ? std::string(msg ? msg : "unknown error") : std::string();
    gzclose(f);
    if (bad)
        throw io_error(
            xkeras::detail::cat("'", path.string(), "' is not a valid gzip file: ", what));
    return bytes;
}

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
/// `expected_rank`, when non-zero, is checked too (3 for images, 1 for labels); a file whose
/// data takes more than `max_bytes` is refused before it is read (or decompressed) in full.
inline xt::xarray<std::uint8_t> read_idx(const std::filesystem::path& path,
                                         std::size_t expected_rank = 0,
                                         std::size_t max_bytes = default_max_idx_bytes) {
    const auto bytes = detail::read_file_bytes(path, max_bytes);
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

/// Loads an images/labels pair and checks that they belong together; `max_images` bounds the
/// images file's data, the labels file's is at most a byte per image.
inline split load_split(const std::filesystem::path& images, const std::filesystem::path& labels,
                        std::size_t num_classes, std::size_t max_images = default_max_idx_bytes) {
    split s{read_idx(images, 3, max_images), read_idx(labels, 1, max_images)};
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
