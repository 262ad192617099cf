// The BLAS backend: gemm (including its GEMV route for one-row / one-column products) and
// gemm_parallel, against a naive triple loop, in float and double, on 1 and 2 threads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <xkeras/backend/gemm.hpp>
#include <xkeras/backend/parallel.hpp>
#include <xkeras/backend/threading.hpp>

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
