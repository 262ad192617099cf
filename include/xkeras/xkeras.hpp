// xkeras/xkeras.hpp - the whole library in one include (convenience only; each header also
// stands alone).
#pragma once

#include "activations.hpp"
#include "backend/threading.hpp"
#include "callbacks.hpp"
#include "config.hpp"
#include "datasets/fashion_mnist.hpp"
#include "datasets/mnist.hpp"
#include "initializers.hpp"
#include "io/atomic_file.hpp"
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
#include "utils/data.hpp"
