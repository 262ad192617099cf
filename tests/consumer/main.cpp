// Trains a tiny model with the installed library: the consumer works end to end. Built twice
// (CMakeLists.txt): with xkeras::xkeras, whose static library holds the float classes, and
// header-only with xkeras::headers. Given a path, it saves the XOR model there (for
// predictor.cpp).
#include <xkeras/xkeras.hpp>

#include <iostream>

int main(int argc, char** argv) {
    namespace xk = xkeras;
    xk::utils::set_random_seed(1);
    xk::Sequential model;
    model.add(xk::layers::Dense(8, {.activation = "tanh", .input_shape = {2}}));
    model.add(xk::layers::Dense(1, "sigmoid"));
    model.compile(xk::optimizers::Adam(0.05), "binary_crossentropy", {"accuracy"});
    xt::xarray<float> x{{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    xt::xarray<float> y{0.f, 1.f, 1.f, 0.f};  // XOR
    y.reshape({4, 1});
    model.fit(x, y, {.batch_size = 4, .epochs = 300, .verbose = 0});
    auto scores = model.evaluate(x, y, {.verbose = 0});
    std::cout << "consumer: XOR accuracy " << scores[1] << "\n";
    if (argc > 1) model.save(argv[1]);

    // A convolution through the direct kernels (stride 1, 8 filters) and the small-patch loop
    // (one channel), so that their code is compiled at the consumer's flags too.
    xk::Sequential cnn;
    cnn.add(xk::layers::Conv2D(
        8, 3, {.padding = "same", .activation = "relu", .input_shape = {6, 6, 1}}));
    cnn.add(xk::layers::Conv2D(8, 3, "relu"));
    cnn.add(xk::layers::Flatten());
    cnn.add(xk::layers::Dense(1, "sigmoid"));
    cnn.compile(xk::optimizers::Adam(0.01), "binary_crossentropy", {"accuracy"});
    xt::xarray<float> images = xt::zeros<float>({4, 6, 6, 1});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 6; ++j) images(i, j, i % 2 == 0 ? j : 5 - j, 0) = 1.f;
    xt::xarray<float> diagonal{1.f, 0.f, 1.f, 0.f};  // which diagonal the image shows
    diagonal.reshape({4, 1});
    cnn.fit(images, diagonal, {.batch_size = 4, .epochs = 50, .verbose = 0});
    const double cnn_accuracy = cnn.evaluate(images, diagonal, {.verbose = 0})[1];
    std::cout << "consumer: diagonals accuracy " << cnn_accuracy << "\n";
    return scores[1] == 1.0 && cnn_accuracy == 1.0 ? 0 : 1;
}
