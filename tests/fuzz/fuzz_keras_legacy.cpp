// tests/fuzz/fuzz_keras_legacy.cpp - the reader of Keras's legacy HDF5 files on arbitrary bytes:
// load_model's (@model_config, @training_config, /model_weights by weight_names paths,
// /optimizer_weights in each writer's layout), then load_weights' into a fixed model (a full
// file's /model_weights, or the root of a weights-only file). Seeds: a real file written by
// Keras 2.3.1 (tests/keras_files/h5_07) and small ones written by xkeras. A model that loads is
// run once on zeros when it is small.
#include "fuzz_common.hpp"

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

namespace fuzz_keras_legacy {

/// The architecture of the real seed: Conv2D(2, 3x3, same) on 8x8x1, Dropout, Flatten, Dense.
inline xkeras::Sequential& model() {
    static xkeras::Sequential m = [] {
        using namespace xkeras::layers;
        xkeras::utils::set_random_seed(1);
        xkeras::Sequential s;
        s.add(xkeras::Input({8, 8, 1}));
        s.add(Conv2D(2, {3, 3}, {.padding = "same", .activation = "relu"}));
        s.add(Dropout(0.25));
        s.add(Flatten());
        s.add(Dense(10, "softmax"));
        return s;
    }();
    return m;
}

/// HDF5 sets itself up on first use: done here, at start-up, the first input does not look as
/// if it leaked what HDF5 keeps for the process.
inline const bool hdf5_ready = [] {
    auto& m = model();
    xkeras::keras_files::detail::load_weights_bytes(m, xkeras::keras_files::legacy_weights_bytes(m),
                                                    "warm-up.h5");
    return true;
}();

inline int run(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        auto m = xkeras::keras_files::load_legacy_model<float>(bytes, "fuzz.h5");
        fuzz::predict_small(m);
    } catch (const xkeras::error&) {
    }
    auto& fixed = model();
    std::vector<xkeras::shape_t> before;
    for (auto* p : fixed.trainable_params()) before.push_back(xkeras::shape_of(p->value));
    try {
        xkeras::keras_files::detail::load_weights_bytes(fixed, bytes, "fuzz.h5");
    } catch (const xkeras::error&) {
    }
    std::size_t i = 0;
    for (auto* p : fixed.trainable_params())
        if (xkeras::shape_of(p->value) != before[i++]) fuzz::fail("a weight changed shape");
    return 0;
}

}  // namespace fuzz_keras_legacy

XKERAS_FUZZ_TARGET(fuzz_keras_legacy)
