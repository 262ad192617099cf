// tests/mpi/dp_worker.cpp - the program tests/test_distributed.cpp starts under mpirun: trains a
// small model on the first samples of the real MNIST with data-parallel fit and writes what the
// test compares, one file per rank:
//   DIR/weights.<rank>.bin   the final weights' bytes, in get_weights() order
//   DIR/history.<rank>.json  fit's History (every epoch's logs)
//
//   dp_worker --out DIR [--model mlp|cnn_bn] [--samples 1024] [--batch 128] [--epochs 2]
//             [--micro-batches 0] [--sync-bn] [--plain] [--checkpoint PATH] [--csv PATH] [--resume
//             PATH]
//             [--initial-epoch E] [--die-rank R --die-epoch E]
//
// --plain trains without a distribution (the one-process reference); --sync-bn makes cnn_bn's
// BatchNormalization synchronized; --die-rank R kills rank R
// with SIGKILL as the second batch of epoch E (1-based) begins, as `kill -9` would: after the
// first step's reductions, so rank 0 has saved the last epoch's checkpoint.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <xkeras/distribution/mpi.hpp>
#include <xkeras/xkeras.hpp>

#include "../../examples/seed_models.hpp"

namespace xk = xkeras;
namespace dist = xkeras::distribution;
using namespace xk::layers;

namespace {

struct options {
    std::string out, model = "mlp", checkpoint, csv, resume;
    std::size_t samples = 1024, batch = 128, micro = 0;
    int epochs = 2, initial_epoch = 0, die_rank = -1, die_epoch = 0;
    bool plain = false, sync_bn = false;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw xk::value_error("dp_worker: " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--out")
            o.out = value();
        else if (a == "--model")
            o.model = value();
        else if (a == "--samples")
            o.samples = std::stoul(value());
        else if (a == "--batch")
            o.batch = std::stoul(value());
        else if (a == "--epochs")
            o.epochs = std::stoi(value());
        else if (a == "--micro-batches")
            o.micro = std::stoul(value());
        else if (a == "--plain")
            o.plain = true;
        else if (a == "--sync-bn")
            o.sync_bn = true;
        else if (a == "--checkpoint")
            o.checkpoint = value();
        else if (a == "--csv")
            o.csv = value();
        else if (a == "--resume")
            o.resume = value();
        else if (a == "--initial-epoch")
            o.initial_epoch = std::stoi(value());
        else if (a == "--die-rank")
            o.die_rank = std::stoi(value());
        else if (a == "--die-epoch")
            o.die_epoch = std::stoi(value());
        else
            throw xk::value_error("dp_worker: unknown option " + a);
    }
    if (o.out.empty()) throw xk::value_error("dp_worker: --out DIR is required");
    return o;
}

xk::Sequential make_model(const options& o) {
    xk::Sequential m;
    const std::string& kind = o.model;
    if (kind == "mlp") {
        seed_models::e2_mlp(m);
    } else if (kind == "cnn_bn") {
        m.add(Conv2D(8, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
        m.add(BatchNormalization({.synchronized = o.sync_bn}));
        m.add(MaxPooling2D({2, 2}));
        m.add(Flatten());
        m.add(Dropout(0.25));
        m.add(Dense(10, {.activation = "softmax"}));
    } else {
        throw xk::value_error("dp_worker: unknown model " + kind);
    }
    m.compile("adam", "categorical_crossentropy", {"accuracy"});
    return m;
}

/// Kills this process with SIGKILL when batch 1 of epoch `epoch` (0-based) begins.
class Die : public xk::callbacks::Callback<float> {
  public:
    explicit Die(int epoch) : epoch_(epoch) {}
    void on_epoch_begin(int epoch, const xk::callbacks::Logs&) override { current_ = epoch; }
    void on_train_batch_begin(int batch, const xk::callbacks::Logs&) override {
        if (current_ == epoch_ && batch == 1) {
            std::cerr << "dp_worker: rank " << dist::process_index() << " kills itself (SIGKILL)"
                      << std::endl;
            std::raise(SIGKILL);
        }
    }

  private:
    int epoch_, current_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
    dist::mpi::session mpi(argc, argv);
    try {
        const options o = parse(argc, argv);
        xk::set_num_threads(1);
        xk::utils::set_random_seed(3);
        if (!o.plain)
            dist::set_distribution(dist::DataParallel(mpi.world(), {.micro_batches = o.micro}));
        const int rank = dist::process_index();

        const auto data = xk::datasets::mnist::load_data();
        const std::size_t n = std::min(o.samples, data.train.images.shape()[0]);
        auto x = xk::utils::normalize_pixels(
            xt::xarray<std::uint8_t>(xt::view(data.train.images, xt::range(0, n))));
        if (o.model == "mlp")
            x.reshape({n, 784});
        else
            x.reshape({n, 28, 28, 1});
        auto y = xk::utils::to_categorical(
            xt::xarray<std::uint8_t>(xt::view(data.train.labels, xt::range(0, n))), 10);

        xk::Sequential model = o.resume.empty() ? make_model(o) : xk::load_model(o.resume);
        std::vector<std::shared_ptr<xk::callbacks::Callback<float>>> cbs;
        if (!o.checkpoint.empty())
            cbs.push_back(std::make_shared<xk::callbacks::ModelCheckpoint<float>>(o.checkpoint));
        if (!o.csv.empty()) cbs.push_back(std::make_shared<xk::callbacks::CSVLogger<float>>(o.csv));
        if (o.die_rank == rank) cbs.push_back(std::make_shared<Die>(o.die_epoch - 1));
        auto history = model.fit(x, y,
                                 {.batch_size = o.batch,
                                  .epochs = o.epochs,
                                  .verbose = 0,
                                  .callbacks = cbs,
                                  .validation_split = 0.125,
                                  .initial_epoch = o.initial_epoch});

        const std::string tag = std::to_string(rank);
        std::ofstream w(o.out + "/weights." + tag + ".bin", std::ios::binary);
        for (const auto& t : model.get_weights())
            w.write(reinterpret_cast<const char*>(t.data()),
                    std::streamsize(t.size() * sizeof(float)));
        nlohmann::json h;
        for (const auto& [key, values] : history.history) h[key] = values;
        std::ofstream(o.out + "/history." + tag + ".json") << h.dump(1) << "\n";
        if (!w) throw xk::io_error("dp_worker: could not write " + o.out);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "dp_worker (rank " << dist::process_index() << "): error: " << e.what()
                  << std::endl;
        dist::mpi::abort(1);  // the peers may be waiting for this process
    }
}
