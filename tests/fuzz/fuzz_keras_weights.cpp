// tests/fuzz/fuzz_keras_weights.cpp - the reader of Keras 3's weights files (`.weights.h5`, the
// HDF5 inside a `.keras`) on arbitrary bytes, into a fixed compiled model: the architecture of
// the real seed (tests/keras_files/k3_01_seq_lenet_tanh, Keras 3.12; its model.weights.h5), with
// Adam. Weights and optimizer slots that load must have the model's shapes.
#include "fuzz_common.hpp"

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

namespace fuzz_keras_weights {

inline xkeras::Sequential& model() {
    static xkeras::Sequential m = [] {
        using namespace xkeras::layers;
        xkeras::utils::set_random_seed(1);
        xkeras::Sequential s;
        s.add(xkeras::Input({28, 28, 1}));
        s.add(Conv2D(6, {3, 3}, "tanh"));
        s.add(MaxPooling2D());
        s.add(Conv2D(12, {3, 3}, "tanh"));
        s.add(MaxPooling2D());
        s.add(Flatten());
        s.add(Dense(50, "tanh"));
        s.add(Dense(10, "softmax"));
        s.compile("adam", "sparse_categorical_crossentropy");
        return s;
    }();
    return m;
}

/// HDF5 sets itself up on first use (error stacks, identifier tables): done here, at start-up,
/// the first input does not look as if it leaked what HDF5 keeps for the process.
inline const bool hdf5_ready = [] {
    auto& m = model();
    const xkeras::keras_files::hdf5::file f(xkeras::keras_files::keras3_weights_bytes(m),
                                            "warm-up.weights.h5");
    xkeras::keras_files::load_keras3_weights(m, f);
    xkeras::keras_files::load_keras3_optimizer(m, f);
    return true;
}();

inline int run(const std::uint8_t* data, std::size_t size) {
    auto& m = model();
    std::vector<xkeras::shape_t> before;
    for (auto* p : m.trainable_params()) before.push_back(xkeras::shape_of(p->value));
    try {
        const xkeras::keras_files::hdf5::file f(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.weights.h5");
        xkeras::keras_files::load_keras3_weights(m, f);
        xkeras::keras_files::load_keras3_optimizer(m, f);
    } catch (const xkeras::error&) {
    }
    std::size_t i = 0;
    for (auto* p : m.trainable_params()) {
        if (xkeras::shape_of(p->value) != before[i]) fuzz::fail("a weight changed shape");
        const auto found = m.optimizer().slots().find(p->name);
        if (found != m.optimizer().slots().end())
            for (const auto& s : found->second)
                if (xkeras::shape_of(s) != before[i]) fuzz::fail("a slot has another shape");
        ++i;
    }
    return 0;
}

}  // namespace fuzz_keras_weights

XKERAS_FUZZ_TARGET(fuzz_keras_weights)
