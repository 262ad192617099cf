// A user's program of the size the compile-time goal names (docs/performance.md, "Compile
// time"): a Fashion-MNIST MLP, trained, evaluated and saved. benchmarks/compile_time.sh compiles
// it header-only and against xkeras::xkeras's library.
#include <xkeras/xkeras.hpp>

#include <iostream>

namespace xk = xkeras;
using namespace xk::layers;

int main() {
    xk::utils::set_random_seed(1);
    auto [train, test] = xk::datasets::fashion_mnist::load_data();
    auto x_train = xk::utils::normalize_pixels(train.images);
    auto x_test = xk::utils::normalize_pixels(test.images);
    x_train.reshape({60000, 784});
    x_test.reshape({10000, 784});
    auto y_train = xk::utils::to_categorical(train.labels, 10);
    auto y_test = xk::utils::to_categorical(test.labels, 10);

    xk::Sequential model;
    model.add(Dense(256, {.activation = "relu", .input_shape = {784}}));
    model.add(Dropout(0.3));
    model.add(Dense(128, "relu"));
    model.add(Dense(10, "softmax"));
    model.summary();

    model.compile(xk::optimizers::Adam(1e-3), "categorical_crossentropy", {"accuracy"});
    auto early = std::make_shared<xk::callbacks::EarlyStopping<float>>(
        xk::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 2});
    auto history = model.fit(x_train, y_train,
                             {.batch_size = 64,
                              .epochs = 20,
                              .verbose = 2,
                              .callbacks = {early},
                              .validation_split = 0.1});
    auto scores = model.evaluate(x_test, y_test, {.verbose = 0});
    std::cout << "test accuracy " << scores[1] << " after " << history["loss"].size()
              << " epochs\n";
    model.save("fashion_mlp.xk");
}
