// instruction_workload: a small, fixed training and inference workload whose instruction count
// (valgrind --tool=callgrind, counting only inside xkeras_instruction_workload) is CI's speed
// regression check: instructions are repeatable on one machine whatever else it is doing, where
// seconds are not. benchmarks/check_instructions.py runs it and compares with
// benchmarks/instruction_budget.json.
//
//   instruction_workload [--data-dir DIR]
//
// One thread, fixed seed, the first 256 MNIST training images: a few training steps of every
// seed model at its document's batch size (capped by the 256 images), then batch-1 and batch-256
// inference. Prints a checksum of the results so that the work cannot be optimised away and a
// behaviour change shows.
#include <cstdio>
#include <string>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"

namespace xk = xkeras;

namespace {

struct workload_data {
    xt::xarray<float> images, flat, labels;
};

/// Trains `build`'s model for one epoch on the data, then predicts; returns a checksum.
double run_model(void (*build)(xk::Sequential&), bool flat, std::size_t batch,
                 const workload_data& d, xk::optimizer_arg<float> optimizer) {
    xk::Sequential model;
    build(model);
    model.compile(std::move(optimizer), "categorical_crossentropy", {"accuracy"});
    const auto& x = flat ? d.flat : d.images;
    auto h = model.fit(x, d.labels, {.batch_size = batch, .epochs = 1, .verbose = 0});
    xt::xarray<float> one = xt::view(x, xt::range(0, 1));
    double sum = h.history.at("loss").back();
    for (int i = 0; i < 10; ++i) sum += double(model.predict(one, 1)(0, 0));
    auto p = model.predict(x, 256);
    for (std::size_t i = 0; i < p.size(); i += 97) sum += double(p.data()[i]);
    return sum;
}

}  // namespace

/// Everything callgrind counts. Not inlined, so that --toggle-collect finds it by name.
extern "C" [[gnu::noinline]] double xkeras_instruction_workload(const workload_data* d) {
    using namespace seed_models;
    xk::utils::set_random_seed(7);
    double sum = 0.0;
    sum += run_model(e2_mlp<float>, true, 128, *d, "adam");
    sum += run_model(e5_mlp<float>, true, 32, *d, "adam");
    sum += run_model(e1_cnn<float>, false, 128, *d, "adam");
    sum += run_model(e3_cnn<float>, false, 128, *d, "adam");
    sum += run_model(e4_cnn<float>, false, 32, *d, "adam");
    sum +=
        run_model(e5_cnn_bn<float>, false, 128, *d,
                  xk::optimizers::SGD({.learning_rate = 0.01, .momentum = 0.9, .nesterov = true}));
    return sum;
}

int main(int argc, char** argv) {
    try {
        std::string dir = xk::datasets::mnist::default_dir().string();
        for (int i = 1; i + 1 < argc; ++i)
            if (std::string(argv[i]) == "--data-dir") dir = argv[i + 1];
        xk::set_num_threads(1);
        auto [train, test] = xk::datasets::mnist::load_data(dir);
        const std::size_t n = 256;
        workload_data d;
        d.images = xk::utils::normalize_pixels(xt::view(train.images, xt::range(0, n)));
        d.images.reshape({n, 28, 28, 1});
        d.flat = d.images;
        d.flat.reshape({n, 784});
        d.labels = xk::utils::to_categorical(xt::view(train.labels, xt::range(0, n)), 10);
        std::printf("checksum %.6f\n", xkeras_instruction_workload(&d));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "instruction_workload: %s\n", e.what());
        return 1;
    }
}
