// bench_epoch: one seed model in xkeras, measured the way benchmarks/compare.py reports it:
// seconds per training epoch, the training FLOPs behind them, peak resident memory of the
// training process, batch-1 latency (in blocks, each after measuring the round trip of a cache
// line between two CPUs) and batch-1000 throughput of inference. compare.py runs the
// PyTorch replica (benchmarks/pytorch/seed_models.py) with the same flags in the same run.
//
//   bench_epoch --model e1 --threads N --epochs K [--batch-size B] [--limit N] [--json OUT]
//   bench_epoch --gemm-limit --threads N [--json OUT]      (the machine's sgemm GFLOP/s)
//   bench_epoch --model e5cnn --threads N --layer-times    (each layer's forward and backward)
//
// Epochs are fit()'s training pass only (no validation, verbose 0), on the training images the
// document trains on (validation_split's share held out).
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"
#include "epoch_timer.hpp"

namespace xk = xkeras;

namespace {

using bench::clock_type;
using bench::EpochTimer;
using bench::seconds_since;

/// A seed model as its document trains it: builder, input shape, batch size, the share of the
/// 60,000 training images left after validation_split, and the optimizer.
struct seed_model {
    std::function<void(xk::Sequential&)> build;
    xk::shape_t input;
    std::size_t batch_size;
    double validation_split;
    std::function<std::unique_ptr<xk::optimizers::Optimizer<float>>()> optimizer;
};

std::unique_ptr<xk::optimizers::Optimizer<float>> adam() {
    return xk::optimizers::get<float>("adam");
}

const xk::shape_t flat{784}, image{28, 28, 1}, rows{28, 28};

/// examples/mnist_rows.cpp's recurrent models: 128 units over 28 rows of 28 pixels, Dense 10.
template <template <class> class Recurrent>
void rows_model(xk::Sequential& m) {
    m.add(xk::Input(rows));
    m.add(Recurrent<float>(128));
    m.add(xk::layers::Dense<float>(10, "softmax"));
}

const std::map<std::string, seed_model>& seed_models_table() {
    static const std::map<std::string, seed_model> table = {
        {"e1", {seed_models::e1_cnn<float>, image, 500, 0.1, adam}},
        {"e2", {seed_models::e2_mlp<float>, flat, 128, 0.0, adam}},
        {"e3", {seed_models::e3_cnn<float>, image, 512, 0.2, adam}},
        {"e4", {seed_models::e4_cnn<float>, image, 32, 0.3, adam}},
        {"e5mlp", {seed_models::e5_mlp<float>, flat, 32, 0.0, adam}},
        {"lstm", {rows_model<xk::layers::LSTM>, rows, 128, 0.1, adam}},
        {"gru", {rows_model<xk::layers::GRU>, rows, 128, 0.1, adam}},
        {"e5cnn",
         {seed_models::e5_cnn_bn<float>, image, 128, 0.1,
          [] {
              return std::make_unique<xk::optimizers::SGD<float>>(xk::optimizers::SGDOptions{
                  .learning_rate = 0.01, .momentum = 0.9, .nesterov = true});
          }}},
    };
    return table;
}

/// Multiply-adds of one sample's forward pass through the layers with a kernel (Dense, Conv2D):
/// output elements times the kernel's fan-in; a recurrent layer's kernels, each step.
double forward_macs_per_sample(const xk::Sequential& model, double* first_layer_macs) {
    double total = 0.0;
    bool first = true;
    for (const auto* layer : model.layers()) {
        const bool recurrent = layer->class_name() == "LSTM" || layer->class_name() == "GRU";
        for (const auto* p : layer->params()) {
            if (!p->name.ends_with("kernel")) continue;  // kernel, recurrent_kernel
            if (!recurrent && !p->name.ends_with("/kernel")) continue;
            const auto& ks = p->value.shape();
            double out = 1.0;
            for (auto d : layer->output_shape()) out *= double(d);
            const double macs = recurrent
                                    ? double(layer->input_shape()[0]) * double(p->value.size())
                                    : out * double(p->value.size()) / double(ks.back());
            if (first) *first_layer_macs = macs;
            first = false;
            total += macs;
        }
    }
    return total;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Mean round trip, in ns, of a cache line bounced between this thread and a new one, for
/// about 5 ms: how far apart the host has put two of this machine's CPUs right now. On the
/// 2-vCPU Zen 4 VM this was ~55 ns when they shared an L3, ~330 ns when they did not, and
/// microseconds to milliseconds when the host ran both on one core in turns (docs/performance.md,
/// "The host decides"). xkeras's pool is set to one thread meanwhile, so that no spinning worker
/// competes with the two, and back to `threads` after.
double core_round_trip_ns(int threads) {
    xk::set_num_threads(1);
    struct alignas(64) line {
        std::atomic<long> v{0};
    } ball;
    constexpr long max_trips = 20000;
    long trips = 0;
    std::atomic<bool> stop{false};
    std::thread partner([&] {  // answers each odd value with the next even one
        for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            while (ball.v.load(std::memory_order_acquire) != 2 * i + 1)
                if (stop.load(std::memory_order_relaxed)) return;
            ball.v.store(2 * i + 2, std::memory_order_release);
        }
    });
    const auto t0 = clock_type::now();
    double elapsed = 0.0;
    for (; trips < max_trips && elapsed < 0.005; ++trips) {
        ball.v.store(2 * trips + 1, std::memory_order_release);
        while (ball.v.load(std::memory_order_acquire) != 2 * trips + 2) {
        }
        if (trips % 64 == 0) elapsed = seconds_since(t0);
    }
    elapsed = seconds_since(t0);
    stop.store(true);
    partner.join();
    xk::set_num_threads(threads);
    return elapsed / double(trips) * 1e9;
}

/// sgemm GFLOP/s at n x n x n, best of several: OpenBLAS's own threading, and xkeras's pool.
nlohmann::json gemm_limit(int threads) {
    const std::size_t n = 2048;
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    auto best_rate = [&](auto&& run) {
        double best = 0.0;
        for (int rep = 0; rep < 7; ++rep) {
            auto t0 = clock_type::now();
            run();
            best = std::max(best, 2.0 * double(n) * double(n) * double(n) / seconds_since(t0));
        }
        return best / 1e9;
    };
    xk::backend::blas_set_num_threads(threads);
    const double openblas = best_rate([&] {
        xk::backend::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    });
    xk::backend::blas_set_num_threads(1);
    const double pool = best_rate([&] {
        xk::backend::gemm_parallel(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f,
                                   c.data(), n);
    });
    return {{"n", n},
            {"gflops_openblas_threads", openblas},
            {"gflops_xkeras_pool", pool},
            {"gflops", std::max(openblas, pool)}};
}

/// Each layer's forward (training mode) and backward time on one batch of real images, median
/// of 20 steps after 3 warm-up ones; the loss gradient is a fixed 0.01 everywhere. Prints a
/// table: where a step's time goes, layer by layer.
void print_layer_times(xk::Sequential& model, const xt::xarray<float>& x, std::size_t batch) {
    xt::xarray<float> xb = xt::view(x, xt::range(0, batch));
    const auto layers = model.layers();
    std::vector<std::vector<double>> fwd(layers.size()), bwd(layers.size());
    for (int step = 0; step < 23; ++step) {
        const xk::tensor<float>* h = &xb;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            auto t0 = clock_type::now();
            h = &layers[i]->forward(*h, true);
            if (step >= 3) fwd[i].push_back(seconds_since(t0));
        }
        xk::tensor<float> g = xt::zeros_like(*h) + 0.01f;
        const xk::tensor<float>* d = &g;
        for (std::size_t i = layers.size(); i-- > 0;) {
            auto t0 = clock_type::now();
            d = &layers[i]->backward(*d, i > 0);
            if (step >= 3) bwd[i].push_back(seconds_since(t0));
        }
    }
    double total_f = 0.0, total_b = 0.0;
    std::printf("%-26s %12s %12s\n", "layer", "forward ms", "backward ms");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const double f = median(fwd[i]) * 1e3, b = median(bwd[i]) * 1e3;
        total_f += f;
        total_b += b;
        std::printf("%-26s %12.3f %12.3f\n", layers[i]->name().c_str(), f, b);
    }
    std::printf("%-26s %12.3f %12.3f  (batch %zu)\n", "total", total_f, total_b,
                std::size_t(xb.shape()[0]));
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_name = "e2", data_dir = xk::datasets::mnist::default_dir().string(),
                json_path;
    int threads = 1, epochs = 3, latency_runs = 2000;
    std::size_t batch_size = 0, limit = 0;
    bool gemm_only = false, layer_times = false;
    std::vector<std::string> names;
    for (const auto& [name, m] : seed_models_table()) names.push_back(name);
    CLI::App app{"A seed model's training epoch, memory and inference speed in xkeras",
                 "bench_epoch"};
    app.add_option("--model", model_name, "Seed model")->check(CLI::IsMember(names));
    app.add_option("--threads", threads, "Threads")->check(CLI::PositiveNumber);
    app.add_option("--epochs", epochs, "Epochs to time")->check(CLI::PositiveNumber);
    app.add_option("--batch-size", batch_size, "Batch size (0: the document's)");
    app.add_option("--data-dir", data_dir, "MNIST folder");
    app.add_option("--limit", limit, "Train on the first N images (0: the document's share)");
    app.add_option("--latency-runs", latency_runs, "Batch-1 predictions to time")
        ->check(CLI::PositiveNumber);
    app.add_flag("--gemm-limit", gemm_only, "Measure sgemm GFLOP/s only");
    app.add_flag("--layer-times", layer_times,
                 "Time each layer's forward and backward on one batch, then stop");
    app.add_option("--json", json_path, "Write the results here");
    CLI11_PARSE(app, argc, argv);

    try {
        xk::set_num_threads(threads);
        nlohmann::json j = {{"framework", "xkeras"},
                            {"xkeras_version", xk::version},
                            {"threads", threads},
                            {"blas_core", xk::backend::blas_core_name()}};
        if (gemm_only) {
            j["gemm"] = gemm_limit(threads);
            std::cout << "sgemm " << j["gemm"]["n"] << "^3, " << threads
                      << " thread(s): " << j["gemm"]["gflops"] << " GFLOP/s (OpenBLAS core "
                      << xk::backend::blas_core_name() << ")\n";
        } else {
            const seed_model& spec = seed_models_table().at(model_name);
            if (batch_size == 0) batch_size = spec.batch_size;
            xk::utils::set_random_seed(9);
            auto [train, test] = xk::datasets::mnist::load_data(data_dir);
            std::size_t n = std::size_t(60000 * (1.0 - spec.validation_split));
            if (limit != 0) n = limit;
            n = std::min(n, train.images.shape()[0]);
            const xk::shape_t& one = spec.input;
            auto with_batch = [&](std::size_t rows) {
                xk::shape_t s{rows};
                s.insert(s.end(), one.begin(), one.end());
                return s;
            };
            xt::xarray<float> x =
                xk::utils::normalize_pixels(xt::view(train.images, xt::range(0, n)));
            x.reshape(with_batch(n));
            auto y = xk::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10);
            train = {};  // as in the documents, only the float arrays are kept for training

            xk::Sequential model;
            spec.build(model);
            model.compile(spec.optimizer(), "categorical_crossentropy", {"accuracy"});
            if (layer_times) {
                model.build(one);
                print_layer_times(model, x, batch_size);
                return 0;
            }
            auto timer = std::make_shared<EpochTimer>();
            model.fit(
                x, y,
                {.batch_size = batch_size, .epochs = epochs, .verbose = 0, .callbacks = {timer}});
            const double rss = peak_rss_mib();

            double first = 0.0;
            const double macs = forward_macs_per_sample(model, &first);
            // forward, weight gradient, input gradient (none for the first layer)
            const double train_flops = 2.0 * (3.0 * macs - first) * double(n);

            // inference: batch 1 through predict(), then batch 1000 over the test set
            xt::xarray<float> x_test = xk::utils::normalize_pixels(test.images);
            x_test.reshape(with_batch(x_test.shape()[0]));
            xt::xarray<float> x1 = xt::view(x_test, xt::range(0, 1));
            x1.reshape(with_batch(1));
            // In blocks of up to 200 runs, each after the cores' round trip is measured (with 2
            // threads and more): the host may move the VM's CPUs apart or together mid-run.
            std::vector<double> lat, rtts;
            nlohmann::json blocks = nlohmann::json::array();
            for (int done = 0; done < latency_runs;) {
                const int runs = std::min(200, latency_runs - done);
                const double rtt = threads > 1 ? core_round_trip_ns(threads) : 0.0;
                std::vector<double> block;
                for (int i = 0; i < runs + 20; ++i) {
                    auto t0 = clock_type::now();
                    auto p = model.predict(x1, 1);
                    const double s = seconds_since(t0);
                    if (p(0, 0) < -1.f) std::cerr << "";  // keep the result alive
                    if (i >= 20) block.push_back(s);
                }
                lat.insert(lat.end(), block.begin(), block.end());
                if (threads > 1) {
                    rtts.push_back(rtt);
                    blocks.push_back({{"core_round_trip_ns", rtt},
                                      {"runs", runs},
                                      {"latency_batch1_us", median(block) * 1e6}});
                }
                done += runs;
            }
            std::vector<double> tput;
            for (int rep = 0; rep < 3; ++rep) {
                auto t0 = clock_type::now();
                auto p = model.predict(x_test, 1000);
                tput.push_back(double(x_test.shape()[0]) / seconds_since(t0));
            }

            const double med = median(timer->seconds);
            j.update({{"model", model_name},
                      {"batch_size", batch_size},
                      {"samples", n},
                      {"params", model.count_params()},
                      {"seconds_per_epoch", timer->seconds},
                      {"median", med},
                      {"train_flops_per_epoch", train_flops},
                      {"gflops", train_flops / med / 1e9},
                      {"train_loss_last", timer->last_loss},
                      {"train_accuracy_last", timer->last_accuracy},
                      {"peak_rss_mib", rss},
                      {"latency_batch1_us", median(lat) * 1e6},
                      {"latency_blocks", blocks},
                      {"core_round_trip_ns",
                       rtts.empty() ? nlohmann::json() : nlohmann::json(median(rtts))},
                      {"throughput_batch1000", *std::max_element(tput.begin(), tput.end())}});
            std::cout << "xkeras " << model_name << ": " << threads << " thread(s), batch "
                      << batch_size << ", median " << med << " s/epoch (" << train_flops / med / 1e9
                      << " GFLOP/s), train accuracy " << timer->last_accuracy << ", peak RSS "
                      << rss << " MiB, batch-1 " << median(lat) * 1e6 << " us";
            if (!rtts.empty()) std::cout << " (cores' round trip " << median(rtts) << " ns)";
            std::cout << ", batch-1000 " << j["throughput_batch1000"].get<double>()
                      << " samples/s (BLAS core " << xk::backend::blas_core_name() << ")\n";
        }
        if (!json_path.empty()) xk::io::atomic_write(json_path, j.dump(2) + "\n");
    } catch (const std::exception& e) {
        std::cerr << "bench_epoch: " << e.what() << "\n";
        return 1;
    }
}
