// bench_kernels: Google Benchmark micro-benchmarks of Conv2D forward and backward at E1's shapes
// (batch 500), with GFLOP/s next to the machine's sgemm GFLOP/s measured in the same run; and
// BM_conv_path: the direct kernels of backend/conv/direct.hpp against im2col + GEMM for each part
// of a convolution (forward, weight gradient, input gradient) at the seed models' stride-1 shapes,
// the measurement behind Conv2D's choice between them; BM_conv_winograd: the direct kernels
// against Winograd's F(2x2, 3x3) and F(4x4, 3x3) (backend/conv/winograd.hpp) for the forward pass
// at inference.
//
//   build/benchmarks/bench_kernels [--benchmark_filter=...]   (XKERAS_NUM_THREADS sets threads)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include <xkeras/xkeras.hpp>

namespace xk = xkeras;

namespace {

/// sgemm of n x n matrices: the machine's GEMM rate, the yardstick for the layers.
void BM_sgemm(benchmark::State& state) {
    const std::size_t n = std::size_t(state.range(0));
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    for (auto _ : state) {
        xk::backend::gemm_parallel(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f,
                                   c.data(), n);
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(n * n * n) * double(state.iterations()),
                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

struct conv_case {
    int h, w, c, filters;
};
// E1's three convolutions: 3x3 'same', on 28x28x1, 14x14x32 and 7x7x64.
const conv_case e1[] = {{28, 28, 1, 32}, {14, 14, 32, 64}, {7, 7, 64, 128}};

void conv(benchmark::State& state, bool backward) {
    const auto& cc = e1[state.range(0)];
    const std::size_t batch = 500;
    xk::utils::set_random_seed(1);
    xk::layers::Conv2D<float> layer(cc.filters, {3, 3}, {.padding = "same", .activation = "relu"});
    layer.build({std::size_t(cc.h), std::size_t(cc.w), std::size_t(cc.c)});
    xt::xarray<float> x =
        xt::ones<float>({batch, std::size_t(cc.h), std::size_t(cc.w), std::size_t(cc.c)});
    xt::xarray<float> dy =
        xt::ones<float>({batch, std::size_t(cc.h), std::size_t(cc.w), std::size_t(cc.filters)});
    layer.forward(x, true);
    for (auto _ : state) {
        if (backward)
            benchmark::DoNotOptimize(layer.backward(dy, cc.c > 1).data());
        else
            benchmark::DoNotOptimize(layer.forward(x, true).data());
    }
    // forward: one GEMM; backward: dW and (except for the first layer) dX
    const double gemm = 2.0 * double(batch * cc.h * cc.w) * 9.0 * cc.c * cc.filters;
    const double flops = backward ? gemm * (cc.c > 1 ? 2.0 : 1.0) : gemm;
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * double(state.iterations()), benchmark::Counter::kIsRate,
                           benchmark::Counter::kIs1000);
    state.SetLabel(std::to_string(cc.h) + "x" + std::to_string(cc.w) + "x" + std::to_string(cc.c) +
                   " -> " + std::to_string(cc.filters) + ", batch 500, " +
                   std::to_string(xk::get_num_threads()) + " thread(s)");
}

void BM_conv2d_forward(benchmark::State& state) {
    conv(state, false);
}
void BM_conv2d_backward(benchmark::State& state) {
    conv(state, true);
}

// The seed models' stride-1 convolutions past the first layer: input height = width (with "same"
// padding already applied), channels, filters, kernel size, batch, "same".
struct path_case {
    std::size_t h, c, f, k, batch;
    bool same;
    const char* model;
};
// clang-format off
const path_case paths[] = {{26, 32, 32, 3, 128, false, "E5 CNN conv2d_1"},
                           {12, 32, 64, 3, 128, false, "E5 CNN conv2d_2"},
                           {10, 64, 64, 3, 128, false, "E5 CNN conv2d_3"},
                           {16, 32, 64, 3, 500, true, "E1 conv2d_1"},
                           {9, 64, 128, 3, 500, true, "E1 conv2d_2"},
                           {15, 16, 32, 2, 512, true, "E3 conv2d_1"},
                           {13, 32, 64, 3, 32, false, "E4 conv2d_1"}};
// clang-format on

/// Arguments: case, part (0 forward, 1 weight gradient, 2 input gradient), path (0 GEMM, 1
/// direct). One thread's work: the images one after another, as one Conv2D task does them.
void BM_conv_path(benchmark::State& state) {
    namespace conv = xk::backend::conv;
    namespace direct = conv::direct;
    const path_case& pc = paths[state.range(0)];
    const int part = int(state.range(1));
    const bool use_direct = state.range(2) == 1;
    const std::size_t H = pc.h, C = pc.c, F = pc.f, k = pc.k, N = pc.batch;
    const std::size_t OH = H - k + 1, P = OH * OH, K = k * k * C;
    std::mt19937 gen(1);
    std::normal_distribution<float> normal;
    auto random = [&](std::size_t n) {
        std::vector<float> v(n);
        for (auto& e : v) e = normal(gen);
        return v;
    };
    const std::vector<float> x = random(N * H * H * C), w = random(K * F), bias = random(F),
                             dz = random(N * P * F);
    std::vector<float> y(N * P * F), dw(K * F), dx(N * H * H * C), cols(P * K), dcols(P * K);
    std::vector<float> flipped(K * F), zpad;
    // Conv2D's own data movement (backend/conv/im2col.hpp) over the valid H x H convolution
    const auto g = xk::backend::window2d::make({H, H, C}, k, k, 1, 1, 1, 1, false, "bench");
    const std::vector<std::size_t> offsets = conv::window_offsets(g);
    conv::flip_kernel(g, F, w.data(), flipped.data());
    const direct::plan fwd{C, F, k, k, H, OH, OH};
    // the input gradient is wanted under the real input only: without the "same" border
    const std::size_t pad = pc.same ? (k - 1) / 2 : 0, in = pc.same ? OH : H;
    const direct::plan bwd{F, C, k, k, conv::padded_gradient_w(g), in, in};
    for (auto _ : state) {
        for (std::size_t n = 0; n < N; ++n) {
            const float* xn = x.data() + n * H * H * C;
            const float* dzn = dz.data() + n * P * F;
            float* yn = y.data() + n * P * F;
            float* dxn = dx.data() + n * H * H * C;
            if (part == 0 && use_direct) {
                direct::correlate(fwd, xn, w.data(), bias.data(), true, yn);
            } else if (part == 0) {  // as Conv2D did: bias, GEMM with beta 1, ReLU
                conv::im2col(g, offsets.data(), xn, cols.data());
                for (std::size_t p = 0; p < P; ++p) std::copy_n(bias.data(), F, yn + p * F);
                xk::backend::gemm(false, false, P, F, K, 1.f, cols.data(), K, w.data(), F, 1.f, yn,
                                  F);
                for (std::size_t i = 0; i < P * F; ++i) yn[i] = std::max(yn[i], 0.f);
            } else if (part == 1 && use_direct) {
                direct::weight_gradient(fwd, xn, dzn, dw.data());
            } else if (part == 1) {
                conv::im2col(g, offsets.data(), xn, cols.data());
                xk::backend::gemm(true, false, K, F, P, 1.f, cols.data(), K, dzn, F, 1.f, dw.data(),
                                  F);
            } else if (use_direct) {  // dz padded by k - 1, correlated with the flipped kernel
                const float* z = conv::pad_output_gradient(g, F, dzn, zpad, pad, pad);
                direct::correlate(bwd, z, flipped.data(), static_cast<const float*>(nullptr), false,
                                  dxn);
            } else {  // GEMM into the patch gradients, then col2im
                xk::backend::gemm(false, true, P, K, F, 1.f, dzn, F, w.data(), F, 0.f, dcols.data(),
                                  K);
                conv::col2im(g, dcols.data(), 1, dxn);
            }
        }
        benchmark::DoNotOptimize(y.data());
        benchmark::DoNotOptimize(dw.data());
        benchmark::DoNotOptimize(dx.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(N * P * K * F) * double(state.iterations()),
                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    static const char* parts[] = {"forward", "weight gradient", "input gradient"};
    state.SetLabel(std::string(pc.model) + ", " + parts[part] +
                   (use_direct ? ", direct" : ", im2col + GEMM"));
}

/// One thread's inference forward pass by Winograd's F(m x m, 3x3) (backend/conv/winograd.hpp) over
/// N images of H x H x C, "valid": each image copied into the padded buffer, then transformed,
/// multiplied and transformed back.
template <std::size_t m>
void winograd_images(const std::vector<float>& x, const std::vector<float>& w,
                     const std::vector<float>& bias, std::size_t N, std::size_t H, std::size_t C,
                     std::size_t F, std::vector<float>& y, benchmark::State& state) {
    namespace wg = xk::backend::conv::winograd;
    const std::size_t OH = H - 2, P = OH * OH;
    const wg::tiling<m> tl(OH, OH);
    std::vector<float> u(tl.positions * C * F), xp(tl.input_h() * tl.input_w() * C, 0.f),
        vb(wg::v_values<m>(C)), mb(wg::m_values<m>(F));
    wg::transform_kernel<m>(w.data(), C, F, u.data());
    for (auto _ : state) {
        for (std::size_t n = 0; n < N; ++n) {
            const float* xn = x.data() + n * H * H * C;
            for (std::size_t r = 0; r < H; ++r)
                std::copy_n(xn + r * H * C, H * C, xp.data() + r * tl.input_w() * C);
            wg::forward<m>(xp.data(), C, F, u.data(), bias.data(), true, y.data() + n * P * F, OH,
                           OH, 0, tl.count(), 0, F, vb.data(), mb.data());
        }
        benchmark::DoNotOptimize(y.data());
    }
}

/// Arguments: case (3x3 ones only), path (0 the direct kernels, 1 Winograd's F(2x2, 3x3), 2 its
/// F(4x4, 3x3)). The forward pass at inference, one thread's images one after another: the
/// measurement behind select_route's Winograd routes and their tile size. GFLOP/s count the direct
/// convolution's multiply-adds for every path.
void BM_conv_winograd(benchmark::State& state) {
    const path_case& pc = paths[state.range(0)];
    if (pc.k != 3) {
        state.SkipWithError("not a 3x3 window");
        return;
    }
    const int path = int(state.range(1));
    const std::size_t H = pc.h, C = pc.c, F = pc.f, N = pc.batch, OH = H - 2, P = OH * OH;
    std::mt19937 gen(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(N * H * H * C), w(9 * C * F), bias(F), y(N * P * F);
    for (auto* v : {&x, &w, &bias})
        for (auto& e : *v) e = normal(gen);
    if (path == 1) {
        winograd_images<2>(x, w, bias, N, H, C, F, y, state);
    } else if (path == 2) {
        winograd_images<4>(x, w, bias, N, H, C, F, y, state);
    } else {
        const xk::backend::conv::direct::plan fwd{C, F, 3, 3, H, OH, OH};
        for (auto _ : state) {
            for (std::size_t n = 0; n < N; ++n)
                xk::backend::conv::direct::correlate(fwd, x.data() + n * H * H * C, w.data(),
                                                     bias.data(), true, y.data() + n * P * F);
            benchmark::DoNotOptimize(y.data());
        }
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(N * P * 9 * C * F) * double(state.iterations()),
                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    static const char* names[] = {", direct", ", Winograd 2x2", ", Winograd 4x4"};
    state.SetLabel(std::string(pc.model) + names[path]);
}

/// Dense's forward product on a batch of 128 MNIST-sized inputs (784 values) with the given
/// density (percent of nonzero entries, spread at random): arguments density, path (0 GEMM, 1
/// sparse product with its compression, 2 the compression alone), units (64: E5's MLP, 512: E2).
/// The measurement behind Dense's density threshold (run it with XKERAS_NUM_THREADS=1).
void BM_dense_sparse(benchmark::State& state) {
    const std::size_t rows = 128, in = 784, units = std::size_t(state.range(2));
    const double density = double(state.range(0)) / 100.0;
    const bool sparse = state.range(1) == 1;
    std::mt19937 gen(3);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::vector<float> x(rows * in), w(in * units), y(rows * units);
    for (auto& v : x) v = u(gen) < density ? u(gen) : 0.f;
    for (auto& v : w) v = u(gen) - 0.5f;
    xk::backend::sparse_rows<float> xs;
    for (auto _ : state) {
        if (state.range(1) == 2) {
            xk::backend::compress_rows(x.data(), rows, in, in, xs);
            benchmark::DoNotOptimize(xs.value.data());
        } else if (sparse) {
            xk::backend::compress_rows(x.data(), rows, in, in, xs);
            xk::backend::sparse_gemm(xs, w.data(), units, units, y.data(), units, false);
        } else {
            xk::backend::gemm_parallel(false, false, rows, units, in, 1.f, x.data(), in, w.data(),
                                       units, 0.f, y.data(), units);
        }
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(std::to_string(units) + " units, " + std::to_string(state.range(0)) +
                   "% nonzero, " +
                   (state.range(1) == 2 ? "compression alone"
                    : sparse            ? "sparse product"
                                        : "GEMM"));
}

/// Dense at batch 1, a matrix-vector product: the input compressed and multiplied by its nonzero
/// entries, against OpenBLAS's product (one thread unless XKERAS_NUM_THREADS says otherwise), for
/// in -> units at a share of nonzero inputs; the measurements behind Dense::compress_input's
/// batch-1 rule.
void BM_dense_batch1(benchmark::State& state) {
    const auto in = std::size_t(state.range(0)), units = std::size_t(state.range(1));
    const double density = double(state.range(2)) / 100.0;
    const bool sparse = state.range(3) == 1;
    std::mt19937 gen(5);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::vector<float> x(in), w(in * units), y(units);
    for (auto& v : x) v = u(gen) < density ? u(gen) + 0.01f : 0.f;
    for (auto& v : w) v = u(gen) - 0.5f;
    xk::backend::sparse_rows<float> xs;
    for (auto _ : state) {
        if (sparse) {
            xk::backend::compress_rows(x.data(), 1, in, in, xs);
            xk::backend::sparse_gemm(xs, w.data(), units, units, y.data(), units, false);
        } else {
            xk::backend::gemm_parallel(false, false, 1, units, in, 1.f, x.data(), in, w.data(),
                                       units, 0.f, y.data(), units);
        }
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(std::to_string(in) + " to " + std::to_string(units) + ", " +
                   std::to_string(state.range(2)) + "% nonzero, " +
                   (sparse ? "sparse product" : "GEMM"));
}

void dense_batch1_args(benchmark::internal::Benchmark* b) {
    const std::pair<int, int> shapes[] = {{1152, 128}, {512, 256}, {784, 512},
                                          {784, 64},   {128, 10},  {128, 20}};
    for (auto [in, units] : shapes)
        for (int density : {50, 75, 85, 90, 100})
            for (int sparse : {0, 1}) b->Args({in, units, density, sparse});
}

}  // namespace

BENCHMARK(BM_sgemm)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_forward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(BM_conv_path)
    ->ArgsProduct({benchmark::CreateDenseRange(0, std::size(paths) - 1, 1), {0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_conv_winograd)
    ->ArgsProduct({benchmark::CreateDenseRange(0, std::size(paths) - 1, 1), {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_dense_sparse)
    ->ArgsProduct({{10, 20, 30, 40, 50, 60}, {0, 1, 2}, {64, 512}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK(BM_dense_batch1)->Apply(dense_batch1_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
