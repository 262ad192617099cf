// xkeras/backend/simple_rnn_cell.hpp - the elementwise part of a SimpleRNN time step, forward
// and backward, over a block of rows (one row per sample):
//   h = act(x W + b + h_prev U).
// The matrix products (x W, h_prev U, and back) are the caller's GEMMs.
#pragma once

#include <cstddef>

#include "cell_activations.hpp"

namespace xkeras::backend::simple_rnn {

/// One step forward for rows [r0, r1): h = act(z), z and h rows of `units` values.
template <class T>
void step_forward(activations::kind act, const T* z, T* h, std::size_t r0, std::size_t r1,
                  std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        for (std::size_t k = r0 * units; k < r1 * units; ++k) h[k] = cell::apply<A>(z[k]);
    });
}

/// One step backward for rows [r0, r1): dz = dh act'(z), from the step's output h.
template <class T>
void step_backward(activations::kind act, const T* h, const T* dh, T* dz, std::size_t r0,
                   std::size_t r1, std::size_t units) {
    cell::with_activation(act, [&]<activations::kind A>() {
        for (std::size_t k = r0 * units; k < r1 * units; ++k) dz[k] = dh[k] * cell::slope<A>(h[k]);
    });
}

}  // namespace xkeras::backend::simple_rnn
