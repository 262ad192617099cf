// xkeras/layers/conv_utils.hpp - the options Conv2D and the pooling layers share: the pair type
// for kernel sizes, strides and dilations, and the padding mode. The geometry the kernels work
// with is backend/window2d.hpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

#include "../config.hpp"
#include "../tensor.hpp"

namespace xkeras::layers {

/// Two positive sizes (height, width): `3` means (3, 3), `{3, 2}` means (3, 2).
struct size2 {
    std::size_t h = 1, w = 1;
    size2(int v) : size2(v, v) {}  // NOLINT(google-explicit-constructor)
    size2(int h_, int w_) {
        if (h_ <= 0 || w_ <= 0)
            throw value_error(
                xkeras::detail::cat("expected positive sizes, got (", h_, ", ", w_, ")"));
        h = std::size_t(h_);
        w = std::size_t(w_);
    }
    bool operator==(const size2&) const = default;
};

namespace detail {

/// "valid" or "same", case-insensitive as in Keras; anything else is refused.
inline std::string padding_mode(std::string p, const char* layer) {
    std::transform(p.begin(), p.end(), p.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (p != "valid" && p != "same")
        throw value_error(
            xkeras::detail::cat(layer, ": expected padding 'valid' or 'same', got '", p, "'"));
    return p;
}

}  // namespace detail
}  // namespace xkeras::layers
