// xkeras/backend/conv/im2col.hpp - the data movement around a convolution's arithmetic, over
// NHWC images and a window2d geometry: zero-bordered copies of an input image (padding) and of
// an output-gradient image (the direct input gradient), the patch matrix of an image (im2col)
// and its adjoint (col2im), and the kernel flipped for the input gradient's correlation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../window2d.hpp"

namespace xkeras::backend::conv {

/// The image g's windows read for input image `img` (in_h, in_w, C): `img` itself, or with
/// padding its copy in `buf`, a (read_h, read_w, C) zero-bordered image. `buf` is zeroed only
/// when it is sized: every copy writes the same interior, so the border stays zero. Only the
/// output pixels [p_begin, p_end) are to be read when given: the input rows their windows
/// reach are copied, and the others are left as they were.
template <class T>
const T* pad_image(const window2d& g, const T* img, std::vector<T>& buf, std::size_t p_begin = 0,
                   std::size_t p_end = std::size_t(-1)) {
    if (!g.padded()) return img;
    const std::size_t C = g.channels, ph = g.read_h(), pw = g.read_w();
    if (buf.size() != ph * pw * C) buf.assign(ph * pw * C, T(0));
    p_end = std::min(p_end, g.out_h * g.out_w);
    if (p_begin >= p_end) return buf.data();
    // the padded rows [top, bottom) that output rows oh0..oh1 read (for every pixel that is
    // read_h: with strides, the windows may stop short of the input's last rows), then the input
    // rows among them; all columns the windows reach
    const std::size_t oh0 = p_begin / g.out_w, oh1 = (p_end - 1) / g.out_w;
    const std::size_t top = oh0 * g.s_h, bottom = oh1 * g.s_h + (g.k_h - 1) * g.d_h + 1;
    const std::size_t first = top > g.pad_top ? top - g.pad_top : 0;
    const std::size_t rows = std::min(g.in_h, bottom > g.pad_top ? bottom - g.pad_top : 0);
    const std::size_t cols = std::min(g.in_w, pw - g.pad_left);
    for (std::size_t h = first; h < rows; ++h)
        std::copy_n(img + h * g.in_w * C, cols * C,
                    buf.data() + ((h + g.pad_top) * pw + g.pad_left) * C);
    return buf.data();
}

/// offsets[(ky * k_w + kx) * C + c]: where patch value (ky, kx, c) lies from its window's origin
/// in the image the windows read.
inline std::vector<std::size_t> window_offsets(const window2d& g) {
    const std::size_t C = g.channels, pw = g.read_w();
    std::vector<std::size_t> offsets(g.k_h * g.k_w * C);
    for (std::size_t ky = 0, k = 0; ky < g.k_h; ++ky)
        for (std::size_t kx = 0; kx < g.k_w; ++kx)
            for (std::size_t c = 0; c < C; ++c, ++k)
                offsets[k] = (ky * g.d_h * pw + kx * g.d_w) * C + c;
    return offsets;
}

/// Calls f(p, origin) for every output pixel p = oh * out_w + ow of one image, `img` as the
/// windows read it (pad_image): patch value k of that window is origin[window_offsets(g)[k]],
/// with no bounds check needed. Only pixels [p_begin, p_end) when given.
template <class T, class F>
void for_each_window(const window2d& g, const T* img, F&& f, std::size_t p_begin = 0,
                     std::size_t p_end = std::size_t(-1)) {
    const std::size_t C = g.channels, pw = g.read_w();
    p_end = std::min(p_end, g.out_h * g.out_w);
    if (p_begin >= p_end) return;
    std::size_t oh = p_begin / g.out_w, ow = p_begin % g.out_w;
    for (std::size_t p = p_begin; p < p_end; ++p) {
        f(p, img + (oh * g.s_h * pw + ow * g.s_w) * C);
        if (++ow == g.out_w) {
            ow = 0;
            ++oh;
        }
    }
}

/// The patch matrix of one image (`img` as the windows read it): row p holds output pixel p's
/// window, columns (ky, kx, c). With dilation 1 along the width, each kernel row is one contiguous
/// copy of k_w * C values.
template <class T>
void im2col(const window2d& g, const std::size_t* offsets, const T* img, T* cols) {
    const std::size_t C = g.channels, K = g.k_h * g.k_w * C;
    const std::size_t run = g.d_w == 1 ? g.k_w * C : C;  // contiguous values per copy
    const std::size_t runs = K / run;
    for_each_window(g, img, [&](std::size_t p, const T* a) {
        T* o = cols + p * K;
        for (std::size_t r = 0; r < runs; ++r, o += run) std::copy_n(a + offsets[r * run], run, o);
    });
}

/// dx of `images` consecutive images from their patch-matrix gradients (the adjoint of im2col
/// on the unpadded input: window cells over the padding are dropped).
template <class T>
void col2im(const window2d& g, const T* dcols, std::size_t images, T* dx) {
    const std::size_t C = g.channels, K = g.k_h * g.k_w * C, image = g.in_h * g.in_w * C;
    std::fill(dx, dx + images * image, T(0));
    for (std::size_t i = 0; i < images; ++i, dx += image)
        for (std::size_t oh = 0; oh < g.out_h; ++oh)
            for (std::size_t ow = 0; ow < g.out_w; ++ow, dcols += K) {
                const T* d = dcols;
                for (std::size_t ky = 0; ky < g.k_h; ++ky) {
                    const long ih = long(oh * g.s_h + ky * g.d_h) - long(g.pad_top);
                    for (std::size_t kx = 0; kx < g.k_w; ++kx, d += C) {
                        const long iw = long(ow * g.s_w + kx * g.d_w) - long(g.pad_left);
                        if (ih < 0 || iw < 0 || ih >= long(g.in_h) || iw >= long(g.in_w)) continue;
                        T* o = dx + (std::size_t(ih) * g.in_w + std::size_t(iw)) * C;
                        for (std::size_t c = 0; c < C; ++c) o[c] += d[c];
                    }
                }
            }
}

/// The (k_h, k_w, C, F) kernel flipped in both window axes with channels and filters swapped:
/// flipped[k_h-1-ky][k_w-1-kx][f][c] = kernel[ky][kx][c][f], the kernel of the input gradient's
/// correlation.
template <class T>
void flip_kernel(const window2d& g, std::size_t F, const T* kernel, T* flipped) {
    const std::size_t C = g.channels, kh = g.k_h, kw = g.k_w;
    for (std::size_t ky = 0; ky < kh; ++ky)
        for (std::size_t kx = 0; kx < kw; ++kx) {
            const T* src = kernel + (ky * kw + kx) * C * F;
            T* dst = flipped + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * F * C;
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t f = 0; f < F; ++f) dst[f * C + c] = src[c * F + f];
        }
}

/// The row width, in pixels, of pad_output_gradient's copy: out_w + 2 (k_w - 1).
inline std::size_t padded_gradient_w(const window2d& g) {
    return g.out_w + 2 * (g.k_w - 1);
}

/// One output-gradient image dz (out_h, out_w, F) copied into `buf`, zero-bordered by k - 1 on
/// every side: (out_h + 2 (k_h - 1), padded_gradient_w(g), F). Zeroed only when sized, as
/// pad_image. Returns the copy's pixel (top, left), where the correlation for the input pixel
/// (0, 0) starts: (pad_top, pad_left) skips the rows and columns of a "same" border.
template <class T>
const T* pad_output_gradient(const window2d& g, std::size_t F, const T* dz, std::vector<T>& buf,
                             std::size_t top, std::size_t left) {
    const std::size_t zh = g.out_h + 2 * (g.k_h - 1), zw = padded_gradient_w(g);
    if (buf.size() != zh * zw * F) buf.assign(zh * zw * F, T(0));
    for (std::size_t h = 0; h < g.out_h; ++h)
        std::copy_n(dz + h * g.out_w * F, g.out_w * F,
                    buf.data() + ((h + g.k_h - 1) * zw + g.k_w - 1) * F);
    return buf.data() + (top * zw + left) * F;
}

}  // namespace xkeras::backend::conv
