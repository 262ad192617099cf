// xkeras/datasets/fashion_mnist.hpp - Zalando's Fashion-MNIST, as keras.datasets.fashion_mnist.
//
// Read from Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, gzipped
// IDX files), or from $XKERAS_FASHION_MNIST_DIR. Same shapes as MNIST; the labels are
// 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag,
// 9 Ankle boot.
#pragma once

#include <cstdlib>
#include <filesystem>

#include "idx.hpp"

namespace xkeras::datasets::fashion_mnist {

/// $XKERAS_FASHION_MNIST_DIR, else Debian's /usr/share/datasets/fashion-mnist.
inline std::filesystem::path default_dir() {
    if (const char* d = std::getenv("XKERAS_FASHION_MNIST_DIR"); d && *d) return d;
    return "/usr/share/datasets/fashion-mnist";
}

/// Loads Fashion-MNIST: (60,000 + 10,000) uint8 images (N, 28, 28) and labels 0-9.
inline dataset load_data(const std::filesystem::path& dir = default_dir()) {
    auto pick = [&](const char* name) {
        auto plain = dir / name;
        if (std::filesystem::is_regular_file(plain)) return plain;
        auto gz = dir / (std::string(name) + ".gz");
        if (std::filesystem::is_regular_file(gz)) return gz;
        throw io_error(xkeras::detail::cat(
            "Fashion-MNIST file '", gz.string(),
            "' not found; install Debian's package dataset-fashion-mnist or set "
            "XKERAS_FASHION_MNIST_DIR"));
    };
    // 60,000 images of 28 x 28 bytes; nothing larger is read
    constexpr std::size_t max_bytes = 60000 * 28 * 28;
    return {datasets::detail::load_split(pick("train-images-idx3-ubyte"),
                                         pick("train-labels-idx1-ubyte"), 10, max_bytes),
            datasets::detail::load_split(pick("t10k-images-idx3-ubyte"),
                                         pick("t10k-labels-idx1-ubyte"), 10, max_bytes)};
}

}  // namespace xkeras::datasets::fashion_mnist
