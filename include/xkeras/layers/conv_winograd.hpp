// xkeras/layers/conv_winograd.hpp - Winograd's F(2x2, 3x3) for Conv2D's inference forward pass:
// 3x3 windows, stride 1, no dilation, NHWC. A 2x2 block of output pixels from its 4x4 input window
// takes 16 multiply-adds per (channel, filter) instead of 36:
//   V = B^T d B  (each 4x4 input window d, per channel),
//   U = G g G^T  (each 3x3 kernel g, per channel and filter; once per change of the weights),
//   M[xi] = V[xi] U[xi]  (16 matrix products, xi one of the 4x4 positions, summed over channels),
//   y = A^T M A + bias   (the 2x2 output block, per filter).
// The 16 products run on the direct kernels (conv_direct.hpp) as 1x1 correlations: rows are
// tiles, columns filters. Results differ from the direct correlation by rounding only (the
// transforms add and subtract a few values, and G halves them): about 1e-6 relative in floats.
// Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), gives the matrices.
#pragma once

#include <algorithm>
#include <cstddef>

#include "conv_direct.hpp"

namespace xkeras::layers::detail::winograd {

/// Values of one transformed window or kernel: 4 x 4.
inline constexpr std::size_t positions = 16;

/// The 2x2 output blocks ("tiles") covering an out_h x out_w output, row by row; a last row or
/// column of an odd size is half used.
struct tiling {
    std::size_t rows = 0, cols = 0;
    tiling(std::size_t out_h, std::size_t out_w) : rows((out_h + 1) / 2), cols((out_w + 1) / 2) {}
    std::size_t count() const { return rows * cols; }
    /// The padded input the windows read: 2 * rows + 2 rows of 2 * cols + 2 pixels.
    std::size_t input_h() const { return 2 * rows + 2; }
    std::size_t input_w() const { return 2 * cols + 2; }
};

/// One value as a vector of one lane, for the channel or filter counts' remainders.
template <class T>
struct scalar {
    static constexpr std::size_t lanes = 1;
    using vec = T;
    static void load(vec& v, const T* p) { v = *p; }
    static void store(T* p, const vec& v) { *p = v; }
};

/// Calls step.template operator()<S>(i) over [begin, end) in steps of S::lanes: wide vectors,
/// then 32-byte ones, then single values.
template <class T, class Step>
void vector_steps(std::size_t begin, std::size_t end, Step&& step) {
    using W = backend::wide<T>;
    using N = backend::simd<T>;
    std::size_t i = begin;
    for (; i + W::lanes <= end; i += W::lanes) step.template operator()<W>(i);
    for (; i + N::lanes <= end; i += N::lanes) step.template operator()<N>(i);
    for (; i < end; ++i) step.template operator()<scalar<T>>(i);
}

/// U[xi][c][f] = (G g G^T)[xi] for kernel g (3, 3, C, F), xi = 4 * row + column.
template <class T>
void transform_kernel(const T* g, std::size_t C, std::size_t F, T* U) {
    for (std::size_t c = 0; c < C; ++c)
        vector_steps<T>(0, F, [&]<class S>(std::size_t f) {
            using vec = typename S::vec;
            const vec half = vec{} + T(0.5);
            vec k[3][3], t[4][3];
            for (std::size_t i = 0; i < 3; ++i)
                for (std::size_t j = 0; j < 3; ++j)
                    S::load(k[i][j], g + ((i * 3 + j) * C + c) * F + f);
            for (std::size_t j = 0; j < 3; ++j) {  // G g
                t[0][j] = k[0][j];
                t[1][j] = (k[0][j] + k[1][j] + k[2][j]) * half;
                t[2][j] = (k[0][j] - k[1][j] + k[2][j]) * half;
                t[3][j] = k[2][j];
            }
            for (std::size_t i = 0; i < 4; ++i) {  // (G g) G^T
                const vec u[4] = {t[i][0], (t[i][0] + t[i][1] + t[i][2]) * half,
                                  (t[i][0] - t[i][1] + t[i][2]) * half, t[i][2]};
                for (std::size_t j = 0; j < 4; ++j)
                    S::store(U + ((4 * i + j) * C + c) * F + f, u[j]);
            }
        });
}

/// V[xi][t - t0][c] = (B^T d B)[xi] for tiles [t0, t1), d the 4x4 window of tile (ty, tx) in
/// the padded image xp (rows of `pw` pixels of C channels), from pixel (2 ty, 2 tx) on.
template <class T>
void transform_input(const T* xp, std::size_t pw, std::size_t C, const tiling& tl, std::size_t t0,
                     std::size_t t1, T* V) {
    const std::size_t n = t1 - t0;
    for (std::size_t t = t0; t < t1; ++t) {
        const T* d0 = xp + (2 * (t / tl.cols) * pw + 2 * (t % tl.cols)) * C;
        T* v = V + (t - t0) * C;
        vector_steps<T>(0, C, [&]<class S>(std::size_t c) {
            using vec = typename S::vec;
            vec d[4][4], r[4][4];
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t j = 0; j < 4; ++j) S::load(d[i][j], d0 + (i * pw + j) * C + c);
            for (std::size_t j = 0; j < 4; ++j) {  // B^T d
                r[0][j] = d[0][j] - d[2][j];
                r[1][j] = d[1][j] + d[2][j];
                r[2][j] = d[2][j] - d[1][j];
                r[3][j] = d[1][j] - d[3][j];
            }
            for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
                const vec o[4] = {r[i][0] - r[i][2], r[i][1] + r[i][2], r[i][2] - r[i][1],
                                  r[i][1] - r[i][3]};
                for (std::size_t j = 0; j < 4; ++j) S::store(v + (4 * i + j) * n * C + c, o[j]);
            }
        });
    }
}

/// Output pixels of tiles [t0, t1), filters [f0, f1): (A^T M A) + bias, then ReLU when `relu`,
/// from M[xi][t - t0][f]; y is the (out_h, out_w, F) output, bias may be null. Pixels past the
/// output's last row or column are not written.
template <class T>
void transform_output(const T* M, std::size_t F, const tiling& tl, std::size_t t0, std::size_t t1,
                      std::size_t f0, std::size_t f1, const T* bias, bool relu, T* y,
                      std::size_t out_h, std::size_t out_w) {
    const std::size_t n = t1 - t0;
    for (std::size_t t = t0; t < t1; ++t) {
        const std::size_t oy = 2 * (t / tl.cols), ox = 2 * (t % tl.cols);
        const T* m0 = M + (t - t0) * F;
        vector_steps<T>(f0, f1, [&]<class S>(std::size_t f) {
            using vec = typename S::vec;
            vec m[4][4], s[2][4], b{};
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t j = 0; j < 4; ++j) S::load(m[i][j], m0 + (4 * i + j) * n * F + f);
            for (std::size_t j = 0; j < 4; ++j) {  // A^T M
                s[0][j] = m[0][j] + m[1][j] + m[2][j];
                s[1][j] = m[1][j] - m[2][j] - m[3][j];
            }
            if (bias) S::load(b, bias + f);
            for (std::size_t i = 0; i < 2 && oy + i < out_h; ++i) {  // (A^T M) A
                const vec o[2] = {s[i][0] + s[i][1] + s[i][2] + b, s[i][1] - s[i][2] - s[i][3] + b};
                for (std::size_t j = 0; j < 2 && ox + j < out_w; ++j) {
                    vec r = o[j];
                    if (relu) r = r > vec{} ? r : vec{};
                    S::store(y + ((oy + i) * out_w + ox + j) * F + f, r);
                }
            }
        });
    }
}

/// Tiles per block: the block's V and M are made and used while in cache.
inline constexpr std::size_t block_tiles = 24;

/// Values of the V and M buffers `forward` needs for C channels and F filters.
inline std::size_t v_values(std::size_t C) {
    return positions * block_tiles * C;
}
inline std::size_t m_values(std::size_t F) {
    return positions * block_tiles * F;
}

/// y = bias + the 3x3 correlation of the padded image xp (tiling's input_h x input_w pixels, C
/// channels) with the kernel whose transform is U (transform_kernel), then ReLU when `relu`; only
/// tiles [t0, t1) and filters [f0, f1) (f0 a multiple of two wide vectors, as for
/// direct::correlate), so that threads can share an image. V and M hold v_values(C) and
/// m_values(F) values.
template <class T>
void forward(const T* xp, std::size_t C, std::size_t F, const T* U, const T* bias, bool relu, T* y,
             std::size_t out_h, std::size_t out_w, std::size_t t0, std::size_t t1, std::size_t f0,
             std::size_t f1, T* V, T* M) {
    const tiling tl(out_h, out_w);
    t1 = std::min(t1, tl.count());
    f1 = std::min(f1, F);
    for (std::size_t b0 = t0; b0 < t1; b0 += block_tiles) {
        const std::size_t b1 = std::min(t1, b0 + block_tiles), n = b1 - b0;
        transform_input(xp, tl.input_w(), C, tl, b0, b1, V);
        const direct::plan p{C, F, 1, 1, n, 1, n};  // n "pixels" of C channels: one tile each
        for (std::size_t xi = 0; xi < positions; ++xi)
            direct::correlate(p, V + xi * n * C, U + xi * C * F, static_cast<const T*>(nullptr),
                              false, M + xi * n * F, 0, n, f0, f1);
        transform_output(M, F, tl, b0, b1, f0, f1, bias, relu, y, out_h, out_w);
    }
}

}  // namespace xkeras::layers::detail::winograd
