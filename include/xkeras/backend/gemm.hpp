// xkeras/backend/gemm.hpp - GEMM split over the thread pool.
//
// C (m x n) = alpha op(A) op(B) + beta C, row-major, as backend::gemm, but the rows or the
// columns of C are cut into one block per thread and each block is a single-threaded OpenBLAS
// call. Blocks are multiples of 16 rows / columns.
#pragma once

#include <algorithm>
#include <cstddef>

#include "blas.hpp"
#include "parallel.hpp"

namespace xkeras::backend {

template <class T>
void gemm_parallel(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                   std::size_t ldc) {
    const std::size_t threads = std::size_t(pool_size());
    if (threads == 1 || !worth_sharing<T>(double(m) * double(n) * double(k), m == 1 || n == 1)) {
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    auto blocks = [&](std::size_t extent) {
        std::size_t per = (extent + threads - 1) / threads;
        per = (per + 15) / 16 * 16;
        return std::max<std::size_t>(per, 16);
    };
    // Each block packs its own copy of the operand it shares with the other blocks: split the
    // rows of C when B (k x n) is the smaller one to duplicate, the columns otherwise.
    if (n <= m) {
        const std::size_t per = blocks(m);
        const std::size_t tasks = (m + per - 1) / per;
        parallel_for(tasks, [&](std::size_t t, int) {
            const std::size_t i0 = t * per, rows = std::min(per, m - i0);
            const T* ab = trans_a ? a + i0 : a + i0 * lda;
            gemm(trans_a, trans_b, rows, n, k, alpha, ab, lda, b, ldb, beta, c + i0 * ldc, ldc);
        });
    } else {
        const std::size_t per = blocks(n);
        const std::size_t tasks = (n + per - 1) / per;
        parallel_for(tasks, [&](std::size_t t, int) {
            const std::size_t j0 = t * per, cols = std::min(per, n - j0);
            const T* bb = trans_b ? b + j0 * ldb : b + j0;
            gemm(trans_a, trans_b, m, cols, k, alpha, a, lda, bb, ldb, beta, c + j0, ldc);
        });
    }
}

}  // namespace xkeras::backend
