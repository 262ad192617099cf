// tests/fuzz/fuzz_model_json.cpp - model_from_json on arbitrary text (Keras 3, tf.keras 2.x and
// xkeras JSON, layer configs, compile configs). The weights of one model may take 64 MiB
// (layers::weight_limit, as for JSON of unknown origin); a model that builds is run once on
// zeros when it is small.
#include "fuzz_common.hpp"

#include <xkeras/xkeras.hpp>

namespace fuzz_model_json {

inline int run(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        xkeras::layers::weight_limit limit(64u << 20, "the fuzz target's limit of 64 MiB");
        auto m = xkeras::model_from_json(text);
        fuzz::predict_small(m);
    } catch (const xkeras::error&) {
    }
    return 0;
}

}  // namespace fuzz_model_json

XKERAS_FUZZ_TARGET(fuzz_model_json)
