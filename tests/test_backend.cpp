// The BLAS backend: gemm (including its GEMV route for one-row / one-column products),
// gemm_parallel and the sparse products (sparse.hpp), against a naive triple loop, in float and
// double, on 1 and 2 threads; the sparse kernels at every instruction-set level the CPU runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include <xkeras/backend/gemm.hpp>
#include <xkeras/backend/parallel.hpp>
#include <xkeras/backend/sparse.hpp>
#include <xkeras/backend/threading.hpp>

#include "isa_level.hpp"

namespace {

template <class T>
std::vector<T> filled(std::size_t n, T scale) {
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = scale * T(int((i * 7919) % 23) - 11) / T(11);
    return v;
}

/// C = alpha op(A) op(B) + beta C with plain loops; op(A) is m x k, op(B) is k x n.
template <class T>
void naive(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
           const std::vector<T>& a, std::size_t lda, const std::vector<T>& b, std::size_t ldb,
           T beta, std::vector<T>& c, std::size_t ldc) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0;
            for (std::size_t p = 0; p < k; ++p)
                s += double(ta ? a[p * lda + i] : a[i * lda + p]) *
                     double(tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = T(alpha * s + (beta == T(0) ? 0.0 : double(beta) * c[i * ldc + j]));
        }
}

template <class T, class Gemm>
void check_shapes(Gemm&& gemm_fn) {
    const std::size_t shapes[][3] = {{1, 37, 19},  {1, 512, 784},  {23, 1, 17},
                                     {300, 1, 64}, {5, 7, 3},      {64, 48, 40},
                                     {1, 1, 9},    {200, 300, 50}, {1, 5000, 70}};
    for (const auto& s : shapes)
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (T beta : {T(0), T(1), T(-0.5)}) {
                    const std::size_t m = s[0], n = s[1], k = s[2];
                    const std::size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
                    auto a = filled<T>((ta ? k : m) * lda, T(1));
                    auto b = filled<T>((tb ? n : k) * ldb, T(0.5));
                    auto c = filled<T>(m * ldc, T(2));
                    if (beta == T(0))  // beta = 0 must ignore what C held, NaN included
                        for (auto& v : c) v = std::numeric_limits<T>::quiet_NaN();
                    auto expect = c;
                    naive<T>(ta, tb, m, n, k, T(0.75), a, lda, b, ldb, beta, expect, ldc);
                    gemm_fn(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, beta, c.data(),
                            ldc);
                    INFO("m " << m << " n " << n << " k " << k << " trans_a " << ta << " trans_b "
                              << tb << " beta " << beta);
                    double worst = 0.0;  // relative error; NaN (C read under beta 0) stays NaN
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < n; ++j) {
                            const double want = expect[i * ldc + j], got = c[i * ldc + j];
                            const double e = std::abs(got - want) / (1.0 + std::abs(want));
                            worst = std::isnan(e) ? e : std::max(worst, e);
                        }
                    REQUIRE(worst <= 1e-4);
                }
}

}  // namespace

TEST_CASE("gemm matches a naive product, GEMV route included", "[backend]") {
    check_shapes<float>([](auto... args) { xkeras::backend::gemm(args...); });
    check_shapes<double>([](auto... args) { xkeras::backend::gemm(args...); });
}

TEST_CASE("gemm_parallel matches a naive product on 1 and 2 threads", "[backend]") {
    const int before = xkeras::get_num_threads();
    for (int threads : {1, 2}) {
        xkeras::set_num_threads(threads);
        check_shapes<float>([](auto... args) { xkeras::backend::gemm_parallel(args...); });
    }
    xkeras::set_num_threads(before);
}

TEST_CASE("gemm with an empty inner dimension scales C by beta", "[backend]") {
    std::vector<float> a(1), b(4), c{1, 2, 3, 4};
    xkeras::backend::gemm(false, false, std::size_t(1), std::size_t(4), std::size_t(0), 1.f,
                          a.data(), std::size_t(1), b.data(), std::size_t(4), 0.5f, c.data(),
                          std::size_t(4));
    CHECK(c == std::vector<float>{0.5f, 1.f, 1.5f, 2.f});
}

TEST_CASE("parallel_for runs every task once and rethrows a task's exception", "[backend]") {
    const int before = xkeras::get_num_threads();
    xkeras::set_num_threads(2);
    // Catch2's assertions are not thread-safe: tasks only record, the test checks afterwards
    std::atomic<int> bad_thread{0}, bad_nested{0};
    for (int round = 0; round < 200; ++round) {  // many short regions back to back
        std::vector<std::atomic<int>> hits(97);
        xkeras::backend::parallel_for(hits.size(), [&](std::size_t t, int thread) {
            if (thread != 0 && thread != 1) bad_thread.fetch_add(1);
            hits[t].fetch_add(1);
            // a nested region runs serially on the calling thread
            xkeras::backend::parallel_for(3, [&](std::size_t, int inner) {
                if (inner != 0) bad_nested.fetch_add(1);
            });
        });
        for (const auto& h : hits) REQUIRE(h.load() == 1);
    }
    CHECK(bad_thread.load() == 0);
    CHECK(bad_nested.load() == 0);
    CHECK_THROWS_WITH(
        xkeras::backend::parallel_for(50,
                                      [](std::size_t t, int) {
                                          if (t == 17) throw std::runtime_error("task 17 failed");
                                      }),
        "task 17 failed");
    std::atomic<int> after{0};  // the pool is usable again
    xkeras::backend::parallel_for(10, [&](std::size_t, int) { after.fetch_add(1); });
    CHECK(after.load() == 10);
    xkeras::set_num_threads(before);
}

namespace {

/// A rows x cols matrix (row stride ld) of which about `zeros` are 0, whole rows included.
template <class T>
std::vector<T> mostly_zero(std::size_t rows, std::size_t cols, std::size_t ld, double zeros,
                           std::uint64_t seed) {
    std::vector<T> a(rows * ld, T(9));  // padding past cols must not be read
    std::uint64_t z = seed;
    auto next = [&] {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        return double(z >> 11) / double(1ull << 53);
    };
    for (std::size_t r = 0; r < rows; ++r) {
        const bool empty = r % 5 == 3;
        for (std::size_t c = 0; c < cols; ++c)
            a[r * ld + c] = empty || next() < zeros ? T(0) : T(next() * 2.0 - 1.0);
    }
    return a;
}

/// The largest |got - want| / (1 + |want|) over a rows x n matrix of row stride ld.
template <class T>
double worst_error(const std::vector<T>& got, const std::vector<T>& want, std::size_t rows,
                   std::size_t n, std::size_t ld) {
    double worst = 0.0;
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const double w = want[i * ld + j], g = got[i * ld + j];
            worst = std::max(worst, std::abs(g - w) / (1 + std::abs(w)));
        }
    return worst;
}

template <class T>
void check_sparse_products() {
    const std::size_t rows_list[] = {1, 3, 37, 130}, cols_list[] = {1, 9, 300};
    const std::size_t n_list[] = {1, 5, 8, 16, 17, 130, 512};
    for (std::size_t rows : rows_list)
        for (std::size_t cols : cols_list)
            for (std::size_t n : n_list)
                for (double zeros : {0.0, 0.8})
                    for (bool accumulate : {false, true}) {
                        const std::size_t lda = cols + 2, ldb = n + 3, ldc = n + 1;
                        auto a = mostly_zero<T>(rows, cols, lda, zeros, rows * 131 + cols + n);
                        auto b = filled<T>(cols * ldb, T(0.5));
                        auto c = filled<T>(rows * ldc, T(2));
                        const auto before = c;
                        auto expect = c;
                        naive<T>(false, false, rows, n, cols, T(1), a, lda, b, ldb,
                                 accumulate ? T(1) : T(0), expect, ldc);
                        xkeras::backend::sparse_rows<T> s;
                        REQUIRE(xkeras::backend::compress_rows(a.data(), rows, cols, lda, s));
                        xkeras::backend::sparse_gemm(s, b.data(), ldb, n, c.data(), ldc,
                                                     accumulate);
                        INFO("rows " << rows << " cols " << cols << " n " << n << " zeros " << zeros
                                     << " accumulate " << accumulate);
                        REQUIRE(worst_error(c, expect, rows, n, ldc) <= 1e-5);
                        // past the n columns, C is left alone
                        for (std::size_t i = 0; i < rows; ++i)
                            REQUIRE(c[i * ldc + n] == before[i * ldc + n]);

                        // the weight gradient's product: A^T D through the transpose
                        xkeras::backend::sparse_rows<T> t;
                        xkeras::backend::transpose(s, t);
                        REQUIRE(t.rows == cols);
                        REQUIRE(t.nonzeros() == s.nonzeros());
                        auto d = filled<T>(rows * ldb, T(0.25));
                        std::vector<T> g(cols * ldc, T(7)), want_g(cols * ldc, T(7));
                        naive<T>(true, false, cols, n, rows, T(1), a, lda, d, ldb, T(0), want_g,
                                 ldc);
                        xkeras::backend::sparse_gemm(t, d.data(), ldb, n, g.data(), ldc, false);
                        REQUIRE(worst_error(g, want_g, cols, n, ldc) <= 1e-5);
                    }
}

}  // namespace

TEST_CASE("sparse_gemm and the transposed product match a naive product on 1 and 2 threads",
          "[backend][sparse]") {
    const auto level = GENERATE(from_range(testing::available_isas()));
    INFO("instruction-set level " << xkeras::backend::name(level));
    testing::scoped_isa at(level);
    const int before = xkeras::get_num_threads();
    for (int threads : {1, 2}) {
        xkeras::set_num_threads(threads);
        check_sparse_products<float>();
        check_sparse_products<double>();
    }
    xkeras::set_num_threads(before);
}

TEST_CASE("sparse_gemm gives the same bits on 1 and 2 threads", "[backend][sparse][threads]") {
    const int before = xkeras::get_num_threads();
    const std::size_t rows = 200, cols = 784, n = 512;
    auto a = mostly_zero<float>(rows, cols, cols, 0.8, 5);
    auto b = filled<float>(cols * n, 0.5f);
    xkeras::backend::sparse_rows<float> s;
    REQUIRE(xkeras::backend::compress_rows(a.data(), rows, cols, cols, s));
    std::vector<float> one(rows * n), two(rows * n);
    xkeras::set_num_threads(1);
    xkeras::backend::sparse_gemm(s, b.data(), n, n, one.data(), n, false);
    xkeras::set_num_threads(2);
    xkeras::backend::sparse_gemm(s, b.data(), n, n, two.data(), n, false);
    CHECK(one == two);
    // batch 1: blocks of columns on each thread
    xkeras::backend::sparse_rows<float> s1;
    REQUIRE(xkeras::backend::compress_rows(a.data(), 1, cols, cols, s1));
    xkeras::backend::sparse_gemm(s1, b.data(), n, n, two.data(), n, false);
    CHECK(std::equal(two.begin(), two.begin() + long(n), one.begin()));
    xkeras::set_num_threads(before);
}

TEST_CASE("compress_rows keeps the same entries on 1 and 2 threads, NaN and -0 included",
          "[backend][sparse][threads]") {
    const auto level = GENERATE(from_range(testing::available_isas()));
    INFO("instruction-set level " << xkeras::backend::name(level));
    testing::scoped_isa at(level);
    // 2 threads compress in two passes (count, then place) from 65,536 values and 8 rows on;
    // widths with and without a remainder past 16-lane vectors, a row stride past the width
    const int before = xkeras::get_num_threads();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t cols : {784, 301}) {
        const std::size_t rows = 300, lda = cols + 5;
        auto a = mostly_zero<float>(rows, cols, lda, 0.8, cols);
        a[7 * lda + 3] = nan;
        a[7 * lda + cols - 1] = -0.0f;  // not kept, as 0
        a[150 * lda + cols - 1] = std::numeric_limits<float>::infinity();
        // the reference: one entry at a time
        std::vector<std::size_t> start{0};
        std::vector<std::uint32_t> index;
        std::vector<float> value;
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t c = 0; c < cols; ++c)
                if (a[r * lda + c] != 0.0f || std::isnan(a[r * lda + c])) {
                    index.push_back(std::uint32_t(c));
                    value.push_back(a[r * lda + c]);
                }
            start.push_back(index.size());
        }
        for (int threads : {1, 2}) {
            INFO("cols " << cols << ", threads " << threads);
            xkeras::set_num_threads(threads);
            xkeras::backend::sparse_rows<float> s;
            REQUIRE(xkeras::backend::compress_rows(a.data(), rows, cols, lda, s));
            CHECK(s.start == start);
            REQUIRE(s.nonzeros() == index.size());
            CHECK(std::equal(index.begin(), index.end(), s.index.begin()));
            CHECK(std::memcmp(value.data(), s.value.data(), value.size() * sizeof(float)) == 0);
            // the limit: refused one entry short of the count, accepted at it
            CHECK_FALSE(
                xkeras::backend::compress_rows(a.data(), rows, cols, lda, s, index.size() - 1));
            CHECK(xkeras::backend::compress_rows(a.data(), rows, cols, lda, s, index.size()));
            CHECK(s.start == start);
        }
    }
    xkeras::set_num_threads(before);
}

TEST_CASE("compress_rows stops past its limit, and a zero input skips its weight row, NaN included",
          "[backend][sparse]") {
    const std::vector<float> a{0, 1, 0, 2, 3, 0};  // 2 x 3, 3 nonzero
    xkeras::backend::sparse_rows<float> s;
    CHECK_FALSE(xkeras::backend::compress_rows(a.data(), 2, 3, 3, s, 2));
    REQUIRE(xkeras::backend::compress_rows(a.data(), 2, 3, 3, s, 3));
    CHECK(s.nonzeros() == 3);
    CHECK(s.density() == Approx(0.5));
    CHECK(std::vector<std::uint32_t>(s.index.begin(), s.index.begin() + 3) ==
          std::vector<std::uint32_t>{1, 0, 1});
    // the documented difference from a dense product: 0 * NaN is not evaluated, so row 0
    // (input 0 is zero) does not see the NaN weight; row 1 (input 0 is 2) does
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> w{nan, 1, 2};  // 3 x 1
    std::vector<float> c(2);
    xkeras::backend::sparse_gemm(s, w.data(), 1, 1, c.data(), 1, false);
    CHECK(c[0] == 1.f);
    CHECK(std::isnan(c[1]));
}
