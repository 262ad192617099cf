// xkeras/layers.hpp - every built-in layer.
#pragma once

#include "layers/activation.hpp"
#include "layers/batch_normalization.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/flatten.hpp"
#include "layers/global_average_pooling2d.hpp"
#include "layers/input_layer.hpp"
#include "layers/layer.hpp"
#include "layers/pooling2d.hpp"
#include "layers/reshape.hpp"
