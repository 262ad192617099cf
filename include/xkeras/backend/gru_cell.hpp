// xkeras/backend/gru_cell.hpp - the elementwise part of a GRU time step (Keras's reset_after
// form, its default), forward and backward, over a block of rows (one row per sample).
//
// A row of x holds the input's projection x W + b_input for the gates z, r, h (Keras's order),
// `units` each; a row of m the previous output's, h_prev U + b_recurrent, in the same order:
//   z = sigmoid(x_z + m_z), r = sigmoid(x_r + m_r), g = act(x_h + r m_h),
//   h = z h_prev + (1 - z) g.
// The matrix products (x W, h_prev U, and back) are the caller's GEMMs.
#pragma once

#include <cstddef>

#include "cell_activations.hpp"

namespace xkeras::backend::gru {

namespace detail {

template <activations::kind A, class T>
void forward_rows(T* x, const T* m, const T* h_prev, T* h, std::size_t r0, std::size_t r1,
                  std::size_t u) {
    using activations::kind;
    for (std::size_t r = r0; r < r1; ++r) {
        T* xz = x + r * 3 * u;
        T *xr = xz + u, *xh = xr + u;
        const T* mz = m + r * 3 * u;
        const T *mr = mz + u, *mh = mr + u;
        const T* hp = h_prev + r * u;
        T* hr = h + r * u;
        XKERAS_INDEPENDENT_ITERATIONS
        for (std::size_t j = 0; j < u; ++j) {
            const T z = cell::apply<kind::sigmoid>(xz[j] + mz[j]);
            const T rg = cell::apply<kind::sigmoid>(xr[j] + mr[j]);
            const T g = cell::apply<A>(xh[j] + rg * mh[j]);
            xz[j] = z;
            xr[j] = rg;
            xh[j] = g;
            hr[j] = z * hp[j] + (T(1) - z) * g;
        }
    }
}

template <activations::kind A, class T>
void backward_rows(const T* a, const T* m, const T* h_prev, T* dh, T* dx, T* dm, std::size_t r0,
                   std::size_t r1, std::size_t u) {
    using activations::kind;
    for (std::size_t r = r0; r < r1; ++r) {
        const T* az = a + r * 3 * u;
        const T *ar = az + u, *ag = ar + u;
        const T* mh = m + r * 3 * u + 2 * u;
        const T* hp = h_prev + r * u;
        T* dhr = dh + r * u;
        T* dxz = dx + r * 3 * u;
        T *dxr = dxz + u, *dxh = dxr + u;
        T* dmz = dm + r * 3 * u;
        T *dmr = dmz + u, *dmh = dmr + u;
        XKERAS_INDEPENDENT_ITERATIONS
        for (std::size_t j = 0; j < u; ++j) {
            const T z = az[j], rg = ar[j], g = ag[j], d = dhr[j];
            const T dpre_h = d * (T(1) - z) * cell::slope<A>(g);  // at x_h + r m_h
            const T dpre_z = d * (hp[j] - g) * cell::slope<kind::sigmoid>(z);
            const T dpre_r = dpre_h * mh[j] * cell::slope<kind::sigmoid>(rg);
            dxz[j] = dpre_z;
            dxr[j] = dpre_r;
            dxh[j] = dpre_h;
            dmz[j] = dpre_z;
            dmr[j] = dpre_r;
            dmh[j] = dpre_h * rg;
            dhr[j] = d * z;  // h_prev's gradient through the update gate's blend
        }
    }
}

}  // namespace detail

/// One step forward for rows [r0, r1): x (rows x 3 units) holds the input's projections and
/// receives the gates' activations z, r and g (kept for the backward step); m (rows x 3 units)
/// is h_prev's projection, h_prev the previous output; h receives the new one.
template <class T>
void step_forward(activations::kind act, T* x, const T* m, const T* h_prev, T* h, std::size_t r0,
                  std::size_t r1, std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        detail::forward_rows<A>(x, m, h_prev, h, r0, r1, units);
    });
}

/// One step backward for rows [r0, r1), from step_forward's a (z, r, g) and m: dh is the
/// gradient of the step's output on entry and, on return, the part of h_prev's that does not
/// pass through m (the caller adds dm U^T); dx and dm receive the gradients of the two
/// projections.
template <class T>
void step_backward(activations::kind act, const T* a, const T* m, const T* h_prev, T* dh, T* dx,
                   T* dm, std::size_t r0, std::size_t r1, std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        detail::backward_rows<A>(a, m, h_prev, dh, dx, dm, r0, r1, units);
    });
}

}  // namespace xkeras::backend::gru
