// xkeras/backend/conv/small_patch.hpp - convolution kernels for patches of at most 16 values: a
// first layer on one to three channels.
//
// A 2x2 or 3x3 window on one channel has 4 or 9 values per patch: too few for a GEMM (all
// packing) and for the direct kernels' tiles (all broadcasts). Here a block of filters' whole
// kernel is held in registers, and each window is read once per block: the forward pass writes
// the biased, rectified output; the weight gradient takes the output gradient, applies ReLU's
// mask and sums the bias gradient in the same pass, so a first layer's backward pass reads dy
// and y once and writes nothing per pixel. Any stride, padding (through pad_image) and dilation.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../dispatch.hpp"
#include "../simd.hpp"
#include "direct.hpp"
#include "im2col.hpp"

namespace xkeras::backend::conv::small_patch {

/// The most values per patch these kernels take.
inline constexpr std::size_t max_patch = 16;

using direct::fits;

/// Vectors of filters per block for K patch values: the kernel block (K x NV vectors) and the
/// working vectors must fit the registers of the vector set V (backend/simd.hpp).
template <class V>
constexpr std::size_t vectors_per_block(std::size_t K) {
    const std::size_t registers = V::registers, spare = 6;
    const std::size_t nv = K == 0 || K * 2 > registers - spare ? 1 : (registers - spare) / K;
    return std::min<std::size_t>(nv, 4);
}

/// Forward, one block of NV vectors S of filters from f0 (w, bias and y point at f0), for the
/// windows of one image; KC patch values when KC > 0, else K at run time (at most 16).
template <std::size_t KC, std::size_t NV, class S, class T>
void forward_block(const window2d& g, const std::size_t* off, std::size_t K, const T* img,
                   const T* w, std::size_t F, const T* bias, bool relu, T* y, std::size_t p_begin,
                   std::size_t p_end) {
    using vec = typename S::vec;
    constexpr std::size_t KM = KC > 0 ? KC : 16;
    const std::size_t k_n = KC > 0 ? KC : K;
    vec wk[KM][NV], b[NV];
    for (std::size_t k = 0; k < k_n; ++k)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) S::load(wk[k][v], w + k * F + v * S::lanes);
#pragma GCC unroll 8
    for (std::size_t v = 0; v < NV; ++v) {
        b[v] = vec{};
        if (bias) S::load(b[v], bias + v * S::lanes);
    }
    for_each_window(
        g, img,
        [&](std::size_t p, const T* a) {
            vec acc[NV];
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) acc[v] = b[v];
#pragma GCC unroll 16
            for (std::size_t k = 0; k < k_n; ++k) {
                const T x = a[off[k]];
#pragma GCC unroll 8
                for (std::size_t v = 0; v < NV; ++v) acc[v] += x * wk[k][v];
            }
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) {
                if (relu) acc[v] = acc[v] > vec{} ? acc[v] : vec{};
                S::store(y + p * F + v * S::lanes, acc[v]);
            }
        },
        p_begin, p_end);
}

/// Weight and bias gradient, one block as above, for one image: dw[k][f] += sum over the windows
/// of a[off[k]] * dz[p][f] and db[f] += sum of dz[p][f], with dz = dy where y > 0 when y is
/// given (a ReLU's output), else dz = dy. db may be null.
template <std::size_t KC, std::size_t NV, class S, class T>
void weight_gradient_block(const window2d& g, const std::size_t* off, std::size_t K, const T* img,
                           const T* dy, const T* y, std::size_t F, T* dw, T* db) {
    using vec = typename S::vec;
    constexpr std::size_t KM = KC > 0 ? KC : 16;
    const std::size_t k_n = KC > 0 ? KC : K;
    vec acc[KM][NV], dbv[NV];
    for (std::size_t k = 0; k < k_n; ++k)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) acc[k][v] = vec{};
#pragma GCC unroll 8
    for (std::size_t v = 0; v < NV; ++v) dbv[v] = vec{};
    for_each_window(g, img, [&](std::size_t p, const T* a) {
        vec d[NV];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) {
            S::load(d[v], dy + p * F + v * S::lanes);
            if (y) {  // loaded unconditionally and selected: a blend, not a masked load
                vec yv;
                S::load(yv, y + p * F + v * S::lanes);
                d[v] = yv > vec{} ? d[v] : vec{};
            }
            dbv[v] += d[v];
        }
#pragma GCC unroll 16
        for (std::size_t k = 0; k < k_n; ++k) {
            const T x = a[off[k]];
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) acc[k][v] += x * d[v];
        }
    });
    for (std::size_t k = 0; k < k_n; ++k)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) {
            vec o;
            S::load(o, dw + k * F + v * S::lanes);
            o += acc[k][v];
            S::store(dw + k * F + v * S::lanes, o);
        }
    if (db)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) {
            vec o;
            S::load(o, db + v * S::lanes);
            o += dbv[v];
            S::store(db + v * S::lanes, o);
        }
}

/// Calls block.template operator()<KC, NV, S>(f0) for every block of filters: V's wide vectors,
/// then narrow ones for a remainder; KC is 4 or 9 (a 2x2 or 3x3 window on one channel) or 0 (K
/// at run time). F must be a whole number of 32-byte vectors (`fits`).
template <class T, class V, class Block>
void for_each_block(std::size_t K, std::size_t F, Block&& block) {
    auto run = [&]<std::size_t KC>() {
        using W = typename V::template wide<T>;
        using N = typename V::template narrow<T>;
        constexpr std::size_t NVW = vectors_per_block<V>(KC), NVN = NVW;
        std::size_t f0 = 0;
        for (; f0 + NVW * W::lanes <= F; f0 += NVW * W::lanes)
            block.template operator()<KC, NVW, W>(f0);
        for (; f0 + W::lanes <= F; f0 += W::lanes) block.template operator()<KC, 1, W>(f0);
        for (; f0 + NVN * N::lanes <= F; f0 += NVN * N::lanes)
            block.template operator()<KC, NVN, N>(f0);
        for (; f0 < F; f0 += N::lanes) block.template operator()<KC, 1, N>(f0);
    };
    if (K == 9)
        run.template operator()<9>();
    else if (K == 4)
        run.template operator()<4>();
    else
        run.template operator()<0>();
}

/// y = bias + correlation (then ReLU when `relu`) for the windows of one image, a patch of K <= 16
/// values; bias may be null. Only output pixels [p_begin, p_end) when given, so that threads can
/// share an image. At the instruction-set level in force (backend/dispatch.hpp).
template <class T>
void forward(const window2d& g, const std::size_t* off, std::size_t K, const T* img, const T* w,
             std::size_t F, const T* bias, bool relu, T* y, std::size_t p_begin = 0,
             std::size_t p_end = std::size_t(-1)) {
    backend::dispatch([&]<class V> {
        for_each_block<T, V>(K, F, [&]<std::size_t KC, std::size_t NV, class S>(std::size_t f0) {
            forward_block<KC, NV, S>(g, off, K, img, w + f0, F, bias ? bias + f0 : nullptr, relu,
                                     y + f0, p_begin, p_end);
        });
    });
}

/// dw += the weight gradient and db += the bias gradient (db may be null) of one image, from dy
/// through ReLU's mask when y (the ReLU's output) is given.
template <class T>
void weight_gradient(const window2d& g, const std::size_t* off, std::size_t K, const T* img,
                     const T* dy, const T* y, std::size_t F, T* dw, T* db) {
    backend::dispatch([&]<class V> {
        for_each_block<T, V>(K, F, [&]<std::size_t KC, std::size_t NV, class S>(std::size_t f0) {
            weight_gradient_block<KC, NV, S>(g, off, K, img, dy + f0, y ? y + f0 : nullptr, F,
                                             dw + f0, db ? db + f0 : nullptr);
        });
    });
}

/// forward for any filter count (no whole vectors needed): blocks of V's narrow vectors of
/// filters, then one filter at a time; the whole image.
template <class T, class V>
void forward_any_at(const window2d& g, const std::size_t* off, std::size_t K, const T* img,
                    const T* w, std::size_t F, const T* bias, bool relu, T* y) {
    using S = typename V::template narrow<T>;
    using vec = typename S::vec;
    constexpr std::size_t lanes = S::lanes;
    const std::size_t F_blocked = F / lanes * lanes;
    for_each_window(g, img, [&](std::size_t p, const T* a) {
        T* yr = y + p * F;
        for (std::size_t f0 = 0; f0 < F_blocked; f0 += lanes) {
            vec acc{}, wk;
            if (bias) S::load(acc, bias + f0);
            for (std::size_t k = 0; k < K; ++k) {
                S::load(wk, w + k * F + f0);
                acc += a[off[k]] * wk;
            }
            if (relu) acc = acc > vec{} ? acc : vec{};
            S::store(yr + f0, acc);
        }
        for (std::size_t f = F_blocked; f < F; ++f) {
            T acc = bias ? bias[f] : T(0);
            for (std::size_t k = 0; k < K; ++k) acc += a[off[k]] * w[k * F + f];
            yr[f] = relu && acc < T(0) ? T(0) : acc;
        }
    });
}

/// forward_any_at at the instruction-set level in force.
template <class T>
void forward_any(const window2d& g, const std::size_t* off, std::size_t K, const T* img, const T* w,
                 std::size_t F, const T* bias, bool relu, T* y) {
    backend::dispatch([&]<class V> { forward_any_at<T, V>(g, off, K, img, w, F, bias, relu, y); });
}

}  // namespace xkeras::backend::conv::small_patch
