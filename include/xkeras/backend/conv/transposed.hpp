// xkeras/backend/conv/transposed.hpp - a transposed convolution's forward pass: the adjoint of
// a convolution's forward pass, which is that convolution's input gradient.
//
// Conv2DTranspose (layers/conv2d_transpose.hpp) describes itself by the convolution it is the
// transpose of: geometry from its output to its input, kernel (k_h, k_w, its filters, its input
// channels), Keras's layout for both. Its forward pass is this file's; its backward pass is that
// convolution's forward pass (the input gradient) and weight-gradient pass, by their routes.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../parallel.hpp"
#include "backward.hpp"
#include "workspace.hpp"

namespace xkeras::backend::conv {

/// The transpose of c's forward pass: y (n images of c.g's input shape) from x (n images of
/// c.g's output shape, c.filters channels): col2im(x . W^T), a few images per task.
template <class T>
void transposed(const conv2d<T>& c, workspace<T>& ws, const T* x, std::size_t n, T* y) {
    const window2d& g = c.g;
    const std::size_t per = c.images_per_task(), tasks = (n + per - 1) / per;
    if (!pointwise(g)) workspace<T>::grow(ws.dcols, per * c.pixels() * c.patch());
    parallel_for(tasks, [&](std::size_t t, int th) {
        const std::size_t n0 = t * per, cnt = std::min(per, n - n0);
        detail::gemm_input_gradient(c, x + n0 * c.pixels() * c.filters, cnt,
                                    pointwise(g) ? nullptr : ws.dcols[std::size_t(th)].data(),
                                    y + n0 * g.in_size());
    });
}

}  // namespace xkeras::backend::conv
