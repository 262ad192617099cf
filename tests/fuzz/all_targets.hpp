// tests/fuzz/all_targets.hpp - the fuzz targets in one translation unit, by name.
#pragma once

#define XKERAS_FUZZ_ALL_IN_ONE

#include <map>
#include <string>

#include "fuzz_digit_board.cpp"
#include "fuzz_idx.cpp"
#include "fuzz_image.cpp"
#include "fuzz_keras_file.cpp"
#include "fuzz_keras_legacy.cpp"
#include "fuzz_keras_weights.cpp"
#include "fuzz_model_file.cpp"
#include "fuzz_model_json.cpp"
#include "fuzz_weights.cpp"

namespace fuzz {

using target_fn = int (*)(const std::uint8_t*, std::size_t);

/// Every target's run(), by the name scripts/fuzz.sh and the corpus folders use.
inline const std::map<std::string, target_fn>& targets() {
    static const std::map<std::string, target_fn> t{{"digit_board", &fuzz_digit_board::run},
                                                    {"idx", &fuzz_idx::run},
                                                    {"image", &fuzz_image::run},
                                                    {"keras_file", &fuzz_keras_file::run},
                                                    {"keras_legacy", &fuzz_keras_legacy::run},
                                                    {"keras_weights", &fuzz_keras_weights::run},
                                                    {"model_file", &fuzz_model_file::run},
                                                    {"model_json", &fuzz_model_json::run},
                                                    {"weights", &fuzz_weights::run}};
    return t;
}

inline std::string target_names() {
    std::string s;
    for (const auto& [name, f] : targets()) s += (s.empty() ? "" : " ") + name;
    return s;
}

}  // namespace fuzz
