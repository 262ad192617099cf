// bench_kernels: Google Benchmark micro-benchmarks of Conv2D forward and backward at E1's shapes
// (batch 500), with GFLOP/s next to the machine's sgemm GFLOP/s measured in the same run.
//
//   build/benchmarks/bench_kernels [--benchmark_filter=...]   (XKERAS_NUM_THREADS sets threads)
#include <benchmark/benchmark.h>

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

}  // namespace

BENCHMARK(BM_sgemm)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_forward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
