// xkeras/backend/lstm_cell.hpp - the elementwise part of an LSTM time step, forward and
// backward, over a block of rows (one row per sample): the gates from their pre-activations,
// the cell and hidden states, and their gradients back to the pre-activations.
//
// A row of z holds the gates' pre-activations in Keras's order i, f, c, o, `units` each:
//   i = sigmoid(z_i), f = sigmoid(z_f), g = act(z_c), o = sigmoid(z_o),
//   c = f c_prev + i g,  h = o act(c).
// The matrix products around a step (the input projection, h_prev U) are the caller's GEMMs.
#pragma once

#include <cstddef>

#include "cell_activations.hpp"

namespace xkeras::backend::lstm {

namespace detail {

template <activations::kind A, class T>
void forward_rows(T* z, const T* c_prev, T* c, T* tc, T* h, std::size_t r0, std::size_t r1,
                  std::size_t u) {
    using activations::kind;
    for (std::size_t r = r0; r < r1; ++r) {
        T* zi = z + r * 4 * u;
        T *zf = zi + u, *zg = zf + u, *zo = zg + u;
        const T* cp = c_prev + r * u;
        T *cr = c + r * u, *tr = tc + r * u, *hr = h + r * u;
        XKERAS_INDEPENDENT_ITERATIONS
        for (std::size_t j = 0; j < u; ++j) {
            const T i = cell::apply<kind::sigmoid>(zi[j]), f = cell::apply<kind::sigmoid>(zf[j]);
            const T g = cell::apply<A>(zg[j]), o = cell::apply<kind::sigmoid>(zo[j]);
            zi[j] = i;
            zf[j] = f;
            zg[j] = g;
            zo[j] = o;
            const T cv = f * cp[j] + i * g;
            const T t = cell::apply<A>(cv);
            cr[j] = cv;
            tr[j] = t;
            hr[j] = o * t;
        }
    }
}

template <activations::kind A, class T>
void backward_rows(const T* a, const T* c_prev, const T* tc, const T* dh, T* dc, T* dz,
                   std::size_t r0, std::size_t r1, std::size_t u) {
    using activations::kind;
    for (std::size_t r = r0; r < r1; ++r) {
        const T* ai = a + r * 4 * u;
        const T *af = ai + u, *ag = af + u, *ao = ag + u;
        T* di = dz + r * 4 * u;
        T *df = di + u, *dg = df + u, *dout = dg + u;
        const T *cp = c_prev + r * u, *tr = tc + r * u, *dhr = dh + r * u;
        T* dcr = dc + r * u;
        XKERAS_INDEPENDENT_ITERATIONS
        for (std::size_t j = 0; j < u; ++j) {
            const T i = ai[j], f = af[j], g = ag[j], o = ao[j], t = tr[j], d = dhr[j];
            const T dct = dcr[j] + d * o * cell::slope<A>(t);
            di[j] = dct * g * cell::slope<kind::sigmoid>(i);
            df[j] = dct * cp[j] * cell::slope<kind::sigmoid>(f);
            dg[j] = dct * i * cell::slope<A>(g);
            dout[j] = d * t * cell::slope<kind::sigmoid>(o);
            dcr[j] = dct * f;
        }
    }
}

}  // namespace detail

/// One step forward for rows [r0, r1): z (rows x 4 units) holds the gates' pre-activations and
/// receives their activations (kept for the backward step); c_prev (rows x units) is the cell
/// state before; c, act(c) and h receive the new cell state, its activation and the output.
template <class T>
void step_forward(activations::kind act, T* z, const T* c_prev, T* c, T* tc, T* h, std::size_t r0,
                  std::size_t r1, std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        detail::forward_rows<A>(z, c_prev, c, tc, h, r0, r1, units);
    });
}

/// One step backward for rows [r0, r1), from step_forward's a (activated gates), c_prev and
/// act(c): dh is the gradient of the step's output h, dc that of its cell state c on entry and
/// that of c_prev on return; dz receives the gradient of the pre-activations.
template <class T>
void step_backward(activations::kind act, const T* a, const T* c_prev, const T* tc, const T* dh,
                   T* dc, T* dz, std::size_t r0, std::size_t r1, std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        detail::backward_rows<A>(a, c_prev, tc, dh, dc, dz, r0, r1, units);
    });
}

}  // namespace xkeras::backend::lstm
