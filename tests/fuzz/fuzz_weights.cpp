// tests/fuzz/fuzz_weights.cpp - load_weights on arbitrary files into a fixed small model
// (Conv2D, BatchNormalization, Flatten, Dense). The first input byte is a mode
// (fuzz::model_file_input): odd recomputes the SHA-256 trailer. Weights that load must have the
// model's shapes.
#include "fuzz_common.hpp"

#include <xkeras/xkeras.hpp>

namespace fuzz_weights {

/// The model the seeds were saved from (tests/fuzz/make_seeds.cpp builds the same one).
inline xkeras::Sequential& model() {
    static xkeras::Sequential m = [] {
        xkeras::utils::set_random_seed(1);
        xkeras::Sequential s;
        s.add(xkeras::Input({6, 6, 1}));
        s.add(xkeras::layers::Conv2D(2, 3, "relu"));
        s.add(xkeras::layers::BatchNormalization());
        s.add(xkeras::layers::Flatten());
        s.add(xkeras::layers::Dense(3, "softmax"));
        return s;
    }();
    return m;
}

inline int run(const std::uint8_t* data, std::size_t size) {
    auto& m = model();
    std::vector<xkeras::shape_t> before;
    for (const auto& [key, p] : xkeras::io::detail::weight_keys(m))
        before.push_back(xkeras::shape_of(p->value));
    try {
        auto f = xkeras::io::detail::parse_model_bytes(fuzz::model_file_input(data, size),
                                                       "fuzz.weights.xk");
        xkeras::io::detail::load_weights_into(m, f);
    } catch (const xkeras::error&) {
    }
    std::size_t i = 0;
    for (const auto& [key, p] : xkeras::io::detail::weight_keys(m))
        if (xkeras::shape_of(p->value) != before[i++]) fuzz::fail("a weight changed shape");
    return 0;
}

}  // namespace fuzz_weights

XKERAS_FUZZ_TARGET(fuzz_weights)
