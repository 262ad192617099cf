// tests/fuzz/fuzz_keras_file.cpp - load_model's reader of Keras 3's `.keras` files on arbitrary
// bytes: the zip archive (its directory, entry names and sizes, CRCs), metadata.json and
// config.json, and model.weights.h5 through HDF5 (weights and optimizer state). Seeds: a real
// file written by Keras 3.12 and small ones written by xkeras. A model that loads is run once
// on zeros when it is small.
#include "fuzz_common.hpp"

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

namespace fuzz_keras_file {

/// HDF5 and libzip set themselves up on first use: done here, at start-up, the first input does
/// not look as if it leaked what they keep for the process.
inline const bool libraries_ready = [] {
    xkeras::Sequential m;
    m.add(xkeras::Input({2}));
    m.add(xkeras::layers::Dense(2, "softmax"));
    m.compile("adam", "categorical_crossentropy");
    (void)xkeras::keras_files::load_dot_keras<float>(xkeras::keras_files::dot_keras_bytes(m),
                                                     "warm-up.keras");
    return true;
}();

inline int run(const std::uint8_t* data, std::size_t size) {
    try {
        const std::string bytes(reinterpret_cast<const char*>(data), size);
        auto m = xkeras::keras_files::load_dot_keras<float>(bytes, "fuzz.keras");
        fuzz::predict_small(m);
    } catch (const xkeras::error&) {
    }
    return 0;
}

}  // namespace fuzz_keras_file

XKERAS_FUZZ_TARGET(fuzz_keras_file)
