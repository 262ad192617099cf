// xkeras/backend/conv/direct.hpp - register-blocked direct convolution kernels for stride 1 and
// no dilation over NHWC data, when the filter count is a whole number of 32-byte vectors. They
// replace im2col + GEMM where the GEMM is narrow (up to about 128 filters): there every patch
// value is copied twice (im2col, then the BLAS's packing) for a few dozen multiply-adds.
//
// Each kernel keeps a tile of 6 x 2 vectors in registers (12 accumulators, 2 operands and one
// broadcast: 15 of the 16 registers of SSE2 and AVX2) and streams the rest. The vectors are those
// of the instruction-set level in force (backend/dispatch.hpp): 16 bytes at the generic level, 32
// with AVX2, 64 with AVX-512, which halves the instructions per multiply-add each time.
//   - correlate: y[p][f] = init + sum over (ky, kx, c) of x[p + (ky, kx)][c] * w[ky][kx][c][f],
//     6 output pixels x 2 vectors of filters. It is the forward pass, and also the input gradient
//     (the dz image padded by k - 1 all round, correlated with the kernel flipped and transposed).
//   - weight_gradient: dw[ky][kx][c][f] += sum over p of x[p + (ky, kx)][c] * dz[p][f],
//     6 channels x 2 vectors of filters, over the pixels of one image.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../dispatch.hpp"
#include "../simd.hpp"

namespace xkeras::backend::conv::direct {

/// Filter counts need only be whole 32-byte vectors (`fits`), at every level: a remainder
/// narrower than a wide vector runs in narrow tiles (backend/simd.hpp's vector_set).
using backend::simd;

/// Pixels (correlate) or channels (weight_gradient) per register tile, with 2 vectors of filters
/// (12 accumulators, 2 operands and one broadcast: 15 of AVX2's 16 registers); the fastest shape
/// with AVX-512's vectors too (docs/performance.md).
inline constexpr std::size_t tile_rows = 6;

/// The layout of one correlation: an input image of rows of `x_w` pixels with `C` channels, a
/// (k_h, k_w, C, F) kernel and a contiguous out_h x out_w output with F channels.
struct plan {
    std::size_t C, F, k_h, k_w, x_w, out_h, out_w;
};

/// One output tile: the MR output pixels whose windows start at x + off[m] (they may span two
/// rows), NV vectors S of filters from f0 on (w, bias and y already point at f0).
template <std::size_t MR, std::size_t NV, class S, class T>
inline void correlate_tile(const plan& p, const T* x, const std::size_t* off, const T* w,
                           const T* bias, bool relu, T* y) {
    using vec = typename S::vec;
    vec acc[MR][NV];
#pragma GCC unroll 8
    for (std::size_t v = 0; v < NV; ++v) {
        vec b{};
        if (bias) S::load(b, bias + v * S::lanes);
#pragma GCC unroll 16
        for (std::size_t m = 0; m < MR; ++m) acc[m][v] = b;
    }
    for (std::size_t ky = 0; ky < p.k_h; ++ky)
        for (std::size_t kx = 0; kx < p.k_w; ++kx) {
            const std::size_t shift = (ky * p.x_w + kx) * p.C;
            const T* xm[MR];
#pragma GCC unroll 16
            for (std::size_t m = 0; m < MR; ++m) xm[m] = x + off[m] + shift;
            const T* wp = w + (ky * p.k_w + kx) * p.C * p.F;
            for (std::size_t c = 0; c < p.C; ++c, wp += p.F) {
                vec wv[NV];
#pragma GCC unroll 8
                for (std::size_t v = 0; v < NV; ++v) S::load(wv[v], wp + v * S::lanes);
#pragma GCC unroll 16
                for (std::size_t m = 0; m < MR; ++m) {
                    const T a = xm[m][c];
#pragma GCC unroll 8
                    for (std::size_t v = 0; v < NV; ++v) acc[m][v] += a * wv[v];
                }
            }
        }
#pragma GCC unroll 16
    for (std::size_t m = 0; m < MR; ++m)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) {
            vec r = acc[m][v];
            if (relu) r = r > vec{} ? r : vec{};
            S::store(y + m * p.F + v * S::lanes, r);
        }
}

/// Whether `correlate` handles F output channels: a whole number of 32-byte vectors.
template <class T>
constexpr bool fits(std::size_t F) {
    return F > 0 && F % simd<T>::lanes == 0;
}

/// The output pixels [q_begin, q_end) of one block of NV vectors S of filters (w, bias and y
/// already point at the block), in tiles of MR pixels. Tiles run over the pixels in order,
/// across row ends, so a narrow output wastes nothing; the last tile is moved back to end at the
/// range's last pixel (it recomputes a few pixels, harmless since the output is overwritten, not
/// added to). A range shorter than a tile runs pixel by pixel.
template <std::size_t MR, std::size_t NV, class S, class T>
void correlate_block(const plan& p, const T* x, const T* w, const T* bias, bool relu, T* y,
                     std::size_t q_begin, std::size_t q_end) {
    const std::size_t mr = q_end - q_begin >= MR ? MR : 1;
    for (std::size_t q0 = q_begin; q0 < q_end; q0 += mr) {
        const std::size_t q = std::min(q0, q_end - mr);
        std::size_t off[MR];
        for (std::size_t m = 0; m < mr; ++m)
            off[m] = ((q + m) / p.out_w * p.x_w + (q + m) % p.out_w) * p.C;
        if (mr == MR)
            correlate_tile<MR, NV, S>(p, x, off, w, bias, relu, y + q * p.F);
        else
            correlate_tile<1, NV, S>(p, x, off, w, bias, relu, y + q * p.F);
    }
}

/// y = bias + correlation of x with w (valid, stride 1), then ReLU when `relu`; bias may be null.
/// x points at the input pixel under output pixel (0, 0); every window must lie inside x; y
/// points at output pixel 0. Only output pixels [q_begin, q_end) (in row-major order, q_end
/// capped at out_h * out_w), and only filters [f_begin, f_end) (f_begin a multiple of two wide
/// vectors), so that threads can share one image; a value does not depend on the range it was
/// computed in, nor on the vector width (each lane sums the same products in the same order).
/// The filters go in blocks of two wide vectors, then one,
/// then narrow ones: one block at a time, so that its weights stay in cache. MR pixels per tile
/// (tile_rows unless a caller's ranges are short: Winograd's products on 4 or 8 tiles). V: the
/// vector set (backend/simd.hpp); `correlate` runs it at the active level.
template <class T, std::size_t MR, class V>
void correlate_at(const plan& p, const T* x, const T* w, const T* bias, bool relu, T* y,
                  std::size_t q_begin, std::size_t q_end, std::size_t f_begin, std::size_t f_end) {
    using N = typename V::template narrow<T>;
    using W = typename V::template wide<T>;
    constexpr std::size_t L = N::lanes, WL = W::lanes;
    q_end = std::min(q_end, p.out_h * p.out_w);
    f_end = std::min(f_end, p.F);
    if (q_begin >= q_end) return;
    for (std::size_t f0 = f_begin; f0 < f_end;) {
        const std::size_t left = f_end - f0;
        const T* b = bias ? bias + f0 : nullptr;
        if (left >= 2 * WL) {
            correlate_block<MR, 2, W>(p, x, w + f0, b, relu, y + f0, q_begin, q_end);
            f0 += 2 * WL;
        } else if (WL > L && left >= WL) {
            correlate_block<MR, 1, W>(p, x, w + f0, b, relu, y + f0, q_begin, q_end);
            f0 += WL;
        } else if (left >= 2 * L) {
            correlate_block<MR, 2, N>(p, x, w + f0, b, relu, y + f0, q_begin, q_end);
            f0 += 2 * L;
        } else {
            correlate_block<MR, 1, N>(p, x, w + f0, b, relu, y + f0, q_begin, q_end);
            f0 += L;
        }
    }
}

/// One weight-gradient tile: MC channels from c0 of kernel position (ky, kx), NV vectors S of
/// filters from f0 on, summed over output rows [oh0, oh1) of one image.
template <std::size_t MC, std::size_t NV, class S, class T>
inline void weight_gradient_tile(const plan& p, std::size_t oh0, std::size_t oh1, const T* x,
                                 const T* dz, T* dw) {
    using vec = typename S::vec;
    vec acc[MC][NV];
#pragma GCC unroll 16
    for (std::size_t m = 0; m < MC; ++m)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) S::load(acc[m][v], dw + m * p.F + v * S::lanes);
    for (std::size_t oh = oh0; oh < oh1; ++oh) {
        const T* xr = x + oh * p.x_w * p.C;
        const T* dr = dz + oh * p.out_w * p.F;
        for (std::size_t ow = 0; ow < p.out_w; ++ow, xr += p.C, dr += p.F) {
            vec d[NV];
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) S::load(d[v], dr + v * S::lanes);
#pragma GCC unroll 16
            for (std::size_t m = 0; m < MC; ++m) {
                const T a = xr[m];
#pragma GCC unroll 8
                for (std::size_t v = 0; v < NV; ++v) acc[m][v] += a * d[v];
            }
        }
    }
#pragma GCC unroll 16
    for (std::size_t m = 0; m < MC; ++m)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) S::store(dw + m * p.F + v * S::lanes, acc[m][v]);
}

/// The channels of kernel position (ky, kx) for one block of NV vectors S of filters, in tiles of
/// MC channels, then of 4, 2 and 1 for the channel count's remainder.
template <std::size_t MC, std::size_t NV, class S, class T>
void weight_gradient_block(const plan& p, std::size_t oh0, std::size_t oh1, const T* x, const T* dz,
                           T* dw) {
    for (std::size_t c = 0; c < p.C;) {
        const std::size_t left = p.C - c;
        const T* xc = x + c;
        T* dwc = dw + c * p.F;
        if (left >= MC) {
            weight_gradient_tile<MC, NV, S>(p, oh0, oh1, xc, dz, dwc);
            c += MC;
        } else if (left >= 4) {
            weight_gradient_tile<4, NV, S>(p, oh0, oh1, xc, dz, dwc);
            c += 4;
        } else if (left >= 2) {
            weight_gradient_tile<2, NV, S>(p, oh0, oh1, xc, dz, dwc);
            c += 2;
        } else {
            weight_gradient_tile<1, NV, S>(p, oh0, oh1, xc, dz, dwc);
            c += 1;
        }
    }
}

/// correlate_at at the level in force (backend/dispatch.hpp), compiled for it. It is a function
/// boundary too: inlined into the input gradient's loop, GCC compiles the tiles worse
/// (docs/performance.md).
template <class T, std::size_t MR = tile_rows>
void correlate(const plan& p, const T* x, const T* w, const T* bias, bool relu, T* y,
               std::size_t q_begin = 0, std::size_t q_end = std::size_t(-1),
               std::size_t f_begin = 0, std::size_t f_end = std::size_t(-1)) {
    backend::dispatch([&]<class V> {
        correlate_at<T, MR, V>(p, x, w, bias, relu, y, q_begin, q_end, f_begin, f_end);
    });
}

/// weight_gradient over output rows [oh0, oh1), filters in blocks as in `correlate`.
template <class T, class V>
void weight_gradient_rows(const plan& p, std::size_t oh0, std::size_t oh1, const T* x, const T* dz,
                          T* dw) {
    using N = typename V::template narrow<T>;
    using W = typename V::template wide<T>;
    constexpr std::size_t L = N::lanes, WL = W::lanes;
    for (std::size_t ky = 0; ky < p.k_h; ++ky)
        for (std::size_t kx = 0; kx < p.k_w; ++kx) {
            const T* xk = x + (ky * p.x_w + kx) * p.C;
            T* dwk = dw + (ky * p.k_w + kx) * p.C * p.F;
            for (std::size_t f0 = 0; f0 < p.F;) {
                const std::size_t left = p.F - f0;
                if (left >= 2 * WL) {
                    weight_gradient_block<tile_rows, 2, W>(p, oh0, oh1, xk, dz + f0, dwk + f0);
                    f0 += 2 * WL;
                } else if (WL > L && left >= WL) {
                    weight_gradient_block<tile_rows, 1, W>(p, oh0, oh1, xk, dz + f0, dwk + f0);
                    f0 += WL;
                } else if (left >= 2 * L) {
                    weight_gradient_block<tile_rows, 2, N>(p, oh0, oh1, xk, dz + f0, dwk + f0);
                    f0 += 2 * L;
                } else {
                    weight_gradient_block<tile_rows, 1, N>(p, oh0, oh1, xk, dz + f0, dwk + f0);
                    f0 += L;
                }
            }
        }
}

/// weight_gradient with the vector set V.
template <class T, class V>
void weight_gradient_at(const plan& p, const T* x, const T* dz, T* dw) {
    // blocks of output rows whose dz and input rows fit in about 16 KiB: every tile of the
    // block then reads them from L1
    const std::size_t row_bytes = (p.out_w * p.F + p.x_w * p.C) * sizeof(T);
    const std::size_t block = std::max<std::size_t>(1, (std::size_t(16) << 10) / row_bytes);
    for (std::size_t oh0 = 0; oh0 < p.out_h; oh0 += block) {
        const std::size_t oh1 = std::min(p.out_h, oh0 + block);
        weight_gradient_rows<T, V>(p, oh0, oh1, x, dz, dw);
    }
}

/// dw (k_h, k_w, C, F) += the weight gradient of one image: x as for `correlate`, dz its
/// (out_h, out_w, F) output gradient; at the level in force.
template <class T>
void weight_gradient(const plan& p, const T* x, const T* dz, T* dw) {
    backend::dispatch([&]<class V> { weight_gradient_at<T, V>(p, x, dz, dw); });
}

}  // namespace xkeras::backend::conv::direct
