// xkeras/backend/conv/depthwise.hpp - a depthwise convolution over NHWC images: each input
// channel c correlated with its own M filters (Keras's depth_multiplier), giving output channels
// c * M + m. Kernel (k_h, k_w, C, M), Keras's layout; the geometry is window2d's, as Conv2D's.
//
// Each image is one task. The backward pass cuts the batch into one contiguous range of images
// per thread, each summing its own partial kernel and bias gradients; the partials are added in
// order, so the result depends on the thread count only, never on scheduling.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../parallel.hpp"
#include "im2col.hpp"

namespace xkeras::backend::conv::depthwise {

/// One depthwise convolution: geometry, depth multiplier, kernel and bias (C * M, or null).
template <class T>
struct operands {
    window2d g;
    std::size_t multiplier = 1;
    const T* kernel = nullptr;
    const T* bias = nullptr;

    std::size_t out_channels() const { return g.channels * multiplier; }
};

/// Buffers kept from batch to batch, per thread: a zero-bordered input image, its gradient, and
/// a thread's partial kernel and bias gradients.
template <class T>
struct workspace {
    std::vector<std::vector<T>> padded, padded_dx, partial;
};

namespace detail {

/// o[c * M + m] (+)= v[c] * w[c * M + m] over the C channels: one kernel cell's contribution.
template <class T>
void multiply_add(const T* v, const T* w, std::size_t C, std::size_t M, T* o) {
    if (M == 1) {
        for (std::size_t c = 0; c < C; ++c) o[c] += v[c] * w[c];
        return;
    }
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t m = 0; m < M; ++m) o[c * M + m] += v[c] * w[c * M + m];
}

}  // namespace detail

/// y (n images of out_h x out_w x C M) from x (n images of in_h x in_w x C).
template <class T>
void forward(const operands<T>& op, workspace<T>& ws, const T* x, std::size_t n, T* y) {
    const window2d& g = op.g;
    const std::size_t C = g.channels, M = op.multiplier, CM = op.out_channels();
    const std::size_t P = g.out_pixels(), pw = g.read_w();
    const auto threads = std::size_t(pool_size());
    if (ws.padded.size() < threads) ws.padded.resize(threads);
    parallel_for(n, [&](std::size_t i, int th) {
        const T* img = pad_image(g, x + i * g.in_size(), ws.padded[std::size_t(th)]);
        T* out = y + i * P * CM;
        for_each_window(g, img, [&](std::size_t p, const T* a) {
            T* o = out + p * CM;
            if (op.bias)
                std::copy_n(op.bias, CM, o);
            else
                std::fill_n(o, CM, T(0));
            for (std::size_t ky = 0; ky < g.k_h; ++ky)
                for (std::size_t kx = 0; kx < g.k_w; ++kx)
                    detail::multiply_add(a + (ky * g.d_h * pw + kx * g.d_w) * C,
                                         op.kernel + (ky * g.k_w + kx) * CM, C, M, o);
        });
    });
}

/// From dz, the gradient before the activation of the output of the n images of x: the kernel
/// gradient dw, the bias gradient db (or null) and the input gradient dx (or null).
template <class T>
void backward(const operands<T>& op, workspace<T>& ws, const T* x, std::size_t n, const T* dz,
              T* dw, T* db, T* dx) {
    const window2d& g = op.g;
    const std::size_t C = g.channels, M = op.multiplier, CM = op.out_channels();
    const std::size_t P = g.out_pixels(), pw = g.read_w(), KCM = g.k_h * g.k_w * CM;
    const std::size_t ranges = std::min(std::size_t(pool_size()), n);
    if (ws.padded.size() < ranges) ws.padded.resize(ranges);
    if (ws.padded_dx.size() < ranges) ws.padded_dx.resize(ranges);
    ws.partial.resize(ranges);
    for (auto& part : ws.partial) part.assign(KCM + CM, T(0));
    parallel_for(ranges, [&](std::size_t range, int) {
        T* pdw = ws.partial[range].data();
        T* pdb = pdw + KCM;
        for (std::size_t i = range * n / ranges; i < (range + 1) * n / ranges; ++i) {
            const T* img = pad_image(g, x + i * g.in_size(), ws.padded[range]);
            // the gradient of the image the windows read: dx itself unless it is padded
            T* dimg = nullptr;
            if (dx && g.padded()) {
                ws.padded_dx[range].assign(g.read_h() * pw * C, T(0));
                dimg = ws.padded_dx[range].data();
            } else if (dx) {
                dimg = dx + i * g.in_size();
                std::fill_n(dimg, g.in_size(), T(0));
            }
            const T* d = dz + i * P * CM;
            for_each_window(g, img, [&](std::size_t p, const T* a) {
                const T* dp = d + p * CM;
                if (db)
                    for (std::size_t k = 0; k < CM; ++k) pdb[k] += dp[k];
                for (std::size_t ky = 0; ky < g.k_h; ++ky)
                    for (std::size_t kx = 0; kx < g.k_w; ++kx) {
                        const std::size_t at =
                            std::size_t(a - img) + (ky * g.d_h * pw + kx * g.d_w) * C;
                        const std::size_t cell = (ky * g.k_w + kx) * CM;
                        const T* w = op.kernel + cell;
                        T* gw = pdw + cell;
                        for (std::size_t c = 0; c < C; ++c) {
                            T sum = T(0);
                            for (std::size_t m = 0; m < M; ++m) {
                                gw[c * M + m] += img[at + c] * dp[c * M + m];
                                sum += w[c * M + m] * dp[c * M + m];
                            }
                            if (dimg) dimg[at + c] += sum;
                        }
                    }
            });
            if (dimg && g.padded()) {  // the part under the real image
                T* out = dx + i * g.in_size();
                for (std::size_t h = 0; h < g.in_h; ++h)
                    std::copy_n(dimg + ((h + g.pad_top) * pw + g.pad_left) * C, g.in_w * C,
                                out + h * g.in_w * C);
            }
        }
    });
    std::fill_n(dw, KCM, T(0));
    if (db) std::fill_n(db, CM, T(0));
    for (const auto& part : ws.partial) {
        for (std::size_t k = 0; k < KCM; ++k) dw[k] += part[k];
        if (db)
            for (std::size_t k = 0; k < CM; ++k) db[k] += part[KCM + k];
    }
}

}  // namespace xkeras::backend::conv::depthwise
