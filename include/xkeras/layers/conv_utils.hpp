// xkeras/layers/conv_utils.hpp - geometry shared by Conv2D and the pooling layers: Keras's
// output sizes, the "same" padding split (TensorFlow's: an odd extra row / column goes to the
// bottom / right) and the pair type for kernel sizes, strides and dilations.
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

/// A single image of at most this many output pixels is shared out over the threads by blocks
/// of filters (Conv2D) or left whole (MaxPooling2D); a larger one by pixels or rows. Each
/// thread's share of E1's last 49 pixels would end in a partly wasted tile of 6.
inline constexpr std::size_t max_pixels_split_by_filters = 64;

/// "valid" or "same", case-insensitive as in Keras; anything else is refused.
inline std::string padding_mode(std::string p, const char* layer) {
    std::transform(p.begin(), p.end(), p.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (p != "valid" && p != "same")
        throw value_error(
            xkeras::detail::cat(layer, ": expected padding 'valid' or 'same', got '", p, "'"));
    return p;
}

/// The geometry of a 2-D window sliding over an (H, W, C) input.
struct window2d {
    std::size_t in_h = 0, in_w = 0, channels = 0;
    std::size_t k_h = 1, k_w = 1, s_h = 1, s_w = 1, d_h = 1, d_w = 1;
    std::size_t pad_top = 0, pad_left = 0;
    std::size_t out_h = 0, out_w = 0;

    /// Keras's output size and padding for one axis; returns false for an empty output.
    static bool axis(std::size_t in, std::size_t k, std::size_t s, std::size_t d, bool same,
                     std::size_t& out, std::size_t& pad_before) {
        const std::size_t span = d * (k - 1) + 1;
        if (same) {
            out = (in + s - 1) / s;
            const long total = long((out - 1) * s + span) - long(in);
            pad_before = std::size_t(std::max(0L, total)) / 2;
        } else {
            if (in < span) return false;
            out = (in - span) / s + 1;
            pad_before = 0;
        }
        return out > 0;
    }

    /// Computes the geometry, or throws shape_error naming `who` when the output would be empty.
    static window2d make(const shape_t& input, size2 kernel, size2 strides, size2 dilation,
                         bool same, const std::string& who) {
        if (input.size() != 3)
            throw shape_error(xkeras::detail::cat(who,
                                                  " expects inputs of shape (batch, height, "
                                                  "width, channels), got ",
                                                  shape_str(input, true)));
        window2d g;
        g.in_h = input[0];
        g.in_w = input[1];
        g.channels = input[2];
        g.k_h = kernel.h;
        g.k_w = kernel.w;
        g.s_h = strides.h;
        g.s_w = strides.w;
        g.d_h = dilation.h;
        g.d_w = dilation.w;
        if (!axis(g.in_h, g.k_h, g.s_h, g.d_h, same, g.out_h, g.pad_top) ||
            !axis(g.in_w, g.k_w, g.s_w, g.d_w, same, g.out_w, g.pad_left) || g.channels == 0)
            throw shape_error(xkeras::detail::cat(who, ": a ", g.k_h, "x", g.k_w, " window",
                                                  (g.d_h > 1 || g.d_w > 1) ? " (dilated)" : "",
                                                  " with 'valid' padding does not fit "
                                                  "the input of shape ",
                                                  shape_str(input, true),
                                                  "; the output would be empty"));
        return g;
    }

    /// Whether a window reaches outside the input: the windows then read a zero-bordered copy
    /// (im2col.hpp's pad_image), and "same" padding's extra row / column is at the bottom / right.
    bool padded() const {
        return pad_top > 0 || pad_left > 0 || reach(out_h, s_h, k_h, d_h) > in_h + pad_top ||
               reach(out_w, s_w, k_w, d_w) > in_w + pad_left;
    }
    /// Height and width of the image the windows read: the input, or its zero-bordered copy.
    std::size_t read_h() const { return padded() ? reach(out_h, s_h, k_h, d_h) : in_h; }
    std::size_t read_w() const { return padded() ? reach(out_w, s_w, k_w, d_w) : in_w; }

  private:
    /// How far along one axis the windows reach, from the first padded row / column.
    static std::size_t reach(std::size_t out, std::size_t s, std::size_t k, std::size_t d) {
        return (out - 1) * s + (k - 1) * d + 1;
    }
};

}  // namespace detail
}  // namespace xkeras::layers
