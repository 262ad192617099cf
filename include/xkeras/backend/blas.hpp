// xkeras/backend/blas.hpp - the only header that includes CBLAS (OpenBLAS).
//
// Row-major GEMM for float and double: C = alpha * op(A) * op(B) + beta * C.
#pragma once

#include <cblas.h>

#include <cstddef>

namespace xkeras::backend {

/// Row-major GEMM: C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C.
/// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                 double beta, double* c, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
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
