// Trains a tiny model with the installed headers: the consumer works end to end.
#include <xkeras/xkeras.hpp>

#include <iostream>

int main() {
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
    return scores[1] == 1.0 ? 0 : 1;
}
