// examples/seed_models.hpp - the seed models as functions, for the tests and the benchmarks
// (the examples themselves spell their models out, to read like the Keras scripts they port).
#pragma once

#include <xkeras/xkeras.hpp>

namespace seed_models {

/// E2: Dense 512 relu, Dropout 0.5, Dense 256 relu, Dropout 0.2, Dense 10 softmax (535,818).
template <class T = float>
void e2_mlp(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Dense<T>(512, {.input_shape = {784}}));
    model.add(Activation<T>("relu"));
    model.add(Dropout<T>(0.5));
    model.add(Dense<T>(256));
    model.add(Activation<T>("relu"));
    model.add(Dropout<T>(0.2));
    model.add(Dense<T>(10));
    model.add(Activation<T>("softmax"));
}

/// E5's MLP: five Dense 64 relu, Dropout 0.2, Dense 10 softmax (67,530).
template <class T = float>
void e5_mlp(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Dense<T>(64, {.input_shape = {784}}));
    model.add(Activation<T>("relu"));
    for (int i = 0; i < 4; ++i) {
        model.add(Dense<T>(64));
        model.add(Activation<T>("relu"));
    }
    model.add(Dropout<T>(0.2));
    model.add(Dense<T>(10));
    model.add(Activation<T>("softmax"));
}

}  // namespace seed_models
