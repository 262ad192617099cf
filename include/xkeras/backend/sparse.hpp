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
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "dispatch.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace xkeras::backend {

/// Whether compress_rows packs 16 values at a time (float at the AVX-512 level), else one at a
/// time.
template <class T>
bool fast_compress() {
    return std::is_same_v<T, float> && active_isa() == isa::avx512;
}

/// The largest share of nonzero entries in a rows x k left-hand matrix at which its product with
/// a (k, units) matrix pays by the sparse route (compress_rows, then sparse_gemm), 0 for never.
/// In units of a GEMM's multiply-add, compressing costs about 9.5 per value where it packs 16 at
/// a time (fast_compress) and the sparse product 2 per multiply-add it does; so with d the share
/// of nonzero entries the sparse route pays when 9.5 + 2 d units < units, i.e.
/// d < 1/2 - 5 / units. Elsewhere compressing costs about 30 and the product 3: d < 1/3 - 10 /
/// units. At one row both products are bound by reading the right-hand matrix, of which the
/// sparse one reads only the rows of nonzero entries: it pays up to 85% where the units fill
/// whole vectors, never with a partial one (a column at a time). The constants come from
/// `bench_kernels --benchmark_filter='dense_sparse|dense_batch1'` (docs/performance.md).
template <class T>
double max_sparse_density(std::size_t rows, std::size_t units) {
    const double u = double(std::max<std::size_t>(units, 1));
    if (rows == 1) return units % (active_wide_bytes() / sizeof(T)) == 0 ? 0.85 : 0.0;
    return fast_compress<T>() ? 0.5 - 5.0 / u : 1.0 / 3.0 - 10.0 / u;
}

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

namespace detail {

#if defined(__x86_64__)
/// compress_row's first `whole` (a multiple of 16) floats, 16 at a time: the nonzero lanes'
/// values and columns packed to the front of a register (vcompressps to a register: its form that
/// stores to memory is microcoded on AMD's cores, many times slower) and stored under a mask of
/// as many lanes. Runs at the AVX-512 level only.
[[gnu::target("avx,avx2,fma,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl")]] inline std::size_t
compress_row_avx512(const float* a, std::size_t whole, std::uint32_t* idx, float* val,
                    std::size_t nz) {
    __m512i column = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (std::size_t c = 0; c < whole; c += 16) {
        const __m512 v = _mm512_loadu_ps(a + c);
        // != 0, NaN included (unordered)
        const __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        const auto kept = unsigned(__builtin_popcount(unsigned(keep)));
        const auto first = __mmask16((1u << kept) - 1u);
        _mm512_mask_storeu_ps(val + nz, first, _mm512_maskz_compress_ps(keep, v));
        _mm512_mask_storeu_epi32(idx + nz, first, _mm512_maskz_compress_epi32(keep, column));
        column = _mm512_add_epi32(column, _mm512_set1_epi32(16));
        nz += kept;
    }
    return nz;
}

/// count_nonzeros's first `whole` (a multiple of 16) floats, at the AVX-512 level.
[[gnu::target("avx,avx2,fma,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl")]] inline std::size_t
count_nonzeros_avx512(const float* a, std::size_t whole) {
    std::size_t n = 0;
    for (std::size_t c = 0; c < whole; c += 16)
        n += std::size_t(__builtin_popcount(unsigned(
            _mm512_cmp_ps_mask(_mm512_loadu_ps(a + c), _mm512_setzero_ps(), _CMP_NEQ_UQ))));
    return n;
}
#endif

/// Appends the nonzero entries of the row a[0, cols) at idx/val + nz and returns the new count.
/// Branch-free: every value is written, and kept by advancing the count, so one entry past the
/// new count may be written; with `exact`, none is.
template <class T>
std::size_t compress_row(const T* a, std::size_t cols, std::uint32_t* idx, T* val, std::size_t nz,
                         bool exact = false) {
    std::size_t c = 0;
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float>) {
        if (fast_compress<T>()) {
            c = cols / 16 * 16;
            nz = compress_row_avx512(a, c, idx, val, nz);
        }
    }
#endif
    for (; c < cols; ++c) {
        if (exact && a[c] == T(0)) continue;
        idx[nz] = std::uint32_t(c);
        val[nz] = a[c];
        nz += a[c] != T(0);
    }
    return nz;
}

/// The number of nonzero entries (NaN included) of the row a[0, cols).
template <class T>
std::size_t count_nonzeros(const T* a, std::size_t cols) {
    std::size_t n = 0, c = 0;
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float>) {
        if (fast_compress<T>()) {
            c = cols / 16 * 16;
            n = count_nonzeros_avx512(a, c);
        }
    }
#endif
    for (; c < cols; ++c) n += a[c] != T(0);
    return n;
}

/// Cuts rows [0, rows) into `parts` contiguous ranges of about equal work, a row's work being
/// its entries plus one (start: the rows' first entries, as in sparse_rows). The products and
/// the compression cut alike, so that a thread works on the rows it compressed.
inline std::vector<std::size_t> row_cuts(const std::vector<std::size_t>& start, std::size_t rows,
                                         std::size_t parts) {
    std::vector<std::size_t> cut(parts + 1, rows);
    cut[0] = 0;
    const double per = double(start[rows] + rows) / double(parts);
    for (std::size_t r = 0, t = 1; r < rows && t < parts; ++r)
        if (double(start[r + 1] + r + 1) >= per * double(t)) cut[t++] = r + 1;
    return cut;
}

}  // namespace detail

/// Compresses the row-major rows x cols matrix a (row stride lda) into s, reusing s's storage.
/// Stops early, returning false with s unusable, once more than `max_nonzeros` entries are
/// nonzero (a caller that would not use a denser matrix then spends only part of the pass).
template <class T>
bool compress_rows(const T* a, std::size_t rows, std::size_t cols, std::size_t lda,
                   sparse_rows<T>& s, std::size_t max_nonzeros = std::size_t(-1)) {
    s.rows = rows;
    s.cols = cols;
    s.start.resize(rows + 1);
    const std::size_t threads = std::size_t(pool_size());
    if (threads > 1 && rows >= 4 * threads && rows * cols >= (std::size_t(1) << 16)) {
        // two passes spread over the threads: count each row's entries (a quarter of the cost
        // of compressing), then compress each row to its place, every thread the rows that it
        // will also multiply (sparse_gemm cuts the same way), so that they stay in its cache
        std::vector<std::size_t> cut(threads + 1);
        for (std::size_t t = 0; t <= threads; ++t) cut[t] = rows * t / threads;
        parallel_for(threads, [&](std::size_t t, int) {
            for (std::size_t r = cut[t]; r < cut[t + 1]; ++r)
                s.start[r + 1] = detail::count_nonzeros(a + r * lda, cols);
        });
        s.start[0] = 0;
        for (std::size_t r = 0; r < rows; ++r) s.start[r + 1] += s.start[r];
        if (s.start[rows] > max_nonzeros) return false;
        // one more: a row that is not its thread's last may write one entry past its own
        // (compress_row), at the next row's first position, which is the end when every row
        // after it is empty (each thread's last row is compressed exactly)
        if (s.index.size() < s.start[rows] + 1) {
            s.index.resize(s.start[rows] + 1);
            s.value.resize(s.start[rows] + 1);
        }
        cut = detail::row_cuts(s.start, rows, threads);
        parallel_for(threads, [&](std::size_t t, int) {
            for (std::size_t r = cut[t]; r < cut[t + 1]; ++r)
                detail::compress_row(a + r * lda, cols, s.index.data(), s.value.data(), s.start[r],
                                     r + 1 == cut[t + 1]);  // the next row may be another's
        });
        return true;
    }
    // room for the most entries kept, sized once: no check per entry below. The limit is checked
    // after each row, so a row starts at most at max_nonzeros; compress_row's one write past its
    // count only happens for a zero, whose column is still inside the row's room.
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
        nz = detail::compress_row(a + r * lda, cols, idx, val, nz);
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
/// With the vector set V.
template <class V, class T>
void sparse_gemm_part_at(const sparse_rows<T>& a, const T* b, std::size_t ldb, T* c,
                         std::size_t ldc, bool accumulate, std::size_t r0, std::size_t r1,
                         std::size_t j0, std::size_t j1) {
    using W = typename V::template wide<T>;
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

/// sparse_gemm_part_at at the instruction-set level in force (backend/dispatch.hpp).
template <class T>
void sparse_gemm_part(const sparse_rows<T>& a, const T* b, std::size_t ldb, T* c, std::size_t ldc,
                      bool accumulate, std::size_t r0, std::size_t r1, std::size_t j0,
                      std::size_t j1) {
    backend::dispatch(
        [&]<class V> { sparse_gemm_part_at<V>(a, b, ldb, c, ldc, accumulate, r0, r1, j0, j1); });
}

}  // namespace detail

/// C (a.rows x n, row stride ldc) = A B, plus C's own values when `accumulate`; B is a dense
/// a.cols x n matrix (row stride ldb). Spread over the thread pool, when worth_sharing says so,
/// by rows of C where there are enough of them (a matrix product), else by blocks of columns
/// (batch-1 inference, a matrix-vector product).
template <class T>
void sparse_gemm(const sparse_rows<T>& a, const T* b, std::size_t ldb, std::size_t n, T* c,
                 std::size_t ldc, bool accumulate) {
    const std::size_t threads = std::size_t(pool_size());
    const bool by_rows = a.rows >= 4 * threads;
    if (threads == 1 || a.rows == 0 ||
        !worth_sharing<T>(double(a.nonzeros()) * double(n), !by_rows)) {
        detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, 0, a.rows, 0, n);
        return;
    }
    if (by_rows) {
        const std::vector<std::size_t> cut = detail::row_cuts(a.start, a.rows, threads);
        parallel_for(threads, [&](std::size_t t, int) {
            detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, cut[t], cut[t + 1], 0, n);
        });
        return;
    }
    const std::size_t L = active_wide_bytes() / sizeof(T);
    const std::size_t vectors = (n + L - 1) / L;
    const std::size_t per = (vectors + threads - 1) / threads * L;
    parallel_for((n + per - 1) / per, [&](std::size_t t, int) {
        detail::sparse_gemm_part(a, b, ldb, c, ldc, accumulate, 0, a.rows, t * per,
                                 std::min(n, (t + 1) * per));
    });
}

}  // namespace xkeras::backend
