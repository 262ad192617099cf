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

// A program linked with the CMake target xkeras::xkeras compiles the float classes once, in the
// target's static library (src/xkeras_float.cpp), not in every file that includes this one.
#ifdef XKERAS_PRECOMPILED
#include "extern_templates.hpp"
#endif
