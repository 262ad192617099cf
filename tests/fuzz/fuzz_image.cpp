// tests/fuzz/fuzz_image.cpp - predict_digit's picture path on arbitrary bytes: decoding with
// stb_image (digit_image::load_from_memory) and the MNIST-style preparation (to_mnist), whose
// output must be 28x28 values in [0, 1].
#include "fuzz_common.hpp"

#include "../../examples/digit_image.hpp"

namespace fuzz_image {

inline int run(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto img = digit_image::load_from_memory(bytes, "fuzz.img");
        const auto x = digit_image::to_mnist(img);
        if (x.size() != 784) fuzz::fail("to_mnist's output is not 28x28");
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!(x[i] >= 0.f && x[i] <= 1.f)) fuzz::fail("a value outside [0, 1]");
    } catch (const xkeras::error&) {
    }
    return 0;
}

}  // namespace fuzz_image

XKERAS_FUZZ_TARGET(fuzz_image)
