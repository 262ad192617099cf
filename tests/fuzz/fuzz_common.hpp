// tests/fuzz/fuzz_common.hpp - what the libFuzzer targets share.
//
// Each target (fuzz_<name>.cpp) puts its code in `namespace fuzz_<name>` with a
// `run(data, size)` and ends with XKERAS_FUZZ_TARGET(fuzz_<name>). Compiled alone with
// -fsanitize=fuzzer, that defines LLVMFuzzerTestOneInput. The builds compile all of them in one
// translation unit instead (all_targets.hpp, XKERAS_FUZZ_ALL_IN_ONE), so that the library is
// compiled once: fuzz_main.cpp is the libFuzzer program (XKERAS_FUZZ_TARGET=<name> picks the
// target), replay_main.cpp replays the corpora in the ordinary test build.
//
// A target catches only the exceptions its parser documents (xkeras::error and its subclasses;
// digit_board::bad_request for the board); anything else escapes, and libFuzzer reports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <xkeras/detail/sha256.hpp>

#ifdef XKERAS_FUZZ_ALL_IN_ONE
#define XKERAS_FUZZ_TARGET(ns)
#else
#define XKERAS_FUZZ_TARGET(ns)                                                          \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
        return ns::run(data, size);                                                     \
    }
#endif

namespace fuzz {

/// Reports a broken invariant (a parser accepted what it should not have) as a crash.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

/// The model-file targets' input: one mode byte, then the file. With the mode's low bit set the
/// file's SHA-256 trailer (its last 32 bytes) is recomputed over the mutated bytes, so that
/// mutations get past the checksum to the JSON header and the tensor table; with it clear the
/// file is parsed as given (the checksum check itself is fuzzed).
inline std::string model_file_input(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return {};
    std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) && file.size() >= 32) {
        xkeras::detail::sha256 h;
        h.update(file.data(), file.size() - 32);
        const std::string hex = h.hex_digest();
        for (std::size_t i = 0; i < 32; ++i)
            file[file.size() - 32 + i] = char(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    return file;
}

/// The values of a shape, or SIZE_MAX when they overflow.
inline std::size_t values_of(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (auto d : shape)
        if (__builtin_mul_overflow(n, d, &n)) return SIZE_MAX;
    return n;
}

/// Runs a built model once on one sample of zeros when it is small (at most 2^16 input values,
/// 2^20 weights and 2^22 values out of any layer: a padding, an upsampling or a convolution
/// with many filters makes a small input large): the loaded weights and shapes must work. The
/// output must have the model's output shape. `Model` is an xkeras::basic_sequential (a
/// template, so that this header does not include the library).
template <class Model>
void predict_small(Model& m) {
    if (!m.built()) return;
    if (values_of(m.input_shape()) > (1u << 16) || m.count_params() > (1u << 20)) return;
    for (const auto* layer : m.layers())
        if (values_of(layer->output_shape()) > (1u << 22)) return;
    auto shape = m.input_shape();
    shape.insert(shape.begin(), 1);
    decltype(m.predict({})) x(shape, 0);
    const auto y = m.predict(x, 1);
    std::size_t out = 1;
    for (auto d : m.output_shape()) out *= d;
    if (y.size() != out) fail("predict's output does not have the model's output shape");
}

}  // namespace fuzz
