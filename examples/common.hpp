// examples/common.hpp - what every example shares: the command-line flags (CLI11), the epoch
// timer, result.json and the pictures (training curves, confusion matrix, model diagram). Not
// part of the library. The non-template parts live in common.cpp, compiled once into
// `xkeras_examples_common`: CLI11 is header-only and alone cost each example about 9 s of
// compile time at -O2.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <xkeras/plot.hpp>
#include <xkeras/xkeras.hpp>

namespace examples {

namespace xk = xkeras;

struct Args {
    int epochs = 1;
    std::size_t batch_size = 32;
    std::uint64_t seed = 0;
    int threads = 0;  ///< 0: xkeras's default (XKERAS_NUM_THREADS or all cores)
    std::string data_dir = xk::datasets::mnist::default_dir().string();
    std::size_t limit = 0;  ///< 0: all training images
    std::string output{};
    bool raw_pixels = false;  ///< only examples that offer --raw-pixels use it
    std::string layer{};      ///< only examples that offer --layer use it
};

/// Parses the flags every example takes; `defaults` are the document's settings. Exits on
/// --help or a bad flag, as CLI11 does.
/// An example that offers `--layer` names its choices in `layers` (its default: defaults.layer);
/// its default output folder is then out/<name>_<layer>.
Args parse_args(int argc, char** argv, const std::string& name, const std::string& description,
                Args defaults, bool offer_raw_pixels = false,
                const std::vector<std::string>& layers = {});

/// The first `n` rows of `x` (all of them when n is 0 or >= the row count).
template <class E>
auto take_first(const E& x, std::size_t n) {
    using value_type = typename E::value_type;
    if (n == 0 || n >= x.shape()[0]) return xt::xarray<value_type>(x);
    return xt::xarray<value_type>(xt::view(x, xt::range(0, n)));
}

/// Records the wall time of every epoch (training and validation).
class EpochTimer : public xk::callbacks::Callback<float> {
  public:
    std::vector<double> seconds;
    void on_epoch_begin(int, const xk::callbacks::Logs&) override { start_ = clock::now(); }
    void on_epoch_end(int, const xk::callbacks::Logs&) override {
        seconds.push_back(std::chrono::duration<double>(clock::now() - start_).count());
    }

  private:
    using clock = std::chrono::steady_clock;
    clock::time_point start_;
};

/// Writes DIR/result.json atomically: the contract every example keeps.
void write_result(const Args& a, const std::string& experiment, std::size_t params,
                  const xk::callbacks::History<float>& history, const EpochTimer& timer,
                  double test_loss, double test_accuracy, nlohmann::json extra = {});

/// Writes DIR/history.csv: epoch, then one column per log key (for plotting).
void write_history_csv(const Args& a, const xk::callbacks::History<float>& history);

/// DIR/name, creating DIR.
inline std::filesystem::path output_file(const Args& a, const std::string& name) {
    std::filesystem::create_directories(a.output);
    return std::filesystem::path(a.output) / name;
}

/// Writes DIR/curves.png: accuracy and loss per epoch, train against validation, side by side,
/// titled and labelled as the example's document does (`labels`).
void write_curves(const Args& a, const xk::callbacks::History<float>& history,
                  const xk::plot::curves_options& labels);

/// Writes DIR/confusion_matrix.png: the test set's true classes against `model`'s predictions.
template <class Labels>
void write_confusion_matrix(const Args& a, xk::Sequential& model, const xt::xarray<float>& x_test,
                            const Labels& y_test) {
    const auto path = output_file(a, "confusion_matrix.png");
    const auto m = xk::utils::confusion_matrix(y_test, model.predict(x_test, 500), 10);
    xk::plot::confusion_matrix(m, path, {.title = "Confusion matrix, test set"});
    std::cout << "Wrote " << path.string() << "\n";
}

/// Writes DIR/model.dot and, when Graphviz's dot is installed, DIR/model.png: the document's
/// plot_model(model, to_file=..., show_shapes=True), with the layers' names shown.
void write_model_diagram(const Args& a, const xk::Sequential& model);

/// The exit code of a failed example: 1, or, in the examples built for mpirun, the end of
/// every process of the job (MPI_Abort), since the others may be waiting for this one.
int failure();

/// Runs `body`, turning an xkeras error into a message and exit code 1.
template <class F>
int run(F&& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        return failure();
    }
}

}  // namespace examples
