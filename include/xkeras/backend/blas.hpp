// xkeras/backend/blas.hpp - the only header that includes CBLAS (OpenBLAS).
//
// Row-major GEMM for float and double: C = alpha * op(A) * op(B) + beta * C.
#pragma once

#include <cblas.h>

#include <concepts>
#include <cstddef>

namespace xkeras::backend {

namespace detail {

inline void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
                       const double* a, int lda, const double* b, int ldb, double beta, double* c,
                       int ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void cblas_gemv(CBLAS_TRANSPOSE t, int rows, int cols, float alpha, const float* a, int lda,
                       const float* x, int incx, float beta, float* y, int incy) {
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
}
inline void cblas_gemv(CBLAS_TRANSPOSE t, int rows, int cols, double alpha, const double* a,
                       int lda, const double* x, int incx, double beta, double* y, int incy) {
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
}

/// Sets OpenBLAS to one thread at xkeras's first BLAS call, as the thread pool does when it starts:
/// xkeras runs its parallel work on its own pool, and OpenBLAS's threads would compete with it
/// (a direct backend::gemm call before the pool existed ran on them; ThreadSanitizer, which does
/// not see OpenBLAS's own synchronisation, reported their writes as races).
inline void single_threaded_blas() {
    static const bool once = [] {
        openblas_set_num_threads(1);
        return true;
    }();
    (void)once;
}

}  // namespace detail

/// Row-major GEMM: C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C.
/// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored. A product with a single row
/// or column of C (batch-1 inference, say) goes to GEMV: OpenBLAS's GEMM packs both operands
/// even then, which costs more than the product (docs/performance.md).
template <class T>
requires std::same_as<T, float> || std::same_as<T, double>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    detail::single_threaded_blas();
    const auto I = [](std::size_t v) { return static_cast<int>(v); };
    if ((m == 1 || n == 1) && k > 0) {
        // GEMV's beta = 0 must not read C (it may hold NaN): clear it first.
        if (beta == T(0)) {
            if (m == 1)
                for (std::size_t j = 0; j < n; ++j) c[j] = T(0);
            else
                for (std::size_t i = 0; i < m; ++i) c[i * ldc] = T(0);
        }
        if (m == 1) {  // c (1 x n) = alpha op(B)^T a
            const std::size_t inc_a = trans_a ? lda : 1;
            if (trans_b)  // B stored n x k
                detail::cblas_gemv(CblasNoTrans, I(n), I(k), alpha, b, I(ldb), a, I(inc_a), beta, c,
                                   1);
            else  // B stored k x n
                detail::cblas_gemv(CblasTrans, I(k), I(n), alpha, b, I(ldb), a, I(inc_a), beta, c,
                                   1);
        } else {  // c (m x 1, stride ldc) = alpha op(A) b
            const std::size_t inc_b = trans_b ? 1 : ldb;
            if (trans_a)  // A stored k x m
                detail::cblas_gemv(CblasTrans, I(k), I(m), alpha, a, I(lda), b, I(inc_b), beta, c,
                                   I(ldc));
            else  // A stored m x k
                detail::cblas_gemv(CblasNoTrans, I(m), I(k), alpha, a, I(lda), b, I(inc_b), beta, c,
                                   I(ldc));
        }
        return;
    }
    detail::cblas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                       I(m), I(n), I(k), alpha, a, I(lda), b, I(ldb), beta, c, I(ldc));
}

/// Sets the number of threads OpenBLAS uses.
inline void blas_set_num_threads(int n) {
    openblas_set_num_threads(n);
}

/// The name of the OpenBLAS kernel set in use (e.g. "Haswell", "SkylakeX").
inline const char* blas_core_name() {
    return openblas_get_corename();
}

}  // namespace xkeras::backend
