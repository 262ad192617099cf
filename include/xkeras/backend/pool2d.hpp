// xkeras/backend/pool2d.hpp - 2-D max and average pooling kernels over NHWC images, for the
// pooling layers and for a convolution that pools its own output (conv/forward.hpp).
//
// A pooling is its kind and its window geometry (window2d, with the input's shape). With "same"
// padding max ignores the padded cells and average divides by the number of real cells, as
// Keras. Each kernel works on one image and a range of output pixels or input rows, so that the
// callers can share an image or a batch out over the threads as they see fit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "dispatch.hpp"
#include "simd.hpp"
#include "window2d.hpp"

namespace xkeras::backend {

struct pool2d {
    enum class kind { max, average };
    kind type = kind::max;
    window2d g;

    /// The window of output (oh, ow), clipped to the input: rows [h0, h1), columns [w0, w1).
    void window(std::size_t oh, std::size_t ow, std::size_t& h0, std::size_t& h1, std::size_t& w0,
                std::size_t& w1) const {
        const long top = long(oh * g.s_h) - long(g.pad_top);
        const long left = long(ow * g.s_w) - long(g.pad_left);
        h0 = std::size_t(std::max(0L, top));
        w0 = std::size_t(std::max(0L, left));
        h1 = std::size_t(std::min(long(g.in_h), top + long(g.k_h)));
        w1 = std::size_t(std::min(long(g.in_w), left + long(g.k_w)));
    }

    /// Whether output rows [oh0, oh1) read input rows [oh0 * s_h, oh1 * s_h) only, so that bands
    /// of input rows can be pooled by the thread that wrote them: no padding, every window inside
    /// the input, none taller than the stride.
    bool pools_in_row_bands() const { return g.windows_inside() && g.k_h <= g.s_h; }
    /// Whether, besides, output pixel (oh, ow) reads only the input's m x m tile (oh, ow) (both
    /// strides m, windows no larger), so that the tiles' owners can pool them.
    bool pools_in_tiles(std::size_t m) const {
        return pools_in_row_bands() && g.s_h == m && g.s_w == m && g.k_w <= m;
    }
};

namespace pooling {

/// dst[0, count) = the channel-wise maximum of the window whose first cell is s (channels
/// s[0, count) of it), all of it inside the input. A vector of channels takes the maximum over
/// the whole window in a register and is stored once: storing after each cell and loading it
/// back for the next stalls on every cell where the store straddles two cache lines. V: the
/// vector set (backend/simd.hpp).
template <class V, class T>
void window_max(const window2d& g, const T* s, T* dst, std::size_t count) {
    using S = typename V::template wide<T>;
    using vec = typename S::vec;
    const std::size_t C = g.channels, row = g.in_w * C;
    std::size_t c = 0;
    if (g.k_h == 2 && g.k_w == 2)  // the usual window, unrolled
        for (; c + S::lanes <= count; c += S::lanes) {
            vec a, b, d, e;
            S::load(a, s + c);
            S::load(b, s + C + c);
            S::load(d, s + row + c);
            S::load(e, s + row + C + c);
            a = b > a ? b : a;
            d = e > d ? e : d;
            a = d > a ? d : a;
            S::store(dst + c, a);
        }
    for (; c + S::lanes <= count; c += S::lanes) {
        vec m, v;
        S::load(m, s + c);
        for (std::size_t h = 0; h < g.k_h; ++h)
            for (std::size_t w = h == 0 ? 1 : 0; w < g.k_w; ++w) {
                S::load(v, s + h * row + w * C + c);
                m = v > m ? v : m;
            }
        S::store(dst + c, m);
    }
    for (; c < count; ++c) {
        T m = s[c];
        for (std::size_t h = 0; h < g.k_h; ++h)
            for (std::size_t w = h == 0 ? 1 : 0; w < g.k_w; ++w) {
                const T v = s[h * row + w * C + c];
                m = v > m ? v : m;
            }
        dst[c] = m;
    }
}

/// Calls f(oh, ow, q) for output pixels q in [q0, q1) (row-major) of g, without a division per
/// pixel.
template <class F>
void for_pixels(const window2d& g, std::size_t q0, std::size_t q1, F&& f) {
    for (std::size_t q = q0, oh = q0 / g.out_w, ow = q0 % g.out_w; q < q1; ++q) {
        f(oh, ow, q);
        if (++ow == g.out_w) {
            ow = 0;
            ++oh;
        }
    }
}

/// Output pixels [q0, q1) (row-major), channels [c0, c1) of one image: x is the input image, y
/// the output image. With the vector set V.
template <class V, class T>
void forward_at(const pool2d& p, const T* x, T* y, std::size_t q0, std::size_t q1, std::size_t c0,
                std::size_t c1) {
    const window2d& g = p.g;
    const std::size_t C = g.channels, n = c1 - c0;
    const T* src = x + c0;
    y += c0;
    if (p.type == pool2d::kind::max && g.windows_inside()) {
        for_pixels(g, q0, q1, [&](std::size_t oh, std::size_t ow, std::size_t q) {
            window_max<V>(g, src + (oh * g.s_h * g.in_w + ow * g.s_w) * C, y + q * C, n);
        });
    } else if (p.type == pool2d::kind::max) {
        for_pixels(g, q0, q1, [&](std::size_t oh, std::size_t ow, std::size_t q) {
            std::size_t h0, h1, w0, w1;
            p.window(oh, ow, h0, h1, w0, w1);
            T* dst = y + q * C;
            const T* s = src + (h0 * g.in_w + w0) * C;
            for (std::size_t c = 0; c < n; ++c) dst[c] = s[c];
            for (std::size_t h = h0; h < h1; ++h)
                for (std::size_t w = (h == h0 ? w0 + 1 : w0); w < w1; ++w) {
                    s = src + (h * g.in_w + w) * C;
                    for (std::size_t c = 0; c < n; ++c) dst[c] = s[c] > dst[c] ? s[c] : dst[c];
                }
        });
    } else {
        for_pixels(g, q0, q1, [&](std::size_t oh, std::size_t ow, std::size_t q) {
            std::size_t h0, h1, w0, w1;
            p.window(oh, ow, h0, h1, w0, w1);
            T* dst = y + q * C;
            std::fill(dst, dst + n, T(0));
            for (std::size_t h = h0; h < h1; ++h)
                for (std::size_t w = w0; w < w1; ++w) {
                    const T* s = src + (h * g.in_w + w) * C;
                    for (std::size_t c = 0; c < n; ++c) dst[c] += s[c];
                }
            const T inv = T(1) / T((h1 - h0) * (w1 - w0));
            for (std::size_t c = 0; c < n; ++c) dst[c] *= inv;
        });
    }
}

/// forward_at at the instruction-set level in force (backend/dispatch.hpp).
template <class T>
void forward(const pool2d& p, const T* x, T* y, std::size_t q0, std::size_t q1, std::size_t c0,
             std::size_t c1) {
    backend::dispatch([&]<class V> { forward_at<V>(p, x, y, q0, q1, c0, c1); });
}

/// Pools, of one image, channels [c0, c1) of the output rows whose windows lie in input rows
/// [r0, r1): r0 a multiple of the stride, r1 too or the input's height (pools_in_row_bands).
template <class T>
void input_rows(const pool2d& p, const T* x, T* y, std::size_t r0, std::size_t r1, std::size_t c0,
                std::size_t c1) {
    const window2d& g = p.g;
    if (r0 >= r1) return;
    const std::size_t q1 = (r1 == g.in_h ? g.out_h : r1 / g.s_h) * g.out_w;
    forward(p, x, y, r0 / g.s_h * g.out_w, q1, c0, c1);
}

/// Pools, of one image, the output pixels of input tiles [t0, t1), m x m each in rows of `cols`
/// (pools_in_tiles(m)): tile (y, x) is output pixel (y, x), or none for the last tile of a row or
/// the last row of tiles when the windows leave it out.
template <class T>
void input_tiles(const pool2d& p, const T* x, T* y, std::size_t t0, std::size_t t1,
                 std::size_t cols) {
    const window2d& g = p.g;
    auto first = [&](std::size_t t) {  // the first output pixel from tile t on
        return std::min(t / cols * g.out_w + t % cols, g.out_h * g.out_w);
    };
    if (first(t0) < first(t1)) forward(p, x, y, first(t0), first(t1), 0, g.channels);
}

/// dx of one image for max pooling: each output gradient goes to the first input of its window
/// (row-major) that equals the window's maximum, as TensorFlow's max-pool gradient; x, y and dy
/// are the image's input, output and output gradient. `open` holds one value per channel.
template <class V, class T>
void max_backward_at(const pool2d& p, const T* x, const T* y, const T* dy, T* dx,
                     std::vector<T>& open) {
    const window2d& g = p.g;
    const std::size_t C = g.channels;
    const bool disjoint = g.s_h >= g.k_h && g.s_w >= g.k_w && g.pad_top == 0 && g.pad_left == 0;
    if (disjoint) {
        // every covered cell is written once below; zero the others (beyond the last window)
        const std::size_t rows = g.out_h * g.s_h, cols = g.out_w * g.s_w;
        for (std::size_t h = 0; h < g.in_h; ++h)
            for (std::size_t w = 0; w < g.in_w; ++w) {
                const bool covered = h < rows && w < cols && h % g.s_h < g.k_h && w % g.s_w < g.k_w;
                if (!covered) std::fill_n(dx + (h * g.in_w + w) * C, C, T(0));
            }
    } else {
        std::fill(dx, dx + g.in_size(), T(0));
    }
    open.resize(C);  // per channel: 1 until the window's maximum is found
    T* is_open = open.data();
    for (std::size_t oh = 0; oh < g.out_h; ++oh)
        for (std::size_t ow = 0; ow < g.out_w; ++ow, y += C, dy += C) {
            std::size_t h0, h1, w0, w1;
            p.window(oh, ow, h0, h1, w0, w1);
            std::fill(open.begin(), open.end(), T(1));
            for (std::size_t h = h0; h < h1; ++h)
                for (std::size_t w = w0; w < w1; ++w) {
                    const std::size_t off = (h * g.in_w + w) * C;
                    const T* s = x + off;
                    T* o = dx + off;
                    // masks as T, selects, no branch, so that it vectorises; `&`, not `&&`, so
                    // that every load is unconditional (GCC makes a conditional load a masked
                    // one, which is slow on AMD)
                    if (disjoint)
                        for (std::size_t c = 0; c < C; ++c) {
                            const bool here = (is_open[c] != T(0)) & (s[c] == y[c]);
                            const T d = dy[c];
                            o[c] = here ? d : T(0);
                            is_open[c] = here ? T(0) : is_open[c];
                        }
                    else
                        for (std::size_t c = 0; c < C; ++c) {
                            const bool here = (is_open[c] != T(0)) & (s[c] == y[c]);
                            const T d = dy[c];
                            o[c] += here ? d : T(0);
                            is_open[c] = here ? T(0) : is_open[c];
                        }
                }
        }
}

/// dx of one image for average pooling: each output gradient is shared out over its window's
/// real cells.
template <class V, class T>
void average_backward_at(const pool2d& p, const T* dy, T* dx) {
    const window2d& g = p.g;
    const std::size_t C = g.channels;
    std::fill(dx, dx + g.in_size(), T(0));
    for (std::size_t oh = 0; oh < g.out_h; ++oh)
        for (std::size_t ow = 0; ow < g.out_w; ++ow, dy += C) {
            std::size_t h0, h1, w0, w1;
            p.window(oh, ow, h0, h1, w0, w1);
            const T inv = T(1) / T((h1 - h0) * (w1 - w0));
            for (std::size_t h = h0; h < h1; ++h)
                for (std::size_t w = w0; w < w1; ++w) {
                    T* o = dx + (h * g.in_w + w) * C;
                    for (std::size_t c = 0; c < C; ++c) o[c] += dy[c] * inv;
                }
        }
}

/// max_backward_at and average_backward_at at the instruction-set level in force: loops the
/// compiler vectorises, with the level's vectors.
template <class T>
void max_backward(const pool2d& p, const T* x, const T* y, const T* dy, T* dx,
                  std::vector<T>& open) {
    backend::dispatch([&]<class V> { max_backward_at<V>(p, x, y, dy, dx, open); });
}
template <class T>
void average_backward(const pool2d& p, const T* dy, T* dx) {
    backend::dispatch([&]<class V> { average_backward_at<V>(p, dy, dx); });
}

}  // namespace pooling
}  // namespace xkeras::backend
