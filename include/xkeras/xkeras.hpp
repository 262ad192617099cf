// xkeras/xkeras.hpp - the whole library in one include (convenience only; each header also
// stands alone).
#pragma once

#include "activations.hpp"
#include "backend/cpu.hpp"
#include "backend/threading.hpp"
#include "callbacks.hpp"
#include "config.hpp"
#include "datasets/fashion_mnist.hpp"
#include "datasets/mnist.hpp"
#include "distribution/data_parallel.hpp"
#include "initializers.hpp"
#include "io/atomic_file.hpp"
#include "io/json_limits.hpp"
#include "io/model_file.hpp"
#include "io/model_json.hpp"
#include "layers.hpp"
#include "layers/registry.hpp"
#include "losses.hpp"
#include "metrics.hpp"
#include "model.hpp"
#include "optimizers.hpp"
#include "regularizers.hpp"
#include "tensor.hpp"
#include "utils/confusion_matrix.hpp"
#include "utils/data.hpp"
#include "utils/plot_model.hpp"

// `std::cout << tensor` prints it, as a Keras user prints an array; tensor.hpp leaves xtensor's
// printing out so that the smaller headers stay small. GCC 12 warns falsely (-Wrestrict) on the
// std::string::insert in xio's printing of large exponents, wherever a program prints a tensor;
// the pragma covers code inlined from this header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <xtensor/xio.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// A program linked with the CMake target xkeras::xkeras compiles the float classes once, in the
// target's static library (src/xkeras_float.cpp), not in every file that includes this one.
#ifdef XKERAS_PRECOMPILED
#include "extern_templates.hpp"
#endif
