// bench_epoch: seconds per epoch of a seed model's training pass in xkeras, for
// benchmarks/compare.py (which runs the PyTorch replica in the same run).
//
//   bench_epoch --model e2 --threads N --epochs K --batch-size B --data-dir D --limit N
//               --json OUT.json
//
// Times fit's training pass only (no validation, verbose 0), one epoch per timing.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"

namespace xk = xkeras;

namespace {

class EpochTimer : public xk::callbacks::Callback<float> {
  public:
    std::vector<double> seconds;
    void on_epoch_begin(int, const xk::callbacks::Logs&) override { start_ = clock::now(); }
    void on_epoch_end(int, const xk::callbacks::Logs& logs) override {
        seconds.push_back(std::chrono::duration<double>(clock::now() - start_).count());
        last_accuracy = logs.at("accuracy");
    }
    double last_accuracy = 0.0;

  private:
    using clock = std::chrono::steady_clock;
    clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string model_name = "e2", data_dir = xk::datasets::mnist::default_dir().string(),
                json_path;
    int threads = 1, epochs = 3;
    std::size_t batch_size = 128, limit = 0;
    CLI::App app{"Seconds per epoch of a seed model's training pass in xkeras", "bench_epoch"};
    app.add_option("--model", model_name, "Model")->check(CLI::IsMember({"e2", "e1"}));
    app.add_option("--threads", threads, "Threads")->check(CLI::PositiveNumber);
    app.add_option("--epochs", epochs, "Epochs to time")->check(CLI::PositiveNumber);
    app.add_option("--batch-size", batch_size, "Batch size")->check(CLI::PositiveNumber);
    app.add_option("--data-dir", data_dir, "MNIST folder");
    app.add_option("--limit", limit, "First N training images (0: all)");
    app.add_option("--json", json_path, "Write the results here");
    CLI11_PARSE(app, argc, argv);

    try {
        xk::set_num_threads(threads);
        xk::utils::set_random_seed(9);
        auto [train, test] = xk::datasets::mnist::load_data(data_dir);
        std::size_t n =
            limit == 0 ? train.images.shape()[0] : std::min(limit, train.images.shape()[0]);
        xt::xarray<float> x = xk::utils::normalize_pixels(xt::view(train.images, xt::range(0, n)));
        if (model_name == "e2")
            x.reshape({n, 784});
        else
            x.reshape({n, 28, 28, 1});
        auto y = xk::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10);

        xk::Sequential model;
        if (model_name == "e2")
            seed_models::e2_mlp(model);
        else
            seed_models::e1_cnn(model);
        model.compile("adam", "categorical_crossentropy", {"accuracy"});
        auto timer = std::make_shared<EpochTimer>();
        model.fit(x, y,
                  {.batch_size = batch_size, .epochs = epochs, .verbose = 0, .callbacks = {timer}});

        auto sorted = timer->seconds;
        std::sort(sorted.begin(), sorted.end());
        double median = sorted[sorted.size() / 2];
        if (sorted.size() % 2 == 0) median = (sorted[sorted.size() / 2 - 1] + median) / 2;
        std::cout << "xkeras " << model_name << ": " << threads << " thread(s), batch "
                  << batch_size << ", median " << median << " s/epoch, train accuracy "
                  << timer->last_accuracy << " (BLAS core " << xk::backend::blas_core_name()
                  << ")\n";
        if (!json_path.empty()) {
            nlohmann::json j = {{"framework", "xkeras"},
                                {"xkeras_version", xk::version},
                                {"model", model_name},
                                {"threads", threads},
                                {"batch_size", batch_size},
                                {"samples", n},
                                {"blas_core", xk::backend::blas_core_name()},
                                {"seconds_per_epoch", timer->seconds},
                                {"median", median},
                                {"train_accuracy_last", timer->last_accuracy}};
            xk::io::atomic_write(json_path, j.dump(2) + "\n");
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_epoch: " << e.what() << "\n";
        return 1;
    }
}
