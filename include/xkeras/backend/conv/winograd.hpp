// xkeras/backend/conv/winograd.hpp - Winograd's F(m x m, 3 x 3), m = 2 or 4, for a convolution's
// inference forward pass: 3x3 windows, stride 1, no dilation, NHWC. An m x m block of output
// pixels ("tile") is computed from its (m + 2) x (m + 2) input window with (m + 2)^2 multiply-adds
// per (channel, filter) instead of 9 m^2: 16 instead of 36 for m = 2, 36 instead of 144 for m = 4.
//   V = B^T d B  (each input window d, per channel),
//   U = G g G^T  (each 3x3 kernel g, per channel and filter; once per change of the weights),
//   M[xi] = V[xi] U[xi]  ((m + 2)^2 matrix products, xi a position of the window, over channels),
//   y = A^T M A + bias   (the tile, per filter).
// The products run on the direct kernels (direct.hpp) as 1x1 correlations: rows are tiles,
// columns filters. Results differ from the direct correlation by rounding only: the transforms
// add and scale a few values, about 1e-6 of the output's scale for m = 2 and a few times that
// for m = 4. Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), gives
// the matrices; each 1-D transform is written out below, applied to columns, then rows.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../dispatch.hpp"
#include "direct.hpp"

namespace xkeras::backend::conv::winograd {

/// The 1-D transforms of F(m, 3) over a value type V (a vector or a scalar): input (a = m + 2
/// values in and out), kernel (3 in, a out) and output (a in, m out).
template <std::size_t m>
struct transforms;

template <>
struct transforms<2> {
    static constexpr std::size_t a = 4;
    template <class V>
    static void input(const V* d, V* r) {
        r[0] = d[0] - d[2];
        r[1] = d[1] + d[2];
        r[2] = d[2] - d[1];
        r[3] = d[1] - d[3];
    }
    template <class V, class S>
    static void kernel(const V* g, V* u, S) {
        const V half = V{} + S(0.5);
        u[0] = g[0];
        u[1] = (g[0] + g[1] + g[2]) * half;
        u[2] = (g[0] - g[1] + g[2]) * half;
        u[3] = g[2];
    }
    template <class V>
    static void output(const V* x, V* y) {
        y[0] = x[0] + x[1] + x[2];
        y[1] = x[1] - x[2] - x[3];
    }
};

template <>
struct transforms<4> {
    static constexpr std::size_t a = 6;
    template <class V>
    static void input(const V* d, V* r) {
        r[0] = 4 * d[0] - 5 * d[2] + d[4];
        r[1] = -4 * d[1] - 4 * d[2] + d[3] + d[4];
        r[2] = 4 * d[1] - 4 * d[2] - d[3] + d[4];
        r[3] = -2 * d[1] - d[2] + 2 * d[3] + d[4];
        r[4] = 2 * d[1] - d[2] - 2 * d[3] + d[4];
        r[5] = 4 * d[1] - 5 * d[3] + d[5];
    }
    template <class V, class S>
    static void kernel(const V* g, V* u, S) {
        u[0] = g[0] * S(0.25);
        u[1] = (g[0] + g[1] + g[2]) * S(-1.0 / 6);
        u[2] = (g[0] - g[1] + g[2]) * S(-1.0 / 6);
        u[3] = g[0] * S(1.0 / 24) + g[1] * S(1.0 / 12) + g[2] * S(1.0 / 6);
        u[4] = g[0] * S(1.0 / 24) - g[1] * S(1.0 / 12) + g[2] * S(1.0 / 6);
        u[5] = g[2];
    }
    template <class V>
    static void output(const V* x, V* y) {
        const V p1 = x[1] + x[2], m1 = x[1] - x[2], p3 = x[3] + x[4], m3 = x[3] - x[4];
        y[0] = x[0] + p1 + p3;
        y[1] = m1 + 2 * m3;
        y[2] = p1 + 4 * p3;
        y[3] = m1 + 8 * m3 + x[5];
    }
};

/// The m x m output tiles covering an out_h x out_w output, row by row; the last row or column
/// of tiles is partly used when m does not divide the size.
template <std::size_t m>
struct tiling {
    static constexpr std::size_t a = m + 2, positions = a * a;
    std::size_t rows = 0, cols = 0;
    tiling(std::size_t out_h, std::size_t out_w)
        : rows((out_h + m - 1) / m), cols((out_w + m - 1) / m) {}
    std::size_t count() const { return rows * cols; }
    /// The padded input the windows read: m * rows + 2 rows of m * cols + 2 pixels.
    std::size_t input_h() const { return m * rows + 2; }
    std::size_t input_w() const { return m * cols + 2; }
};

/// One value as a vector of one lane, for the channel or filter counts' remainders.
template <class T>
struct scalar {
    static constexpr std::size_t lanes = 1;
    using vec = T;
    static void load(vec& v, const T* p) { v = *p; }
    static void store(T* p, const vec& v) { *p = v; }
};

/// Calls step.template operator()<S>(i) over [begin, end) in steps of S::lanes: the vector set
/// VS's wide vectors, then its narrow ones, then single values.
template <class T, class VS, class Step>
void vector_steps(std::size_t begin, std::size_t end, Step&& step) {
    using W = typename VS::template wide<T>;
    using N = typename VS::template narrow<T>;
    std::size_t i = begin;
    for (; i + W::lanes <= end; i += W::lanes) step.template operator()<W>(i);
    for (; i + N::lanes <= end; i += N::lanes) step.template operator()<N>(i);
    for (; i < end; ++i) step.template operator()<scalar<T>>(i);
}

/// out = X^T in X for a transform given as its 1-D form `f` (rows of `in` are ni values, of `out`
/// no): f over each column, then over each row of the result.
template <std::size_t ni, std::size_t no, class V, class F>
void two_d(const V (&in)[ni][ni], V (&out)[no][no], F&& f) {
    V col[ni], tcol[no], t[no][ni];
    for (std::size_t j = 0; j < ni; ++j) {
        for (std::size_t i = 0; i < ni; ++i) col[i] = in[i][j];
        f(col, tcol);
        for (std::size_t i = 0; i < no; ++i) t[i][j] = tcol[i];
    }
    for (std::size_t i = 0; i < no; ++i) f(t[i], out[i]);
}

/// U[xi][c][f] = (G g G^T)[xi] for kernel g (3, 3, C, F), xi = a * row + column; with the
/// vector set VS.
template <std::size_t m, class VS, class T>
void transform_kernel_at(const T* g, std::size_t C, std::size_t F, T* U) {
    using tf = transforms<m>;
    constexpr std::size_t a = tf::a;
    for (std::size_t c = 0; c < C; ++c)
        vector_steps<T, VS>(0, F, [&]<class S>(std::size_t f) {
            using vec = typename S::vec;
            vec k[3][3], u[a][a];
            for (std::size_t i = 0; i < 3; ++i)
                for (std::size_t j = 0; j < 3; ++j)
                    S::load(k[i][j], g + ((i * 3 + j) * C + c) * F + f);
            two_d(k, u, [](const vec* in, vec* out) { tf::kernel(in, out, T(0)); });
            for (std::size_t i = 0; i < a; ++i)
                for (std::size_t j = 0; j < a; ++j)
                    S::store(U + ((a * i + j) * C + c) * F + f, u[i][j]);
        });
}

/// V[xi][t - t0][c] = (B^T d B)[xi] for tiles [t0, t1), d the window of tile (ty, tx) in the
/// padded image xp (rows of `pw` pixels of C channels), from pixel (m ty, m tx) on.
template <std::size_t m, class VS, class T>
void transform_input(const T* xp, std::size_t pw, std::size_t C, const tiling<m>& tl,
                     std::size_t t0, std::size_t t1, T* V) {
    using tf = transforms<m>;
    constexpr std::size_t a = tf::a;
    const std::size_t n = t1 - t0;
    for (std::size_t t = t0; t < t1; ++t) {
        const T* d0 = xp + (m * (t / tl.cols) * pw + m * (t % tl.cols)) * C;
        T* v = V + (t - t0) * C;
        vector_steps<T, VS>(0, C, [&]<class S>(std::size_t c) {
            using vec = typename S::vec;
            vec d[a][a], r[a][a];
            for (std::size_t i = 0; i < a; ++i)
                for (std::size_t j = 0; j < a; ++j) S::load(d[i][j], d0 + (i * pw + j) * C + c);
            two_d(d, r, [](const vec* in, vec* out) { tf::input(in, out); });
            for (std::size_t i = 0; i < a; ++i)
                for (std::size_t j = 0; j < a; ++j) S::store(v + (a * i + j) * n * C + c, r[i][j]);
        });
    }
}

/// Output pixels of tiles [t0, t1), filters [f0, f1): (A^T M A) + bias, then ReLU when `relu`,
/// from M[xi][t - t0][f]; y is the (out_h, out_w, F) output, bias may be null. Pixels past the
/// output's last row or column are not written.
template <std::size_t m, class VS, class T>
void transform_output(const T* M, std::size_t F, const tiling<m>& tl, std::size_t t0,
                      std::size_t t1, std::size_t f0, std::size_t f1, const T* bias, bool relu,
                      T* y, std::size_t out_h, std::size_t out_w) {
    using tf = transforms<m>;
    constexpr std::size_t a = tf::a;
    const std::size_t n = t1 - t0;
    for (std::size_t t = t0; t < t1; ++t) {
        const std::size_t oy = m * (t / tl.cols), ox = m * (t % tl.cols);
        const std::size_t rows = std::min(m, out_h - oy), cols = std::min(m, out_w - ox);
        const T* m0 = M + (t - t0) * F;
        vector_steps<T, VS>(f0, f1, [&]<class S>(std::size_t f) {
            using vec = typename S::vec;
            vec x[a][a], o[m][m], b{};
            for (std::size_t i = 0; i < a; ++i)
                for (std::size_t j = 0; j < a; ++j) S::load(x[i][j], m0 + (a * i + j) * n * F + f);
            two_d(x, o, [](const vec* in, vec* out) { tf::output(in, out); });
            if (bias) S::load(b, bias + f);
            for (std::size_t i = 0; i < rows; ++i)
                for (std::size_t j = 0; j < cols; ++j) {
                    vec r = o[i][j] + b;
                    if (relu) r = r > vec{} ? r : vec{};
                    S::store(y + ((oy + i) * out_w + ox + j) * F + f, r);
                }
        });
    }
}

/// Tiles per block: the block's V and M are made and used while in cache.
inline constexpr std::size_t block_tiles = 24;

/// Values of the V and M buffers `forward` needs for C channels and F filters.
template <std::size_t m>
std::size_t v_values(std::size_t C) {
    return tiling<m>::positions * block_tiles * C;
}
template <std::size_t m>
std::size_t m_values(std::size_t F) {
    return tiling<m>::positions * block_tiles * F;
}

/// y = bias + the 3x3 correlation of the padded image xp (tiling's input_h x input_w pixels, C
/// channels) with the kernel whose transform is U (transform_kernel), then ReLU when `relu`; only
/// tiles [t0, t1) and filters [f0, f1) (f0 a multiple of two wide vectors, as for
/// direct::correlate), so that threads can share an image. V and M hold v_values(C) and
/// m_values(F) values. With the vector set VS.
template <std::size_t m, class VS, class T>
void forward_at(const T* xp, std::size_t C, std::size_t F, const T* U, const T* bias, bool relu,
                T* y, std::size_t out_h, std::size_t out_w, std::size_t t0, std::size_t t1,
                std::size_t f0, std::size_t f1, T* V, T* M) {
    const tiling<m> tl(out_h, out_w);
    constexpr std::size_t positions = tiling<m>::positions;
    t1 = std::min(t1, tl.count());
    f1 = std::min(f1, F);
    for (std::size_t b0 = t0; b0 < t1; b0 += block_tiles) {
        const std::size_t b1 = std::min(t1, b0 + block_tiles), n = b1 - b0;
        transform_input<m, VS>(xp, tl.input_w(), C, tl, b0, b1, V);
        const direct::plan p{C, F, 1, 1, n, 1, n};  // n "pixels" of C channels: one tile each
        const T* none = nullptr;
        for (std::size_t xi = 0; xi < positions; ++xi) {
            // a few tiles (a 7x7 image has 4 of 4x4): tiles of 4 rows waste none of them
            if (n < 12)
                direct::correlate_at<T, 4, VS>(p, V + xi * n * C, U + xi * C * F, none, false,
                                               M + xi * n * F, 0, n, f0, f1);
            else
                direct::correlate_at<T, direct::tile_rows, VS>(
                    p, V + xi * n * C, U + xi * C * F, none, false, M + xi * n * F, 0, n, f0, f1);
        }
        transform_output<m, VS>(M, F, tl, b0, b1, f0, f1, bias, relu, y, out_h, out_w);
    }
}

/// transform_kernel_at at the instruction-set level in force (backend/dispatch.hpp).
template <std::size_t m, class T>
void transform_kernel(const T* g, std::size_t C, std::size_t F, T* U) {
    backend::dispatch([&]<class VS> { transform_kernel_at<m, VS>(g, C, F, U); });
}

/// forward_at at the instruction-set level in force.
template <std::size_t m, class T>
void forward(const T* xp, std::size_t C, std::size_t F, const T* U, const T* bias, bool relu, T* y,
             std::size_t out_h, std::size_t out_w, std::size_t t0, std::size_t t1, std::size_t f0,
             std::size_t f1, T* V, T* M) {
    backend::dispatch([&]<class VS> {
        forward_at<m, VS>(xp, C, F, U, bias, relu, y, out_h, out_w, t0, t1, f0, f1, V, M);
    });
}

}  // namespace xkeras::backend::conv::winograd
