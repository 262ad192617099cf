// xkeras/extern_templates.hpp - compile the library's float classes once per program instead of
// once per source file.
//
// Every file that includes <xkeras/xkeras.hpp> compiles Sequential's fit, evaluate, predict,
// save and load again, and with them every layer, loss, metric, optimizer and callback that the
// model file loader can name: most of a program's compile time. A file that includes this
// header instead is told that these classes' members are compiled elsewhere, in the one file of
// the program that includes <xkeras/instantiate.hpp>. Without that file the program fails to
// link (undefined xkeras symbols), never silently.
//
// The CMake target xkeras::xkeras does this for its users: its static library compiles
// src/xkeras_float.cpp, and <xkeras/xkeras.hpp> includes this header under XKERAS_PRECOMPILED.
// By hand, without CMake:
//   every source file:     #include <xkeras/extern_templates.hpp>
//   one source file only:  #include <xkeras/instantiate.hpp>
//
// Compile all files with the same flags. Only float is covered, the type of xkeras::Sequential;
// other types compile in every file as before. docs/performance.md has the figures.
#pragma once

#include "xkeras.hpp"

/// The class templates whose float instantiation the two headers cover, each as M(name within
/// xkeras), besides the built-in layers (XKERAS_BUILTIN_LAYERS, layers/builtin.hpp). A new
/// loss, metric, optimizer or callback is added here.
#define XKERAS_DETAIL_FLOAT_CLASSES(M)       \
    M(basic_sequential)                      \
    M(training::Trainer)                     \
    M(training::ArrayDataAdapter)            \
    M(inference::Executor)                   \
    M(layers::Layer)                         \
    M(layers::detail::convolution)           \
    M(layers::detail::pooling)               \
    M(losses::Loss)                          \
    M(losses::BinaryCrossentropy)            \
    M(losses::CategoricalCrossentropy)       \
    M(losses::MeanSquaredError)              \
    M(losses::SparseCategoricalCrossentropy) \
    M(metrics::Metric)                       \
    M(metrics::CategoricalAccuracy)          \
    M(metrics::SparseCategoricalAccuracy)    \
    M(metrics::BinaryAccuracy)               \
    M(metrics::MeanError)                    \
    M(optimizers::Optimizer)                 \
    M(optimizers::SGD)                       \
    M(optimizers::Adam)                      \
    M(optimizers::AdamW)                     \
    M(optimizers::RMSprop)                   \
    M(optimizers::Adagrad)                   \
    M(callbacks::Callback)                   \
    M(callbacks::CallbackList)               \
    M(callbacks::MonitorCallback)            \
    M(callbacks::History)                    \
    M(callbacks::ProgbarLogger)              \
    M(callbacks::EarlyStopping)              \
    M(callbacks::ModelCheckpoint)            \
    M(callbacks::CSVLogger)                  \
    M(callbacks::TerminateOnNaN)             \
    M(callbacks::LambdaCallback)             \
    M(callbacks::ReduceLROnPlateau)          \
    M(callbacks::LearningRateScheduler)

namespace xkeras {
#define XKERAS_DETAIL_EXTERN(C) extern template class C<float>;
#define XKERAS_DETAIL_EXTERN_LAYER(L) extern template class layers::L<float>;
#define XKERAS_DETAIL_EXTERN_RENAMED(K, L) extern template class layers::L<float>;
XKERAS_DETAIL_FLOAT_CLASSES(XKERAS_DETAIL_EXTERN)
XKERAS_BUILTIN_LAYERS(XKERAS_DETAIL_EXTERN_LAYER)
XKERAS_BUILTIN_RENAMED_LAYERS(XKERAS_DETAIL_EXTERN_RENAMED)
#undef XKERAS_DETAIL_EXTERN
#undef XKERAS_DETAIL_EXTERN_LAYER
#undef XKERAS_DETAIL_EXTERN_RENAMED
}  // namespace xkeras
