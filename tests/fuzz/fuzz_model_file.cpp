// tests/fuzz/fuzz_model_file.cpp - load_model's parser on arbitrary files: the fixed part, the
// checksum, the JSON header (architecture, compile config, weights table, training and
// optimizer state) and the tensors. The first input byte is a mode (fuzz::model_file_input):
// odd recomputes the SHA-256 trailer so that mutations reach the header and the table. A model
// that loads is run once on zeros when it is small.
#include "fuzz_common.hpp"

#include <xkeras/xkeras.hpp>

namespace fuzz_model_file {

inline int run(const std::uint8_t* data, std::size_t size) {
    try {
        auto f =
            xkeras::io::detail::parse_model_bytes(fuzz::model_file_input(data, size), "fuzz.xk");
        auto m = xkeras::io::detail::load_model_from<float>(f);
        fuzz::predict_small(m);
    } catch (const xkeras::error&) {
    }
    return 0;
}

}  // namespace fuzz_model_file

XKERAS_FUZZ_TARGET(fuzz_model_file)
