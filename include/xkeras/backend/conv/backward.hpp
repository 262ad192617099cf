// xkeras/backend/conv/backward.hpp - a convolution's backward pass over a batch: the weight and
// bias gradients and, when wanted, the input gradient, each by a given route (route.hpp).
//
// GEMM route: dW = cols^T . dZ and dX = col2im(dZ . W^T). Direct route: the weight gradient by
// direct::weight_gradient, the input gradient as the correlation of the padded dz with the
// flipped kernel. Small-patch route (a first layer, no input gradient): one kernel reads dy and
// y once, applying ReLU's mask and summing the bias gradient as it goes.
//
// The batch's image groups are cut into one contiguous range per thread, each summing its own
// partial weight gradient; the partials are added in order, so the result depends on the thread
// count only, never on scheduling. dz (the gradient before the activation) lives only while its
// image group is processed: one group-sized buffer per thread rather than one for the batch.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../gemm.hpp"
#include "../parallel.hpp"
#include "direct.hpp"
#include "forward.hpp"
#include "im2col.hpp"
#include "route.hpp"
#include "small_patch.hpp"
#include "workspace.hpp"

namespace xkeras::backend::conv {

/// The routes of a backward pass (select_route's weight_gradient and input_gradient passes).
struct backward_routes {
    route weight_gradient = route::gemm;
    route input_gradient = route::gemm;
};

/// What lies between the convolution and dy: nothing (or logits that a fused loss took), a
/// ReLU, or another activation whose backward pass the caller gives.
enum class activation_grad { none, relu, other };

namespace detail {

/// dx of `cnt` images from dz, their output gradient (cnt * P rows of F), by GEMM:
/// col2im(dz . W^T), through `dcols` (cnt * P * K values) unless the convolution is pointwise.
template <class T>
void gemm_input_gradient(const conv2d<T>& c, const T* dz, std::size_t cnt, T* dcols, T* dx) {
    const std::size_t F = c.filters, K = c.patch(), rows = cnt * c.pixels();
    if (pointwise(c.g)) {  // dx = dz . W^T straight into dx
        gemm(false, true, rows, K, F, T(1), dz, F, c.kernel, F, T(0), dx, K);
        return;
    }
    gemm(false, true, rows, K, F, T(1), dz, F, c.kernel, F, T(0), dcols, K);
    col2im(c.g, dcols, cnt, dx);
}

}  // namespace detail

/// dw and db (db may be null: no bias) from dy, the gradient of the layer's output y for the n
/// images of x; dx too unless null. With activation_grad::other, act(y, dy, dz, rows) writes the
/// gradient before the activation of `rows` output rows.
template <class T, class ActivationBackward>
void backward(const backward_routes& r, const conv2d<T>& c, workspace<T>& ws, const T* x,
              std::size_t n, const T* dy, const T* y, activation_grad through,
              ActivationBackward&& act, T* dw, T* db, T* dx) {
    const window2d& g = c.g;
    const std::size_t F = c.filters, K = c.patch(), P = c.pixels();
    const std::size_t per = c.images_per_task(), tasks = (n + per - 1) / per;
    const std::size_t threads = std::size_t(pool_size());
    // the small-patch kernel applies ReLU's mask and sums db itself, reading dy directly
    const bool own_mask = r.weight_gradient == route::small_patch &&
                          through != activation_grad::other && dx == nullptr;
    if (through != activation_grad::none && !own_mask) workspace<T>::grow(ws.dz, per * P * F);
    if (ws.padded.size() < threads) ws.padded.resize(threads);
    if (ws.padded_dz.size() < threads) ws.padded_dz.resize(threads);
    if (!pointwise(g)) {
        if (r.weight_gradient == route::gemm) workspace<T>::grow(ws.patches, per * P * K);
        if (dx && r.input_gradient == route::gemm) workspace<T>::grow(ws.dcols, per * P * K);
    }
    if (dx && r.input_gradient == route::direct) {
        ws.flipped.resize(K * F);
        flip_kernel(g, F, c.kernel, ws.flipped.data());
    }
    const std::size_t ranges = std::min(threads, tasks);
    ws.partial_dw.resize(ranges);
    ws.partial_db.resize(ranges);
    for (std::size_t i = 0; i < ranges; ++i) {
        ws.partial_dw[i].assign(K * F, T(0));
        ws.partial_db[i].assign(F, T(0));
    }
    const direct::plan fwd{g.channels, F, g.k_h, g.k_w, g.read_w(), g.out_h, g.out_w};
    // one image group: dz, its share of dW / db in partial `th`, and dx
    auto task = [&](std::size_t t, std::size_t th) {
        const std::size_t n0 = t * per, cnt = std::min(per, n - n0), rows = cnt * P;
        const T* dz = dy + n0 * P * F;
        const T* yt = y + n0 * P * F;
        T* pdb = ws.partial_db[th].data();
        T* pdw = ws.partial_dw[th].data();
        auto padded = [&](std::size_t i) {
            return pad_image(g, x + i * g.in_size(), ws.padded[th]);
        };
        if (own_mask) {
            for (std::size_t i = 0; i < cnt; ++i)
                small_patch::weight_gradient(
                    g, ws.offsets.data(), K, padded(n0 + i), dz + i * P * F,
                    through == activation_grad::relu ? yt + i * P * F : nullptr, F, pdw, pdb);
            return;
        }
        if (through == activation_grad::relu) {
            // ReLU's gradient and the bias gradient in one pass
            T* d = ws.dz[th].data();
            for (std::size_t i = 0; i < rows * F; i += F)
                for (std::size_t f = 0; f < F; ++f) {
                    const T grad = dz[i + f];  // read unconditionally: a blend, not a masked load
                    const T v = yt[i + f] > T(0) ? grad : T(0);
                    d[i + f] = v;
                    pdb[f] += v;
                }
            dz = d;
        } else {
            if (through == activation_grad::other) {
                act(yt, dz, ws.dz[th].data(), rows);
                dz = ws.dz[th].data();
            }
            for (std::size_t row = 0; row < rows; ++row)
                for (std::size_t f = 0; f < F; ++f) pdb[f] += dz[row * F + f];
        }
        if (r.weight_gradient == route::small_patch) {
            for (std::size_t i = 0; i < cnt; ++i)
                small_patch::weight_gradient(g, ws.offsets.data(), K, padded(n0 + i),
                                             dz + i * P * F, static_cast<const T*>(nullptr), F, pdw,
                                             static_cast<T*>(nullptr));
        } else if (r.weight_gradient == route::direct) {
            for (std::size_t i = 0; i < cnt; ++i)
                direct::weight_gradient(fwd, padded(n0 + i), dz + i * P * F, pdw);
        } else {
            // a GEMM over the patch matrix also for small patches: its inner dimension is the
            // batch's pixels, long enough for the GEMM to run well
            const T* a = detail::patches(c, ws, x, n0, cnt, th);
            gemm(true, false, K, F, rows, T(1), a, K, dz, F, T(1), pdw, F);
        }
        if (dx == nullptr) return;
        T* dxt = dx + n0 * g.in_size();
        if (r.input_gradient == route::direct) {
            // each dz image, padded by k - 1 all round, correlated with the flipped kernel gives
            // the gradient of the padded input, of which the part under the real input is taken
            const direct::plan p{F, g.channels, g.k_h, g.k_w, padded_gradient_w(g), g.in_h, g.in_w};
            for (std::size_t i = 0; i < cnt; ++i, dz += P * F, dxt += g.in_size())
                direct::correlate(
                    p, pad_output_gradient(g, F, dz, ws.padded_dz[th], g.pad_top, g.pad_left),
                    ws.flipped.data(), static_cast<const T*>(nullptr), false, dxt);
        } else {
            detail::gemm_input_gradient(c, dz, cnt, pointwise(g) ? nullptr : ws.dcols[th].data(),
                                        dxt);
        }
    };
    parallel_for(ranges, [&](std::size_t range, int) {
        for (std::size_t t = range * tasks / ranges; t < (range + 1) * tasks / ranges; ++t)
            task(t, range);
    });
    std::fill(dw, dw + K * F, T(0));
    for (std::size_t i = 0; i < ranges; ++i)
        for (std::size_t k = 0; k < K * F; ++k) dw[k] += ws.partial_dw[i][k];
    if (db) {
        std::fill(db, db + F, T(0));
        for (std::size_t i = 0; i < ranges; ++i)
            for (std::size_t f = 0; f < F; ++f) db[f] += ws.partial_db[i][f];
    }
}

}  // namespace xkeras::backend::conv
