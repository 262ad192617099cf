// Writes tests/data/tiny_v1.xk, the format-version-1 fixture that test_model_io.cpp loads to
// prove that later versions still read old files. Not built by default; it was run once with
// xkeras 0.1.0:
//   g++ -std=c++20 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread \
//       tests/data/make_fixtures.cpp -lopenblas -lz -o /tmp/make_fixtures && /tmp/make_fixtures
//       tests/data
#include <xkeras/xkeras.hpp>

int main(int argc, char** argv) {
    namespace xk = xkeras;
    const std::string dir = argc > 1 ? argv[1] : ".";
    xk::utils::set_random_seed(1);
    xk::Sequential model;
    model.add(xk::layers::Dense(3, {.activation = "relu", .input_shape = {4}}));
    model.add(xk::layers::Dense(2, "softmax"));
    model.compile(xk::optimizers::SGD({.learning_rate = 0.05, .momentum = 0.9}),
                  "categorical_crossentropy", {"accuracy"});
    xt::xarray<float> x = xt::ones<float>({4, 4});
    xt::xarray<float> y = xt::zeros<float>({4, 2});
    xt::view(y, xt::all(), 1) = 1.0f;
    model.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
    model.save(dir + "/tiny_v1.xk");
}
