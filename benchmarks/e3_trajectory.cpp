// e3_trajectory: E3's recipe in xkeras from a known start and in a known order, so that the
// PyTorch replica can take the same path (benchmarks/e3_trajectory.py compares the two).
//
//   e3_trajectory --out DIR [--seed 2 | --initial-weights H5] [--epochs 2] [--limit N]
//                 [--threads 1] [--dtype float32|float64] [--data-dir DIR]
//
// Builds E3 with the seed's initial weights and writes them to DIR/initial.weights.h5 (Keras 3's
// layout), trains as the example does (Adam, batch 512, validation_split 0.2) but without
// shuffling, so that batch k of every epoch is training images [512k, 512k + 512) and the last
// one the 384 left over, then writes DIR/final.weights.h5 and DIR/history.json. Everything a run
// does across steps is on this path (Adam's state from epoch to epoch, the partial batch, the
// validation pass between epochs); only the order of the samples is fixed. In float64 the
// summation order's drift stays far below any difference of rules.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"

namespace xk = xkeras;

namespace {

struct settings {
    std::filesystem::path out, initial;
    std::string data_dir;
    unsigned seed = 2;
    int epochs = 2, threads = 1;
    std::size_t limit = 60000;
};

template <class T>
void run(const settings& s) {
    xk::set_num_threads(s.threads);
    xk::utils::set_random_seed(s.seed);
    auto [train, test] = xk::datasets::mnist::load_data(s.data_dir);
    const std::size_t n = std::min(s.limit, train.images.shape()[0]);
    xt::xarray<T> x =
        xt::cast<T>(xk::utils::normalize_pixels(xt::view(train.images, xt::range(0, n))));
    x.reshape({n, 28, 28, 1});
    xt::xarray<T> y =
        xt::cast<T>(xk::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10));

    xk::basic_sequential<T> model;
    seed_models::e3_cnn<T>(model);
    model.compile("adam", "categorical_crossentropy", {"accuracy"});
    model.build({28, 28, 1});
    if (!s.initial.empty()) model.load_weights(s.initial);
    std::filesystem::create_directories(s.out);
    model.save_weights(s.out / "initial.weights.h5");
    auto history = model.fit(x, y,
                             {.batch_size = 512,
                              .epochs = s.epochs,
                              .verbose = 0,
                              .validation_split = 0.2,
                              .shuffle = false});
    model.save_weights(s.out / "final.weights.h5");
    nlohmann::json h;
    for (const auto& [key, values] : history.history) h[key] = values;
    std::ofstream(s.out / "history.json") << nlohmann::json{{"seed", s.seed},
                                                            {"epochs", s.epochs},
                                                            {"threads", s.threads},
                                                            {"history", h}}
                                                 .dump(1)
                                          << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"E3 in xkeras from a known start, without shuffling"};
    settings s;
    s.data_dir = xk::datasets::mnist::default_dir().string();
    std::string dtype = "float32";
    app.add_option("--out", s.out, "Directory for the weights and the history")->required();
    app.add_option("--seed", s.seed, "Random seed of the initial weights");
    app.add_option("--initial-weights", s.initial,
                   "Start from these weights (a .weights.h5) instead of the seed's");
    app.add_option("--epochs", s.epochs, "Epochs")->check(CLI::Range(1, 1000));
    app.add_option("--limit", s.limit, "The first N images of the training file (80% trained)")
        ->check(CLI::Range(2, 60000));
    app.add_option("--threads", s.threads, "Threads")->check(CLI::Range(1, 256));
    app.add_option("--dtype", dtype, "float32 (as the example) or float64")
        ->check(CLI::IsMember({"float32", "float64"}));
    app.add_option("--data-dir", s.data_dir, "MNIST directory");
    CLI11_PARSE(app, argc, argv);
    try {
        if (dtype == "float64")
            run<double>(s);
        else
            run<float>(s);
        std::cout << "e3_trajectory: " << s.out.string() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "e3_trajectory: " << e.what() << "\n";
        return 1;
    }
}
