// xkeras/backend/frame2d.hpp - copying images into and out of a larger frame: what ZeroPadding2D
// does forward and Cropping2D backward (place), and the reverse (extract). Images are (n, H, W, C)
// row-major, channels last, so each image row is one contiguous run of W * C values.
#pragma once

#include <algorithm>
#include <cstddef>

namespace xkeras::backend {

/// Where an (h, w) image sits in an (H, W) frame: its first row and column in the frame.
struct frame2d {
    std::size_t h, w, H, W, top, left, channels;
};

/// out (n, H, W, C) = zeros with each image of in (n, h, w, C) at (top, left).
template <class T>
void place(const frame2d& f, const T* in, T* out, std::size_t n) {
    const std::size_t run = f.w * f.channels, frame = f.H * f.W * f.channels;
    std::fill(out, out + n * frame, T(0));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t r = 0; r < f.h; ++r)
            std::copy_n(in + (i * f.h + r) * run, run,
                        out + i * frame + ((f.top + r) * f.W + f.left) * f.channels);
}

/// out (n, h, w, C) = the window of each image of in (n, H, W, C) at (top, left).
template <class T>
void extract(const frame2d& f, const T* in, T* out, std::size_t n) {
    const std::size_t run = f.w * f.channels, frame = f.H * f.W * f.channels;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t r = 0; r < f.h; ++r)
            std::copy_n(in + i * frame + ((f.top + r) * f.W + f.left) * f.channels, run,
                        out + (i * f.h + r) * run);
}

}  // namespace xkeras::backend
