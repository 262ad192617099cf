// bench_scaling: data-parallel training's speed, measured for benchmarks/scaling.py (which
// runs it alone and under mpirun and reports the ratios and the cost model,
// docs/distributed.md). One seed model (E1 or E2), fit's training pass only, as bench_epoch.
//
//   bench_scaling --model e1 --threads 1 --epochs 2 [--limit N] [--plain] [--bucket-bytes B]
//                 [--micro-batches K] [--json OUT]
//   mpirun -np 2 bench_scaling --model e1 --threads 1 --epochs 2 --json OUT
//
// Under mpirun, rank 0 also measures the transport between ranks 0 and 1 (the one-way time of
// an 8-byte message, the bandwidth of 16 MiB ones) and the gradient exchange alone (the same
// buckets, no computation), and reports how much of the exchange the backward pass hid. Every
// run reports the optimizer's update alone.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <xkeras/distribution/mpi.hpp>
#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"
#include "epoch_timer.hpp"

namespace xk = xkeras;
namespace dist = xkeras::distribution;

namespace {

using bench::clock_type;
using bench::EpochTimer;
using bench::seconds_since;

/// Seconds for `bytes` to go from rank 0 to rank 1 and back, halved (the median of `reps`).
double one_way_seconds(dist::Communicator& comm, std::size_t bytes, int reps) {
    std::vector<char> buffer(bytes);
    std::vector<double> times;
    for (int i = 0; i < reps + 3; ++i) {
        const auto t0 = clock_type::now();
        if (comm.rank() == 0) {
            dist::request r[] = {comm.isend(buffer.data(), bytes, 1, 7)};
            comm.wait(r);
            dist::request q[] = {comm.irecv(buffer.data(), bytes, 1, 8)};
            comm.wait(q);
        } else if (comm.rank() == 1) {
            dist::request q[] = {comm.irecv(buffer.data(), bytes, 0, 7)};
            comm.wait(q);
            dist::request r[] = {comm.isend(buffer.data(), bytes, 0, 8)};
            comm.wait(r);
        }
        comm.release();
        if (i >= 3) times.push_back(seconds_since(t0) / 2);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    dist::mpi::session mpi(argc, argv);
    CLI::App app{"data-parallel training's speed", "bench_scaling"};
    std::string model_name = "e1", json_path;
    int threads = 1, epochs = 2;
    std::size_t limit = 0, micro_batches = 0;
    bool plain = false;
    std::size_t bucket_bytes = dist::data_parallel_options{}.bucket_bytes;
    app.add_option("--model", model_name, "e1 or e2")->check(CLI::IsMember({"e1", "e2"}));
    app.add_option("--threads", threads, "Threads per process")->check(CLI::PositiveNumber);
    app.add_option("--epochs", epochs, "Epochs to time")->check(CLI::PositiveNumber);
    app.add_option("--limit", limit, "Use only the first N training images (0: the document's)");
    app.add_flag("--plain", plain, "Train without a distribution (one process)");
    app.add_option("--bucket-bytes", bucket_bytes, "The gradient buckets' smallest size")
        ->capture_default_str();
    app.add_option("--micro-batches", micro_batches,
                   "Micro-batches per global batch (0: one per process); one process with 2 runs "
                   "two processes' work in turn, with no exchange");
    app.add_option("--json", json_path, "Write the results here (rank 0)");
    CLI11_PARSE(app, argc, argv);
    try {
        xk::set_num_threads(threads);
        if (!plain)
            dist::set_distribution(dist::DataParallel(
                mpi.world(), {.micro_batches = micro_batches, .bucket_bytes = bucket_bytes}));
        const int rank = dist::process_index(), ranks = dist::process_count();
        const bool e1 = model_name == "e1";
        const std::size_t batch = e1 ? 500 : 128;
        xk::utils::set_random_seed(9);
        auto [train, test] = xk::datasets::mnist::load_data();
        std::size_t n = e1 ? 54000 : 60000;
        if (limit != 0) n = std::min(limit, n);
        xt::xarray<float> x = xk::utils::normalize_pixels(xt::view(train.images, xt::range(0, n)));
        if (e1)
            x.reshape({n, 28, 28, 1});
        else
            x.reshape({n, 784});
        auto y = xk::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10);

        xk::Sequential model;
        if (e1)
            seed_models::e1_cnn(model);
        else
            seed_models::e2_mlp(model);
        model.compile("adam", "categorical_crossentropy", {"accuracy"});
        auto timer = std::make_shared<EpochTimer>();
        model.fit(x, y,
                  {.batch_size = batch, .epochs = epochs, .verbose = 0, .callbacks = {timer}});
        const std::size_t steps = (n + batch - 1) / batch;
        nlohmann::json j = {
            {"model", model_name},
            {"processes", ranks},
            {"threads", threads},
            {"distributed", !plain},
            {"micro_batches", plain ? 1 : dist::distribution()->options().micro_batches},
            {"batch_size", batch},
            {"samples", n},
            {"steps_per_epoch", steps},
            {"params", model.count_params()},
            {"seconds_per_epoch", timer->seconds},
            {"median", median(timer->seconds)},
            {"blas_core", xk::backend::blas_core_name()}};
        if (!plain) {
            const auto d = dist::distribution();
            const auto s = d->stats();
            j["gradient_bytes"] = s.bytes;
            j["buckets"] = s.buckets;
            j["overlapped_ms_per_step"] = 1e3 * s.overlapped_seconds / double(s.steps);
            j["exposed_ms_per_step"] = 1e3 * s.exposed_seconds / double(s.steps);
            // the share of the gradient bytes whose exchange ended during the backward pass
            j["hidden_share"] = double(s.hidden_bytes) / double(s.bytes * s.steps);
            // the exchange alone: the same buckets, started back to back with no computation
            std::vector<std::vector<xk::layers::Param<float>*>> per_layer;
            for (const auto& l : model.layers()) {
                per_layer.emplace_back();
                for (auto* p : l->params())
                    if (l->trains(*p)) per_layer.back().push_back(p);
            }
            dist::reducer_stats alone;
            dist::GradientReducer<float> red(d->communicator(), per_layer,
                                             d->options().bucket_bytes, 1, &alone);
            std::vector<double> times;
            for (int rep = 0; rep < 30; ++rep) {
                const auto t0 = clock_type::now();
                red.begin_step();
                for (std::size_t i = per_layer.size(); i-- > 0;) red.layer_done(i, 0, 1.0f);
                red.finish();
                times.push_back(seconds_since(t0));
            }
            const double exchange = median(times);
            j["exchange_alone_ms"] = exchange * 1e3;
            if (ranks >= 2) {
                const double small = one_way_seconds(d->communicator(), 8, 200);
                const double large = one_way_seconds(d->communicator(), std::size_t(16) << 20, 10);
                j["latency_us"] = small * 1e6;
                j["bandwidth_gbit_s"] = double(std::size_t(16) << 20) * 8 / (large - small) / 1e9;
            }
        }
        // the optimizer's update alone, which every process repeats over all the weights
        std::vector<double> updates;
        for (int rep = 0; rep < 30; ++rep) {
            const auto t0 = clock_type::now();
            model.optimizer().apply(model.trainable_params());
            updates.push_back(seconds_since(t0));
        }
        j["update_alone_ms"] = median(updates) * 1e3;
        if (rank == 0) {
            std::cout << j.dump() << "\n";
            if (!json_path.empty()) xk::io::atomic_write(json_path, j.dump(2) + "\n");
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_scaling (rank " << dist::process_index() << "): " << e.what()
                  << std::endl;
        dist::mpi::abort(1);  // the peers may be waiting for this process
    }
}
