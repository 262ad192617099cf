// xkeras/layers.hpp - every built-in layer.
#pragma once

#include "layers/activation.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/flatten.hpp"
#include "layers/input_layer.hpp"
#include "layers/layer.hpp"
