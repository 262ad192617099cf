// xkeras/backend/conv/forward.hpp - a convolution's forward pass over a batch, by a given route
// (route.hpp), optionally pooling its output as it goes.
//
// The batch is cut into tasks of a few images (conv2d::images_per_task) spread over the thread
// pool. A single task (batch-1 inference) would leave the other threads idle: its output pixels
// (direct, small-patch and Winograd routes) or its GEMM's columns are shared out instead, and a
// small image (at most max_pixels_split_by_filters pixels) by blocks of filters. A pooling that
// follows at inference can be done in the same pass (`pool`): each thread pools the part it
// computed while it is in its cache, by bands of rows or by Winograd's tiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <type_traits>

#include "../gemm.hpp"
#include "../parallel.hpp"
#include "../pool2d.hpp"
#include "direct.hpp"
#include "im2col.hpp"
#include "route.hpp"
#include "small_patch.hpp"
#include "winograd.hpp"
#include "workspace.hpp"

namespace xkeras::backend::conv {

/// A pooling done in a convolution's forward pass: what it computes and where its output goes
/// (n images of g.out_h x g.out_w x C).
template <class T>
struct fused_pool {
    const pool2d& pool;
    T* y;
};

/// Whether the forward pass by route r can pool its output in the same pass: the routes whose
/// loops write the output themselves, a pooling whose windows fall in bands of rows.
template <class T>
bool can_fuse_pool(route r, const conv2d<T>& c, const pool2d& p) {
    const bool own_loops = r == route::direct || r == route::winograd_2x2 ||
                           r == route::winograd_4x4 ||
                           (r == route::small_patch && direct::fits<T>(c.filters));
    return own_loops && p.pools_in_row_bands();
}

namespace detail {

/// Calls f.template operator()<m>() with the Winograd tile size of route r.
template <class F>
decltype(auto) with_tile(route r, F&& f) {
    if (r == route::winograd_4x4) return f.template operator()<4>();
    return f.template operator()<2>();
}

/// Before a pass by Winograd's route with m x m tiles: each thread's buffers, and the kernel's
/// transform, remade when the kernel changed since it was made.
template <std::size_t m, class T>
void winograd_prepare(const conv2d<T>& c, workspace<T>& ws) {
    const std::size_t C = c.g.channels, F = c.filters;
    const winograd::tiling<m> tl(c.g.out_h, c.g.out_w);
    const std::size_t threads = std::size_t(pool_size());
    if (ws.wino_m != m) ws.wino.clear();
    if (ws.wino.size() < threads) ws.wino.resize(threads);
    for (auto& w : ws.wino) {
        // zeroed once: the border rows and columns are never written
        if (w.x.size() != tl.input_h() * tl.input_w() * C)
            w.x.assign(tl.input_h() * tl.input_w() * C, T(0));
        if (w.v.size() < winograd::v_values<m>(C)) w.v.resize(winograd::v_values<m>(C));
        if (w.m.size() < winograd::m_values<m>(F)) w.m.resize(winograd::m_values<m>(F));
    }
    if (ws.wino_m == m && ws.wino_version == c.kernel_version && ws.wino_source == c.kernel) return;
    ws.wino_kernel.resize(tl.positions * C * F);
    winograd::transform_kernel<m>(c.kernel, C, F, ws.wino_kernel.data());
    ws.wino_m = m;
    ws.wino_version = c.kernel_version;
    ws.wino_source = c.kernel;
}

/// Tiles [t0, t1) and filters [f0, f1) of one image's output y by Winograd's route, in thread
/// buf's buffers: the input rows those tiles read are copied into its zero-bordered image.
template <std::size_t m, class T>
void winograd_image(const conv2d<T>& c, workspace<T>& ws, const T* x, std::size_t buf,
                    std::size_t t0, std::size_t t1, std::size_t f0, std::size_t f1, bool relu,
                    T* y) {
    if (t0 >= t1) return;
    const window2d& g = c.g;
    const std::size_t C = g.channels;
    const winograd::tiling<m> tl(g.out_h, g.out_w);
    auto& w = ws.wino[buf];
    // padded rows [m ty0, m ty1 + m + 2) are read; input row h is padded row h + pad_top
    const std::size_t r0 = m * (t0 / tl.cols), r1 = m * ((t1 - 1) / tl.cols) + m + 2;
    const std::size_t h0 = r0 > g.pad_top ? r0 - g.pad_top : 0;
    const std::size_t h1 = std::min(g.in_h, r1 > g.pad_top ? r1 - g.pad_top : 0);
    for (std::size_t h = h0; h < h1; ++h)
        std::copy_n(x + h * g.in_w * C, g.in_w * C,
                    w.x.data() + ((h + g.pad_top) * tl.input_w() + g.pad_left) * C);
    winograd::forward<m>(w.x.data(), C, c.filters, ws.wino_kernel.data(), c.bias, relu, y, g.out_h,
                         g.out_w, t0, t1, f0, f1, w.v.data(), w.m.data());
}

/// The patch matrix of images [n0, n0 + cnt) of x in thread th's buffer: rows (image, oh, ow),
/// columns (ky, kx, c). A 1x1 stride-1 window reads the input itself.
template <class T>
const T* patches(const conv2d<T>& c, workspace<T>& ws, const T* x, std::size_t n0, std::size_t cnt,
                 std::size_t th) {
    const window2d& g = c.g;
    if (pointwise(g)) return x + n0 * g.in_size();
    const std::size_t per_image = c.pixels() * c.patch();
    T* out = ws.patches[th].data();
    for (std::size_t i = 0; i < cnt; ++i)
        im2col(g, ws.offsets.data(), pad_image(g, x + (n0 + i) * g.in_size(), ws.padded[th]),
               out + i * per_image);
    return out;
}

/// How one image's output is shared out over `chunks` threads: by blocks of filters (a small
/// image) or by output pixels, which with a fused pooling are bands of whole rows, each the
/// pooling's stride and whole rows of Winograd's tiles, the larger shares first (the calling
/// thread takes chunk 0 while the others are still on their way).
struct image_split {
    std::size_t chunks = 1, filters = 0, out_h = 0, out_w = 0;
    std::size_t fblock = 1;  ///< filters per block when shared by filters (two wide vectors)
    bool by_filters = false;
    std::size_t band = 0;  ///< rows per band when a pooling shares by bands, else 0

    void filter_range(std::size_t c, std::size_t& f0, std::size_t& f1) const {
        const std::size_t blocks = filters / fblock;
        f0 = by_filters ? c * blocks / chunks * fblock : 0;
        f1 = by_filters && c + 1 < chunks ? (c + 1) * blocks / chunks * fblock : filters;
    }
    void pixel_range(std::size_t c, std::size_t& p0, std::size_t& p1) const {
        const std::size_t P = out_h * out_w;
        if (by_filters || band == 0) {
            p0 = by_filters ? 0 : c * P / chunks;
            p1 = by_filters ? P : (c + 1) * P / chunks;
            return;
        }
        const std::size_t bands = (out_h + band - 1) / band, base = bands / chunks,
                          extra = bands % chunks;
        const std::size_t b0 = c * base + std::min(c, extra), b1 = b0 + base + (c < extra);
        p0 = std::min(out_h, b0 * band) * out_w;
        p1 = std::min(out_h, b1 * band) * out_w;
    }
};

}  // namespace detail

/// y = the convolution of the n images of x by route r (bias added, ReLU applied when `relu`);
/// finish(rows_ptr, rows) is called on each task's output rows when `relu` is off, while they
/// are in cache (the caller's activation). With `pool` (can_fuse_pool, inference, and `finish`
/// doing nothing) the pooling of y is written too.
template <class T, class Finish>
void forward(route r, const conv2d<T>& c, workspace<T>& ws, const T* x, std::size_t n, bool relu,
             T* y, std::type_identity_t<const fused_pool<T>*> pool, Finish&& finish) {
    const window2d& g = c.g;
    const std::size_t F = c.filters, K = c.patch(), P = c.pixels();
    const std::size_t per = c.images_per_task(), tasks = (n + per - 1) / per;
    const bool own_vectors = r == route::small_patch && direct::fits<T>(F);
    const bool wino = r == route::winograd_2x2 || r == route::winograd_4x4;
    // the small-patch kernel (a few multiply-adds per output value) spreads from 16,384 output
    // values; the others from min_parallel_flops
    const bool spread =
        tasks == 1 &&
        (own_vectors ? n * P * F >= 16384 : 2.0 * double(n * P * K * F) >= min_parallel_flops);
    detail::image_split split;
    split.chunks = spread ? std::size_t(pool_size()) : 1;
    split.filters = F;
    split.out_h = g.out_h;
    split.out_w = g.out_w;
    split.fblock = 2 * backend::active_wide_bytes() / sizeof(T);
    split.by_filters = P <= max_pixels_split_by_filters && F / split.fblock >= split.chunks;
    const std::size_t tile = r == route::winograd_4x4 ? 4 : wino ? 2 : 1;
    // a fused pooling pools what each chunk computed: its Winograd tiles when each is one pooling
    // window's, else whole bands of rows
    const bool pool_tiles = pool && wino && !split.by_filters && pool->pool.pools_in_tiles(tile);
    if (pool && !pool_tiles) split.band = std::lcm(pool->pool.g.s_h, tile);
    std::size_t tiles = 0, cols = 0;
    if (wino)
        detail::with_tile(r, [&]<std::size_t m>() {
            detail::winograd_prepare<m>(c, ws);
            const winograd::tiling<m> tl(g.out_h, g.out_w);
            tiles = tl.count();
            cols = tl.cols;
        });
    if (ws.padded.size() < std::size_t(pool_size())) ws.padded.resize(std::size_t(pool_size()));
    if (r == route::gemm && !pointwise(g)) workspace<T>::grow(ws.patches, per * P * K);
    const std::size_t pool_image = pool ? pool->pool.g.out_pixels() * F : 0;
    auto pool_rows = [&](std::size_t i, std::size_t p0, std::size_t p1, std::size_t f0,
                         std::size_t f1) {
        pooling::input_rows(pool->pool, y + i * P * F, pool->y + i * pool_image, p0 / g.out_w,
                            p1 / g.out_w, f0, f1);
    };
    parallel_for(tasks, [&](std::size_t t, int thread) {
        const std::size_t n0 = t * per, cnt = std::min(per, n - n0), rows = cnt * P;
        T* yt = y + n0 * P * F;
        if (r == route::direct || wino) {
            const direct::plan p{g.channels, F, g.k_h, g.k_w, g.read_w(), g.out_h, g.out_w};
            for (std::size_t i = n0; i < n0 + cnt; ++i) {
                T* yi = y + i * P * F;
                const T* xi = x + i * g.in_size();
                parallel_for(split.chunks, [&](std::size_t ch, int th) {
                    // one chunk runs on this task's thread, with its buffers
                    const std::size_t buf = std::size_t(split.chunks > 1 ? th : thread);
                    std::size_t f0, f1, p0, p1;
                    split.filter_range(ch, f0, f1);
                    split.pixel_range(ch, p0, p1);
                    if (wino) {  // by tiles of pixels, or by filters
                        std::size_t t0 = ch * tiles / split.chunks,
                                    t1 = (ch + 1) * tiles / split.chunks;
                        if (split.by_filters || (pool && !pool_tiles)) {  // whole rows of tiles
                            t0 = p0 / g.out_w / tile * cols;
                            t1 = (p1 / g.out_w + tile - 1) / tile * cols;
                        }
                        detail::with_tile(r, [&]<std::size_t m>() {
                            detail::winograd_image<m>(c, ws, xi, buf, t0, t1, f0, f1, relu, yi);
                        });
                        if (pool_tiles) {
                            pooling::input_tiles(pool->pool, yi, pool->y + i * pool_image, t0, t1,
                                                 cols);
                            return;
                        }
                    } else {
                        // each thread pads the rows its pixels read itself: rows that it mostly
                        // wrote in the layer before (a pooling splits its rows the same way)
                        direct::correlate(p, pad_image(g, xi, ws.padded[buf], p0, p1), c.kernel,
                                          c.bias, relu, yi, p0, p1, f0, f1);
                    }
                    if (pool) pool_rows(i, p0, p1, f0, f1);
                });
            }
            if (!relu) finish(yt, rows);
        } else if (r == route::small_patch) {
            // bias and a ReLU are applied in the loop
            for (std::size_t i = n0; i < n0 + cnt; ++i) {
                const T* xi = pad_image(g, x + i * g.in_size(), ws.padded[std::size_t(thread)]);
                if (!own_vectors) {
                    small_patch::forward_any(g, ws.offsets.data(), K, xi, c.kernel, F, c.bias, relu,
                                             y + i * P * F);
                    continue;
                }
                parallel_for(split.chunks, [&](std::size_t ch, int) {
                    std::size_t p0, p1;
                    split.pixel_range(ch, p0, p1);
                    small_patch::forward(g, ws.offsets.data(), K, xi, c.kernel, F, c.bias, relu,
                                         y + i * P * F, p0, p1);
                    if (pool) pool_rows(i, p0, p1, 0, F);
                });
            }
            if (!relu) finish(yt, rows);
        } else {
            const T* a = detail::patches(c, ws, x, n0, cnt, std::size_t(thread));
            // C starts as the bias and the GEMM adds to it (beta 1): OpenBLAS would otherwise
            // clear C in a pass of its own and the bias take another
            if (c.bias)
                for (std::size_t row = 0; row < rows; ++row) std::copy_n(c.bias, F, yt + row * F);
            (spread ? gemm_parallel<T> : gemm<T>)(false, false, rows, F, K, T(1), a, K, c.kernel, F,
                                                  c.bias ? T(1) : T(0), yt, F);
            if (relu)
                for (std::size_t i = 0; i < rows * F; ++i) yt[i] = yt[i] > T(0) ? yt[i] : T(0);
            else
                finish(yt, rows);
        }
    });
}

}  // namespace xkeras::backend::conv
