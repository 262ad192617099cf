// xkeras/predictor.hpp - the inference-only include: load a saved model, predict. Nothing else.
//
//   #include <xkeras/predictor.hpp>          // link the CMake target xkeras::predictor
//
//   xkeras::Predictor model("mnist_cnn_deploy.keras");       // .xk, .keras or .h5
//   std::vector<float> image(model.input_size());             // one sample, row-major
//   std::vector<float> p = model.predict(image);              // model.output_size() values
//
// The header names only the standard library: the library itself (xtensor, the layers, the file
// readers) is compiled once, in the target's static library (src/xkeras_predictor.cpp), so a
// program that includes this header compiles quickly and links less than one that includes the
// whole library (docs/deployment.md). Keras's `.keras` and `.h5` files load when the library was
// built with HDF5 and libzip (as xkeras::keras_files); `has_keras_files()` says whether it was.
// Errors are the library's exceptions (xkeras::io_error, xkeras::shape_error, ... declared in
// <xkeras/config.hpp>, all std::runtime_errors).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace xkeras {

/// A saved model, loaded for inference only (docs/deployment.md).
class Predictor {
  public:
    /// Loads a model saved by xkeras's `model.save` (`.xk`) or by Keras (`.keras`, legacy `.h5`),
    /// as xkeras::load_model does. Throws xkeras::io_error naming the file and what is wrong.
    /// Movable, not copyable; a moved-from Predictor may only be assigned to or destroyed.
    explicit Predictor(const std::filesystem::path& model_file);
    ~Predictor();
    Predictor(Predictor&&) noexcept;
    Predictor& operator=(Predictor&&) noexcept;

    /// The shape of one sample the model takes, without the batch dimension (Keras's
    /// `input_shape`, e.g. {28, 28, 1}), and of one sample it gives (e.g. {10}).
    const std::vector<std::size_t>& input_shape() const;
    const std::vector<std::size_t>& output_shape() const;
    /// The number of values of one input sample and of one output sample.
    std::size_t input_size() const;
    std::size_t output_size() const;

    /// The model's outputs for `samples` samples stored one after the other in `x` (each
    /// input_size() values, row-major as C arrays and NumPy store them), computed in batches of
    /// `batch_size` as Keras's `predict` does: samples * output_size() values. Throws
    /// xkeras::shape_error when x does not hold exactly that many samples. Calls from several
    /// threads take turns.
    std::vector<float> predict(std::span<const float> x, std::size_t samples,
                               std::size_t batch_size = 32) const;
    /// One sample: x holds input_size() values.
    std::vector<float> predict(std::span<const float> x) const { return predict(x, 1, 1); }

    /// The model's layers as Keras's `model.summary()` prints them.
    std::string summary() const;

    /// Whether this build reads Keras's `.keras` and `.h5` files (it was built with HDF5 and
    /// libzip); `.xk` files always load.
    static bool has_keras_files();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace xkeras
