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

/// E1: Conv2D 32/64/128 3x3 same relu, each + MaxPool2D 2x2, Flatten, Dense 128 relu,
/// Dropout 0.25, Dense 10 softmax (241,546).
template <class T = float>
void e1_cnn(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Conv2D<T>(32, {3, 3},
                        {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Conv2D<T>(64, {3, 3}, {.padding = "same", .activation = "relu"}));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Conv2D<T>(128, {3, 3}, {.padding = "same", .activation = "relu"}));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Flatten<T>());
    model.add(Dense<T>(128, "relu"));
    model.add(Dropout<T>(0.25));
    model.add(Dense<T>(10, "softmax"));
}

/// E3: four Conv2D 2x2 same relu (16, 32, 64, 128), each + MaxPool2D 2x2, Flatten, Dense 784,
/// 392, 128 relu, Dense 10 softmax (503,762).
template <class T = float>
void e3_cnn(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Conv2D<T>(16, {2, 2},
                        {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(MaxPooling2D<T>({2, 2}, {.strides = size2{2, 2}}));
    for (int filters : {32, 64, 128}) {
        model.add(Conv2D<T>(filters, {2, 2}, {.padding = "same", .activation = "relu"}));
        model.add(MaxPooling2D<T>({2, 2}, {.strides = size2{2, 2}}));
    }
    model.add(Flatten<T>());
    model.add(Dense<T>(784, "relu"));
    model.add(Dense<T>(392, "relu"));
    model.add(Dense<T>(128, "relu"));
    model.add(Dense<T>(10, "softmax"));
}

/// E3's baseline CNN: Conv2D 32 3x3 relu, MaxPool2D 2x2, Flatten, Dense 100 relu, Dense 10
/// softmax (542,230).
template <class T = float>
void e3_baseline_cnn(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Conv2D<T>(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Flatten<T>());
    model.add(Dense<T>(100, "relu"));
    model.add(Dense<T>(10, "softmax"));
}

/// E4 (keras-io's mnist_convnet): Conv2D 32 and 64 3x3 relu, each + MaxPool2D 2x2, Flatten,
/// Dropout 0.25, Dense 10 softmax (34,826).
template <class T = float>
void e4_cnn(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Conv2D<T>(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Conv2D<T>(64, {3, 3}, "relu"));
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Flatten<T>());
    model.add(Dropout<T>(0.25));
    model.add(Dense<T>(10, "softmax"));
}

/// E5's best CNN: Conv2D 32, 32, 64, 64 3x3 relu, each + BatchNormalization, MaxPool2D 2x2
/// after the second and the fourth, Flatten, Dense 256 relu, Dropout 0.5, Dense 128 relu,
/// Dropout 0.5, Dense 10 softmax (362,346; examples/mnist_cnn_bn.cpp spells it out).
template <class T = float>
void e5_cnn_bn(xkeras::basic_sequential<T>& model) {
    using namespace xkeras::layers;
    model.add(Conv2D<T>(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(BatchNormalization<T>());
    model.add(Conv2D<T>(32, {3, 3}, "relu"));
    model.add(BatchNormalization<T>());
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Conv2D<T>(64, {3, 3}, "relu"));
    model.add(BatchNormalization<T>());
    model.add(Conv2D<T>(64, {3, 3}, "relu"));
    model.add(BatchNormalization<T>());
    model.add(MaxPooling2D<T>({2, 2}));
    model.add(Flatten<T>());
    model.add(Dense<T>(256, "relu"));
    model.add(Dropout<T>(0.5));
    model.add(Dense<T>(128, "relu"));
    model.add(Dropout<T>(0.5));
    model.add(Dense<T>(10, "softmax"));
}

}  // namespace seed_models
