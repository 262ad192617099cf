// xkeras/backend/window2d.hpp - the geometry of a 2-D window sliding over an NHWC image, shared
// by the convolution and pooling kernels: Keras's output sizes and its "same" padding split
// (TensorFlow's: an odd extra row / column goes to the bottom / right).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "../config.hpp"
#include "../tensor.hpp"

namespace xkeras::backend {

/// A single image of at most this many output pixels is shared out over the threads by blocks
/// of filters (a convolution) or left whole (a pooling); a larger one by pixels or rows. Split
/// by pixels, each thread's share of so small an output would end in a partly wasted tile.
inline constexpr std::size_t max_pixels_split_by_filters = 64;

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

    /// Computes the geometry for a window (k_h, k_w) with strides and dilations, or throws
    /// shape_error naming `who` when the output would be empty.
    static window2d make(const shape_t& input, std::size_t k_h, std::size_t k_w, std::size_t s_h,
                         std::size_t s_w, std::size_t d_h, std::size_t d_w, bool same,
                         const std::string& who) {
        if (input.size() != 3)
            throw shape_error(xkeras::detail::cat(who,
                                                  " expects inputs of shape (batch, height, width, "
                                                  "channels), got ",
                                                  shape_str(input, true)));
        window2d g;
        g.in_h = input[0];
        g.in_w = input[1];
        g.channels = input[2];
        g.k_h = k_h;
        g.k_w = k_w;
        g.s_h = s_h;
        g.s_w = s_w;
        g.d_h = d_h;
        g.d_w = d_w;
        if (!axis(g.in_h, g.k_h, g.s_h, g.d_h, same, g.out_h, g.pad_top) ||
            !axis(g.in_w, g.k_w, g.s_w, g.d_w, same, g.out_w, g.pad_left) || g.channels == 0)
            throw shape_error(
                xkeras::detail::cat(who, ": a ", g.k_h, "x", g.k_w, " window",
                                    (g.d_h > 1 || g.d_w > 1) ? " (dilated)" : "",
                                    " with 'valid' padding does not fit the input of shape ",
                                    shape_str(input, true), "; the output would be empty"));
        return g;
    }

    /// Whether a window reaches outside the input: the windows then read a zero-bordered copy
    /// (conv/im2col.hpp's pad_image), and "same" padding's extra row / column is at the bottom /
    /// right.
    bool padded() const {
        return pad_top > 0 || pad_left > 0 || reach(out_h, s_h, k_h, d_h) > in_h + pad_top ||
               reach(out_w, s_w, k_w, d_w) > in_w + pad_left;
    }
    /// Height and width of the image the windows read: the input, or its zero-bordered copy.
    std::size_t read_h() const { return padded() ? reach(out_h, s_h, k_h, d_h) : in_h; }
    std::size_t read_w() const { return padded() ? reach(out_w, s_w, k_w, d_w) : in_w; }

    /// Values of one input image; pixels of one output image.
    std::size_t in_size() const { return in_h * in_w * channels; }
    std::size_t out_pixels() const { return out_h * out_w; }
    /// Values of one window over every channel: a row of the patch matrix.
    std::size_t patch_size() const { return k_h * k_w * channels; }

    /// Every window inside the input ("valid", or "same" that needs no padding): no clipping.
    bool windows_inside() const {
        return pad_top == 0 && pad_left == 0 && (out_h - 1) * s_h + k_h <= in_h &&
               (out_w - 1) * s_w + k_w <= in_w;
    }

  private:
    /// How far along one axis the windows reach, from the first padded row / column.
    static std::size_t reach(std::size_t out, std::size_t s, std::size_t k, std::size_t d) {
        return (out - 1) * s + (k - 1) * d + 1;
    }
};

}  // namespace xkeras::backend
