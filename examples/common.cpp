// examples/common.cpp - the non-template parts of common.hpp, compiled once for all examples.
#include "common.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

#ifdef XKERAS_EXAMPLES_MPI
#include <unistd.h>

#include <memory>
#include <streambuf>

#include <xkeras/distribution/mpi.hpp>
#endif

namespace examples {

#ifdef XKERAS_EXAMPLES_MPI
namespace {

/// The examples built for mpirun (the `_mpi` programs): MPI for the life of the program, the
/// distribution set, and the terminal and the output folder left to rank 0 (the others write
/// into a folder of their own that is removed at exit).
struct mpi_example {
    xk::distribution::mpi::session session;
    std::filesystem::path scratch;
    std::streambuf* cout_buffer = nullptr;
    struct null_buffer : std::streambuf {
        int overflow(int c) override { return c; }
    } null;

    mpi_example(int& argc, char**& argv, std::size_t micro_batches) : session(argc, argv) {
        xk::distribution::set_distribution(
            xk::distribution::DataParallel(session.world(), {.micro_batches = micro_batches}));
    }
    ~mpi_example() {
        if (cout_buffer) std::cout.rdbuf(cout_buffer);
        std::error_code ec;
        if (!scratch.empty()) std::filesystem::remove_all(scratch, ec);
    }

    void quiet_unless_rank_zero(Args& a) {
        const int rank = xk::distribution::process_index();
        if (rank == 0) return;
        cout_buffer = std::cout.rdbuf(&null);
        scratch = std::filesystem::temp_directory_path() /
                  ("xkeras-rank" + std::to_string(rank) + "-" + std::to_string(::getpid()));
        a.output = scratch.string();
    }
};

}  // namespace
#endif

/// Parses the flags every example takes; `defaults` are the document's settings. Exits on
/// --help or a bad flag, as CLI11 does.
Args parse_args(int argc, char** argv, const std::string& name, const std::string& description,
                Args defaults, bool offer_raw_pixels, const std::vector<std::string>& layers) {
    Args a = defaults;
    const bool default_output = a.output.empty();
    if (default_output) a.output = "out/" + name;
    CLI::App app{description, name};
    app.add_option("--epochs", a.epochs, "Training epochs")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--batch-size", a.batch_size, "Batch size")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", a.seed, "Random seed (weights, shuffling, dropout)")
        ->capture_default_str();
    app.add_option("--threads", a.threads, "Threads for OpenBLAS and xkeras (0: default)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--data-dir", a.data_dir, "Folder with the MNIST IDX files")
        ->capture_default_str();
    app.add_option("--limit", a.limit, "Use only the first N training images (0: all)")
        ->capture_default_str();
    app.add_option("--output", a.output, "Folder for result.json")->capture_default_str();
    if (offer_raw_pixels)
        app.add_flag("--raw-pixels", a.raw_pixels,
                     "Feed 0-255 pixels, as the document's code does, instead of / 255");
    if (!layers.empty())
        app.add_option("--layer", a.layer, "The layer that reads the sequence")
            ->capture_default_str()
            ->check(CLI::IsMember(layers));
#ifdef XKERAS_EXAMPLES_MPI
    std::size_t micro_batches = 0;
    app.add_option("--micro-batches", micro_batches,
                   "Micro-batches per global batch (0: one per process); the same value gives "
                   "the same model on every process count dividing it (docs/distributed.md)")
        ->capture_default_str();
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e));
    }
    if (default_output && !layers.empty() && app.count("--output") == 0) a.output += "_" + a.layer;
    if (a.threads > 0) xk::set_num_threads(a.threads);
#ifdef XKERAS_EXAMPLES_MPI
    static std::unique_ptr<mpi_example> mpi;
    if (!mpi) mpi = std::make_unique<mpi_example>(argc, argv, micro_batches);
    mpi->quiet_unless_rank_zero(a);
#endif
    return a;
}

int failure() {
#ifdef XKERAS_EXAMPLES_MPI
    if (xk::distribution::process_count() > 1) xk::distribution::mpi::abort(1);
#endif
    return 1;
}

/// Writes DIR/result.json atomically: the contract every example keeps.
void write_result(const Args& a, const std::string& experiment, std::size_t params,
                  const xk::callbacks::History<float>& history, const EpochTimer& timer,
                  double test_loss, double test_accuracy, nlohmann::json extra) {
    nlohmann::json j = {
        {"experiment", experiment},
        {"params", params},
        {"epochs_run", history.epoch.size()},
        {"test_loss", test_loss},
        {"test_accuracy", test_accuracy},
        {"seconds_per_epoch", timer.seconds},
        {"history", history.history},
        {"settings",
         {{"epochs", a.epochs},
          {"batch_size", a.batch_size},
          {"seed", a.seed},
          {"threads", xk::get_num_threads()},
          {"processes", xk::distribution::process_count()},
          {"limit", a.limit},
          {"data_dir", a.data_dir}}},
        {"xkeras_version", xk::version},
        {"blas_core", xk::backend::blas_core_name()},
    };
    if (!extra.is_null()) j.update(extra);
    std::filesystem::create_directories(a.output);
    auto path = std::filesystem::path(a.output) / "result.json";
    xk::io::atomic_write(path, j.dump(2) + "\n");
    std::cout << "Wrote " << path.string() << "\n";
}

/// Writes DIR/history.csv: epoch, then one column per log key (for plotting).
void write_history_csv(const Args& a, const xk::callbacks::History<float>& history) {
    std::string csv = "epoch";
    for (const auto& [key, values] : history.history) csv += "," + key;
    csv += "\n";
    for (std::size_t e = 0; e < history.epoch.size(); ++e) {
        csv += std::to_string(history.epoch[e] + 1);
        for (const auto& [key, values] : history.history) {
            char buf[32];
            std::snprintf(buf, sizeof buf, ",%.6f", values[e]);
            csv += buf;
        }
        csv += "\n";
    }
    std::filesystem::create_directories(a.output);
    auto path = std::filesystem::path(a.output) / "history.csv";
    xk::io::atomic_write(path, csv);
    std::cout << "Wrote " << path.string() << "\n";
}

/// Writes DIR/curves.png: accuracy and loss per epoch, train against validation, side by side,
/// titled and labelled as the example's document does (`labels`).
void write_curves(const Args& a, const xk::callbacks::History<float>& history,
                  const xk::plot::curves_options& labels) {
    const auto path = output_file(a, "curves.png");
    xk::plot::training_curves(history, path, labels);
    std::cout << "Wrote " << path.string() << "\n";
}

/// Writes DIR/model.dot and, when Graphviz's dot is installed, DIR/model.png: the document's
/// plot_model(model, to_file=..., show_shapes=True), with the layers' names shown.
void write_model_diagram(const Args& a, const xk::Sequential& model) {
    const auto r = xk::utils::plot_model(model, output_file(a, "model.png"),
                                         {.show_shapes = true, .show_layer_names = true});
    std::cout << "Wrote " << r.dot_file.string();
    if (r.image) std::cout << " and " << r.image->string();
    std::cout << "\n";
    if (!r.note.empty()) std::cout << "Note: " << r.note << "\n";
}

}  // namespace examples
