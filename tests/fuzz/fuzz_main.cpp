// tests/fuzz/fuzz_main.cpp - the libFuzzer program of all the targets (one translation unit
// compiles the library once, several times quicker than a program each): the environment
// variable XKERAS_FUZZ_TARGET names the target (idx, model_file, weights, model_json, image,
// digit_board, keras_file, keras_weights). scripts/fuzz.sh runs it.
#include <cstdio>
#include <cstdlib>

#include "all_targets.hpp"

namespace {
fuzz::target_fn target = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* name = std::getenv("XKERAS_FUZZ_TARGET");
    const auto it = fuzz::targets().find(name ? name : "");
    if (it == fuzz::targets().end()) {
        std::fprintf(stderr, "xkeras_fuzz: set XKERAS_FUZZ_TARGET to one of: %s (got '%s')\n",
                     fuzz::target_names().c_str(), name ? name : "");
        std::exit(2);
    }
    target = it->second;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return target(data, size);
}
