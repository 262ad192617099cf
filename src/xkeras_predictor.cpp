// src/xkeras_predictor.cpp - xkeras::Predictor (xkeras/predictor.hpp): the static library behind
// the CMake target xkeras::predictor (cmake/xkerasPredictor.cmake). It includes the whole library
// and instantiates only what loading a model and its forward pass use; built with
// -ffunction-sections, a program linked with --gc-sections keeps only what it calls. With
// XKERAS_PREDICTOR_KERAS_FILES (HDF5 and libzip found), Keras's files load as well.
#include <xkeras/predictor.hpp>

#include <algorithm>
#include <sstream>
#include <utility>

#include <xkeras/xkeras.hpp>
#ifdef XKERAS_PREDICTOR_KERAS_FILES
#include <xkeras/keras_files/entry_points.hpp>
#endif

namespace xkeras {

#ifdef XKERAS_PREDICTOR_KERAS_FILES
namespace {
/// The reader of Keras's model files in the core's slot (io/keras_formats.hpp) when the program
/// starts: only the reader of float models, where keras_files.hpp installs the readers and
/// writers of float and double models. A Predictor never saves nor uses a double model, and this
/// way none of that code is linked.
const bool keras_reader_installed = [] {
    io::keras_formats<float>.load_model = &keras_files::detail::load_model_bytes<float>;
    return true;
}();
}  // namespace
#endif

struct Predictor::impl {
    Sequential model;
    std::size_t input_size, output_size;

    explicit impl(Sequential m)
        : model(std::move(m)),
          input_size(shape_size(model.input_shape())),
          output_size(shape_size(model.output_shape())) {}
};

Predictor::Predictor(const std::filesystem::path& model_file)
    : impl_(std::make_unique<impl>(load_model<float>(model_file))) {}
Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

const std::vector<std::size_t>& Predictor::input_shape() const {
    return impl_->model.input_shape();
}
const std::vector<std::size_t>& Predictor::output_shape() const {
    return impl_->model.output_shape();
}
std::size_t Predictor::input_size() const {
    return impl_->input_size;
}
std::size_t Predictor::output_size() const {
    return impl_->output_size;
}

std::vector<float> Predictor::predict(std::span<const float> x, std::size_t samples,
                                      std::size_t batch_size) const {
    const std::size_t per_sample = impl_->input_size;
    // x.size() bounds samples * per_sample: a count that would overflow cannot match it
    if (per_sample == 0 || samples > x.size() / per_sample || samples * per_sample != x.size())
        throw shape_error(detail::cat("Predictor::predict: ", samples, " samples of ", per_sample,
                                      " values (", shape_str(input_shape()), ") need ", samples,
                                      " x ", per_sample, " values, got ", x.size()));
    shape_t shape{samples};
    shape.insert(shape.end(), input_shape().begin(), input_shape().end());
    tensor<float> batch = xt::empty<float>(shape);
    std::copy(x.begin(), x.end(), batch.data());
    const tensor<float> y = impl_->model.predict(batch, batch_size);
    return std::vector<float>(y.data(), y.data() + y.size());
}

std::string Predictor::summary() const {
    std::ostringstream os;
    impl_->model.summary(os);
    return os.str();
}

bool Predictor::has_keras_files() {
#ifdef XKERAS_PREDICTOR_KERAS_FILES
    return true;
#else
    return false;
#endif
}

}  // namespace xkeras
