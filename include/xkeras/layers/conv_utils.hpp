// xkeras/layers/conv_utils.hpp - the options Conv2D and the pooling layers share: the pair type
// for kernel sizes, strides and dilations, and the padding mode. The geometry the kernels work
// with is backend/window2d.hpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

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

/// Margins of an image, (top, bottom) rows and (left, right) columns, each >= 0: `1` means 1 on
/// every side, `{2, 1}` 2 above and below and 1 left and right, `{{1, 2}, {0, 3}}` each apart.
struct margins2 {
    std::size_t top = 0, bottom = 0, left = 0, right = 0;
    margins2(int v) : margins2(v, v) {}  // NOLINT(google-explicit-constructor)
    margins2(int h, int w) : margins2({h, h}, {w, w}) {}
    margins2(std::pair<int, int> rows, std::pair<int, int> cols) {
        for (int v : {rows.first, rows.second, cols.first, cols.second})
            if (v < 0)
                throw value_error(xkeras::detail::cat("expected margins >= 0, got ((", rows.first,
                                                      ", ", rows.second, "), (", cols.first, ", ",
                                                      cols.second, "))"));
        top = std::size_t(rows.first);
        bottom = std::size_t(rows.second);
        left = std::size_t(cols.first);
        right = std::size_t(cols.second);
    }
    bool operator==(const margins2&) const = default;
};

namespace detail {

/// "valid" or "same" (or "causal", where `causal` allows it: Conv1D's), case-insensitive as in
/// Keras; anything else is refused.
inline std::string padding_mode(std::string p, const char* layer, bool causal = false) {
    std::transform(p.begin(), p.end(), p.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (p != "valid" && p != "same" && (!causal || p != "causal"))
        throw value_error(xkeras::detail::cat(layer, ": expected padding 'valid'",
                                              causal ? ", 'same' or 'causal'" : " or 'same'",
                                              ", got '", p, "'"));
    return p;
}

/// `v` as the size of an option (filters, a kernel size, strides): positive, or value_error
/// naming the layer class and the option.
inline std::size_t positive_size(int v, const char* cls, const char* what) {
    if (v <= 0)
        throw value_error(
            xkeras::detail::cat(cls, ": expected a positive integer for `", what, "`, got ", v));
    return std::size_t(v);
}

}  // namespace detail
}  // namespace xkeras::layers
