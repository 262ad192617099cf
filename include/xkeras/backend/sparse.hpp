// xkeras/backend/sparse.hpp - products whose left-hand matrix is mostly zeros.
//
// A Dense layer's input is often mostly zeros: 81% of MNIST's pixels are black, and a ReLU
// zeroes about half of its outputs. A GEMM multiplies by every zero all the same, and at batch 1
// it reads every row of the weights. `sparse_rows` keeps a matrix's nonzero entries row by row
// (compressed sparse rows); `sparse_gemm` multiplies by those entries only and reads only the
// rows of the right-hand matrix they select. The weight gradient X^T D is the same product with
// X transposed (`transpose`), whose rows are then the input features.
//
// Results: every output value is summed by one task, in the order of its entries, so it does not
// depend on the thread count. Against the dense product, the zero terms are left out: the sums
// are the same up to rounding, except that 0 * inf or 0 * NaN in a skipped term is not evaluated
// (a zero input keeps a non-finite weight from reaching the output).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace xkeras::backend {

/// The nonzero entries of a rows x cols matrix, row by row: row r's are entries
/// [start[r], start[r + 1]) of `index` (their columns, ascending) and `value`.
template <class T>
struct sparse_rows {
    std::size_t rows = 0, cols = 0;
    std::vector<std::size_t> start;
    std::vector<std::uint32_t> index;
    std::vector<T> value;

    std::size_t nonzeros() const { return rows == 0 ? 0 : start[rows]; }
    /// Nonzero entries per entry of the matrix, in [0, 1].
    double density() const {
        return rows * cols == 0 ? 0.0 : double(nonzeros()) / double(rows * cols);
    }
};

/// Compresses the row-major rows x cols matrix a (row stride lda) into s, reusing s's storage.
/// Stops early, returning false with s unusable, once more than `max_nonzeros` entries are
/// nonzero (a caller that would not use a denser matrix then spends only part of the pass).
template <class T>
bool compress_rows(const T* a, std::size_t rows, std::size_t cols, std::size_t lda,
                   sparse_rows<T>& s, std::size_t max_nonzeros = std::size_t(-1)) {
    s.rows = rows;
    s.cols = cols;
    s.start.resize(rows + 1);
    // room for the most entries kept (the limit is checked after each row), sized once: no
    // check per entry below
    const std::size_t room =
        std::min(rows * cols, max_nonzeros == std::size_t(-1) ? rows * cols : max_nonzeros + cols);
    if (s.index.size() < room) {
        s.index.resize(room);
        s.value.resize(room);
    }
    std::uint32_t* idx = s.index.data();
    T* val = s.value.data();
    std::size_t nz = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        s.start[r] = nz;
        const T* ar = a + r * lda;
        for (std::size_t c = 0; c < cols; ++c) {
            // branch-free: always written, kept by advancing nz
            idx[nz] = std::uint32_t(c);
            val[nz] = ar[c];
            nz += ar[c] != T(0);
        }
        if (nz > max_nonzeros) return false;
    }
    s.start[rows] = nz;
    return true;
}

/// t = the transpose of s (cols x rows), reusing t's storage.
template <class T>
void transpose(const sparse_rows<T>& s, sparse_rows<T>& t) {
    const std::size_t nz = s.nonzeros();
    t.rows = s.cols;
    t.cols = s.rows;
    t.start.assign(s.cols + 1, 0);
    if (t.index.size() < nz) {
        t.index.resize(nz);
        t.value.resize(nz);
    }
    for (std::size_t e = 0; e < nz; ++e) ++t.start[s.index[e] + 1];
    for (std::size_t c = 0; c < s.cols; ++c) t.start[c + 1] += t.start[c];
    // start[c] serves as column c's write position, ending at column c + 1's start; shifted back
    // by one column afterwards
    for (std::size_t r = 0; r < s.rows; ++r)
        for (std::size_t e = s.start[r]; e < s.start[r + 1]; ++e) {
            const std::size_t at = t.start[s.index[e]]++;
            t.index[at] = std::uint32_t(r);
            t.value[at] = s.value[e];
        }
    for (std::size_t c = s.cols; c > 0; --c) t.start[c] = t.start[c - 1];
    t.start[0] = 0;
}

namespace detail {

/// c[0, NV * S::lanes) = (accumulate ? c : 0) + sum over the entries e of val[e] * b[idx[e]][...]
/// (b already points at the block's first column).
template <std::size_t NV, class S, class T>
inline void sparse_row_block(const std::uint32_t* idx, const T* val, std::size_t nnz, const T* b,
                             std::size_t ldb, T* c, bool accumulate) {
    using vec = typename S::vec;
    vec acc[NV];
#pragma GCC unroll 16
    for (std::size_t v = 0; v < NV; ++v) {
        acc[v] = vec{};
        if (accumulate) S::load(acc[v], c + v * S::lanes);
    }
    for (std::size_t e = 0; e < nnz; ++e) {
        const T* br = b + std::size_t(idx[e]) * ldb;
        const T x = val[e];
#pragma GCC unroll 16
        for (std::size_t v = 0; v < NV; ++v) {
            vec w;
            S::load(w, br + v * S::lanes);
            acc[v] += x * w;
        }
    }
#pragma GCC unroll 16
    for (std::size_t v = 0; v < NV; ++v) S::store(c + v * S::lanes, acc[v]);
}

/// Rows [r0, r1) of C, columns [j0, j1): blocks of 8 wide vectors, then 4, then one, then one
/// column at a time. Block by block, rows inner, so that a block's columns of B stay in cache.
template <class T>
void sparse_gemm_part(const sparse_rows<T>& a, const T* b, std::size_t ldb, T* c, std::size_t ldc,
                      bool accumulate, std::size_t r0, std::size_t r1, std::size_t j0,
                      std::size_t j1) {
    using W = wide<T>;
    constexpr std::size_t L = W::lanes, block = 8 * L;
    const std::uint32_t* idx = a.index.data();
    const T* val = a.value.data();
    std::size_t j = j0;
    for (; j + block <= j1; j += block)
        for (std::size_t r = r0; r < r1; ++r)
            sparse_row_block<8, W>(idx + a.start[r], val + a.start[r], a.start[r + 1] - a.start[r],
                                   b + j, ldb, c + r * ldc + j, accumulate);
    for (; j + 4 * L <= j1; j += 4 * L)
        for (std::size_t r = r0; r < r1; ++r)
            sparse_row_block<4, W>(idx + a.start[r], val + a.start[r], a.start[r + 1] - a.start[r],
                                   b + j, ldb, c + r * ldc + j, accumulate);
    for (; j + L <= j1; j += L)
        for (std::size_t r = r0; r < r1; ++r)
            sparse_row_block<1, W>(idx + a.start[r], val + a.start[r], a.start[r + 1] - a.start[r],
                                   b + j, ldb, c + r * ldc + j, accumulate);
    for (; j < j1; ++j)
        for (std::size_t r = r0; r < r1; ++r) {
            T s = accumulate ? c[r * ldc + j] : T(0);
            for (std::size_t e = a.start[r]; e < a.start[r + 1]; ++e)
                s += val[e] * b[std::size_t(idx[e]) * ldb + j];
            c[r * ldc + j] = s;
        }
}

}  // namespace detail

/// C (a.rows x n, row stride ldc) = A B, plus C's own values when `accumulate`; B is a dense
/// a.cols x n matrix (row stride ldb). Spread over the thread pool: by rows of C when there are
/// enough of them, else by blocks of columns (batch-1 inference), once the rows of B it reads
/// outgrow a core's L2 share (the rule of gemm_parallel's GEMV).
template <class T>
void sparse_gemm(const sparse_rows<T>& a, const T* b, std::size_t ldb, std::size_t n, T* c,
                 std::size_t ldc, bool accumulate) {
    const std::size_t threads = std::size_t(pool_size());
    const double bytes = double(a.nonzeros()) * double(n) * double(sizeof(T));
    if (threads == 1 || bytes < double(1 << 18) || a.rows == 0) {
        detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, 0, a.rows, 0, n);
        return;
    }
    if (a.rows >= 4 * threads) {
        // contiguous row ranges of about equal nonzero counts (plus a row's own cost)
        std::vector<std::size_t> cut(threads + 1, a.rows);
        cut[0] = 0;
        const double per = double(a.nonzeros() + a.rows) / double(threads);
        for (std::size_t r = 0, t = 1; r < a.rows && t < threads; ++r)
            if (double(a.start[r + 1] + r + 1) >= per * double(t)) cut[t++] = r + 1;
        parallel_for(threads, [&](std::size_t t, int) {
            detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, cut[t], cut[t + 1], 0, n);
        });
        return;
    }
    constexpr std::size_t L = wide<T>::lanes;
    const std::size_t vectors = (n + L - 1) / L;
    const std::size_t per = (vectors + threads - 1) / threads * L;
    parallel_for((n + per - 1) / per, [&](std::size_t t, int) {
        detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, 0, a.rows, t * per,
                                 std::min(n, (t + 1) * per));
    });
}

}  // namespace xkeras::backend
